"""``codeintel eval clones``: retrieval (MAP@R on a labelled set) and plagiarism detection
(ROC-AUC per obfuscation level on original/candidate pairs), each for every scorer on the
same cases.

Scorers:
- ``tfidf``: TF-IDF over token 1-3-grams of the raw tokens (names kept), cosine (baseline);
- ``winnowing``: shared winnowed fingerprints of the normalised tokens, 2|A∩B| / (|A|+|B|)
  (the Dolos-style baseline; for pairs also the full fragment coverage, ``fragments``).

Inputs:
- labelled JSONL: one program a line, ``{"id", "label", "code", "language"?}``;
- pairs CSV with a header ``original,candidate,is_plagiarism,level``: paths relative to a
  root folder, is_plagiarism 1/0 (or true/false). For each level, the positives of that
  level are scored against the negatives of that level, or against all negatives when the
  negatives carry no level.
"""
from __future__ import annotations

import csv
import gzip
import json
import time
from collections import Counter
from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from .fingerprints import DEFAULT_K, DEFAULT_WINDOW, winnow
from .fragments import Document, compare
from .tokens import language_of, token_texts, tokenize


class EvalInputError(ValueError):
    """A labelled or pairs file that cannot be used (one line saying why)."""


def read_labelled(path: str, split: Optional[str] = None, limit: Optional[int] = None,
                  skipped: Optional[list[str]] = None) -> list[dict]:
    """The labelled programs of a JSONL(.gz) file; EvalInputError naming a bad line, or, given a
    ``skipped`` list, why that line cannot be used appended to it and the line skipped."""
    opener = gzip.open if str(path).endswith(".gz") else open
    out = []
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    problem = None if isinstance(rec, dict) and {"id", "label", "code"} <= rec.keys() \
                        else "each line needs id, label and code"
                except json.JSONDecodeError as exc:
                    problem = f"not JSON ({exc.msg})"
                if problem and skipped is not None:
                    skipped.append(f"{Path(path).name}:{n}: {problem}")
                    continue
                if problem:
                    raise EvalInputError(f"{path}:{n}: {problem}")
                if split and rec.get("split") != split:
                    continue
                out.append(rec)
                if limit and len(out) >= limit:
                    break
    except OSError as exc:
        raise EvalInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    return out


def _ngrams(tokens: list[str], n_max: int = 3) -> Counter:
    grams: Counter = Counter()
    for n in range(1, n_max + 1):
        for i in range(len(tokens) - n + 1):
            grams[" ".join(tokens[i:i + n])] += 1
    return grams


def tfidf_matrix(token_lists: list[list[str]]):
    """Rows: l2-normalised sublinear TF-IDF over 1-3-grams (a scipy CSR matrix)."""
    from scipy import sparse

    vocab: dict = {}
    rows, cols, vals = [], [], []
    for r, toks in enumerate(token_lists):
        for gram, count in _ngrams(toks).items():
            c = vocab.setdefault(gram, len(vocab))
            rows.append(r)
            cols.append(c)
            vals.append(1.0 + np.log(count))
    m = sparse.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(len(token_lists), len(vocab)))
    df = np.bincount(m.indices, minlength=len(vocab))
    idf = np.log((1 + len(token_lists)) / (1 + df)) + 1.0
    m = m.multiply(idf.astype(np.float32)).tocsr()
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    return sparse.diags(1.0 / np.maximum(norms, 1e-12)).dot(m).tocsr()


def fingerprint_matrix(prints: list):
    """Binary rows of winnowed fingerprints and the row sizes."""
    from scipy import sparse

    rows, cols = [], []
    for r, fp in enumerate(prints):
        hs = np.unique(fp.hashes)
        rows.append(np.full(hs.shape[0], r))
        cols.append(hs)
    uniq, c = np.unique(np.concatenate(cols) if cols else np.zeros(0, np.uint64), return_inverse=True)
    r = np.concatenate(rows) if rows else np.zeros(0, int)
    m = sparse.csr_matrix((np.ones(r.shape[0], np.float32), (r, c)), shape=(len(prints), uniq.shape[0]))
    return m, np.asarray(m.sum(axis=1)).ravel()


def map_at_r(sim: np.ndarray, labels: np.ndarray) -> float:
    """Mean over queries of AP@R, R = number of other programs with the query's label (a query
    alone in its label is skipped); the query itself is never retrieved."""
    n = sim.shape[0]
    sim = sim.astype(np.float32, copy=True)
    np.fill_diagonal(sim, -np.inf)
    scores = []
    for start in range(0, n, 512):
        block = sim[start:start + 512]
        for off in range(block.shape[0]):
            q = start + off
            rel = labels == labels[q]
            r = int(rel.sum()) - 1
            if r <= 0:
                continue
            row = block[off]
            top = np.argpartition(-row, r - 1)[:r]
            top = top[np.argsort(-row[top], kind="stable")]
            hits = rel[top].astype(np.float64)
            hits[top == q] = 0
            precision = np.cumsum(hits) / np.arange(1, r + 1)
            scores.append(float((precision * hits).sum() / r))
    return float(np.mean(scores)) if scores else 0.0


def _similarity_matrices(records: list[dict], default_language: Optional[str], k: int, window: int,
                         extra: Optional[dict] = None) -> dict:
    langs = [r.get("language") or default_language for r in records]
    codes = [r["code"].encode("utf-8", "surrogateescape") for r in records]
    out = {}
    t = time.perf_counter()
    x = tfidf_matrix([token_texts(c, lang, raw=True) for c, lang in zip(codes, langs)])
    out["tfidf"] = ((x @ x.T).toarray(), time.perf_counter() - t)
    t = time.perf_counter()
    m, sizes = fingerprint_matrix([winnow(tokenize(c, lang), k, window) for c, lang in zip(codes, langs)])
    inter = (m @ m.T).toarray()
    out["winnowing"] = (2 * inter / np.maximum(sizes[:, None] + sizes[None, :], 1), time.perf_counter() - t)
    for name, fn in (extra or {}).items():
        t = time.perf_counter()
        out[name] = (fn(codes, langs), time.perf_counter() - t)
    return out


def evaluate_retrieval(records: list[dict], default_language: Optional[str] = None, k: int = DEFAULT_K,
                       window: int = DEFAULT_WINDOW, extra: Optional[dict] = None) -> dict:
    if len(records) < 2:
        raise EvalInputError("need at least two labelled programs")
    labels = np.asarray([str(r["label"]) for r in records])
    result = {"programs": len(records), "labels": int(len(set(labels.tolist()))), "metric": "MAP@R", "scores": {}}
    for name, (sim, seconds) in _similarity_matrices(records, default_language, k, window, extra).items():
        result["scores"][name] = {"map_at_r": round(map_at_r(sim, labels), 4), "seconds": round(seconds, 1)}
    return result


def roc_auc(positives: Iterable[float], negatives: Iterable[float]) -> Optional[float]:
    """Probability that a positive outscores a negative (ties count half)."""
    from scipy.stats import rankdata

    pos, neg = np.asarray(list(positives), float), np.asarray(list(negatives), float)
    if not len(pos) or not len(neg):
        return None
    ranks = rankdata(np.concatenate([pos, neg]))
    return float((ranks[:len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def read_pairs(path: str, root: str) -> list[dict]:
    base = Path(root)
    if not base.is_dir():
        raise EvalInputError(f"{root}: no such directory")
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            need = {"original", "candidate", "is_plagiarism", "level"}
            if not reader.fieldnames or not need <= set(reader.fieldnames):
                raise EvalInputError(f"{path}: the header must name {', '.join(sorted(need))}")
            rows = list(reader)
    except OSError as exc:
        raise EvalInputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    out = []
    for n, row in enumerate(rows, 2):
        flag = str(row["is_plagiarism"]).strip().lower()
        if flag not in {"1", "0", "true", "false", "yes", "no"}:
            raise EvalInputError(f"{path}:{n}: is_plagiarism must be 1/0 or true/false")
        for key in ("original", "candidate"):
            if not (base / row[key]).is_file():
                raise EvalInputError(f"{path}:{n}: {row[key]}: no such file under {root}")
        out.append({"original": row["original"], "candidate": row["candidate"],
                    "positive": flag in {"1", "true", "yes"}, "level": (row["level"] or "").strip()})
    if not out:
        raise EvalInputError(f"{path}: no pairs")
    return out


def evaluate_pairs(pairs: list[dict], root: str, k: int = DEFAULT_K, window: int = DEFAULT_WINDOW,
                   extra: Optional[dict] = None) -> dict:
    """ROC-AUC per level of each scorer (the baselines, fragments and ``extra``'s; with a
    ``model`` scorer also ``combined``, the mean of fragments and model) over ``pairs``."""
    base = Path(root)
    files = sorted({p[key] for p in pairs for key in ("original", "candidate")})
    texts = {f: (base / f).read_bytes() for f in files}
    langs = {f: language_of(f, texts[f]) for f in files}
    index = {f: i for i, f in enumerate(files)}
    x = tfidf_matrix([token_texts(texts[f], langs[f], raw=True) for f in files])
    docs = {f: Document(f, tokenize(texts[f], langs[f]), None) for f in files}
    for d in docs.values():
        d.prints = winnow(d.tokens, k, window)
    scores: dict = {"tfidf": [], "winnowing": [], "fragments": []}
    for name in (extra or {}):
        scores[name] = []
    for p in pairs:
        a, b = p["original"], p["candidate"]
        scores["tfidf"].append(float(x[index[a]].multiply(x[index[b]]).sum()))
        ha, hb = set(docs[a].prints.hashes.tolist()), set(docs[b].prints.hashes.tolist())
        scores["winnowing"].append(2 * len(ha & hb) / max(1, len(ha) + len(hb)))
        scores["fragments"].append(compare([docs[a]], [docs[b]]).similarity)
        for name, fn in (extra or {}).items():
            scores[name].append(float(fn(texts[a], langs[a], texts[b], langs[b])))
    if "model" in scores:   # what `codeintel plagiarism` ranks by when a clones model is active
        scores["combined"] = [(f + m) / 2 for f, m in zip(scores["fragments"], scores["model"])]
    levels = sorted({p["level"] for p in pairs if p["positive"]})
    neg_levels = {p["level"] for p in pairs if not p["positive"]}
    result = {"pairs": len(pairs), "positives": sum(p["positive"] for p in pairs), "metric": "ROC-AUC",
              "levels": levels, "scores": {}}
    for name, values in scores.items():
        per_level = {}
        for level in levels:
            pos = [v for v, p in zip(values, pairs) if p["positive"] and p["level"] == level]
            same = level in neg_levels and level != ""
            neg = [v for v, p in zip(values, pairs) if not p["positive"] and (not same or p["level"] == level)]
            auc = roc_auc(pos, neg)
            per_level[level or "(none)"] = None if auc is None else round(auc, 4)
        known = [v for v in per_level.values() if v is not None]
        result["scores"][name] = {"roc_auc": per_level, "macro": round(float(np.mean(known)), 4) if known else None}
    return result


def model_scorers(model_dir) -> tuple[dict, dict]:
    """The learned encoder at ``model_dir`` as the ``model`` scorer of ``evaluate_retrieval``
    (cosine matrix of all programs' embeddings: what finds neighbours, the lexical channel
    included when the model has one) and of ``evaluate_pairs`` (the learned similarity of one
    pair, learned parts alone; that function then adds ``combined``, its mean with the
    fragment similarity). A file met in several pairs is embedded once."""
    from .encoder import load_encoder

    encoder = load_encoder(model_dir)
    cache: dict = {}

    def matrix(codes, langs):
        emb = encoder.embed(codes, langs)
        return emb @ emb.T

    def vector(text: bytes, lang):
        key = (text, lang)
        if key not in cache:
            cache[key] = encoder.embed([text], [lang])[0]
        return cache[key]

    def pair(text_a, lang_a, text_b, lang_b):   # the learned similarity, as `codeintel plagiarism` scores
        a, b = encoder.learned_part(np.stack([vector(text_a, lang_a), vector(text_b, lang_b)]))
        return float(a @ b)

    return {"model": matrix}, {"model": pair}
