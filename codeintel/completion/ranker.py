"""The completion candidates of a cursor and the learned ranker that orders them.

Candidates (``gather``) come from two generators:

- the continuation matcher (``matching.pool``) over four groups of context: the text before
  the cursor, the text after its line, the retrieved chunks (BM25 and dense, whole) and the
  other code-shaped proposals (imported files, parent class, siblings, ...);
- the n-gram models (``ngram.complete_line``): the buffer's own cache model mixed with the
  repository's model, a small beam.

The ranker scores each candidate from ``FEATURES`` (how much and where the matcher matched it,
whether and how likely the n-gram beam produced it, brackets the line and its logical
statement (``statement_state``) would leave open, block openers against the next line's
indentation, the cursor in a string or comment, names the file already uses...) with a small
MLP, softmax over a cursor's candidates (listwise). It is learned from holes cut in held-out
files of repositories (``train_ranker``), runs in numpy, and lives in a model folder
(``model.safetensors`` + ``config.json`` with the feature names + ``meta.json``, the data
card); the built-in one ships in ``codeintel/models/builtin/completion-ranker/``.
"""
from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np

from .cursor import Cursor
from .matching import CODE_FORMS, Match, TokenizedText, matcher_order, pool, tokenized
from .ngram import TokenLM, buffer_model, complete_line

log = logging.getLogger("codeintel.completion")
FEATURE = "completion-ranker"
GROUPS = ("prefix", "suffix", "retrieved", "related")
RETRIEVED = ("bm25", "dense")
LM_BEAM = 4
CACHE_WEIGHT = 0.5               # the buffer's model against the repository's in the n-gram mixture
MAX_CANDIDATES = 48              # the matcher's best, plus every n-gram candidate
_OPEN, _CLOSE = "([{", ")]}"
_BLOCK = re.compile(r"^\s*(def|class|if|elif|else|for|while|with|try|except|finally|async|match|case)\b")
_IDENT = re.compile(r"[A-Za-z_]\w*")
# what the text before the cursor is made of, for ``statement_state``: strings (triple-quoted
# first, possibly unterminated at the cursor), comments, brackets
_LEXEMES = re.compile(r'[rRbBuUfF]{0,2}("""|\'\'\')[\s\S]*?(?:\1|$)|[rRbBuUfF]{0,2}"(?:\\.|[^"\\\n])*(?:"|$)'
                      r"|[rRbBuUfF]{0,2}'(?:\\.|[^'\\\n])*(?:'|$)|#[^\n]*|[()\[\]{}]")
STATEMENT_SCAN = 60_000          # characters before the cursor scanned for the open statement

FEATURES = (
    "matched_any", "matched", "matched_gap", "log_places", "places_share", "log_first_context",
    "log_matcher_rank", "matcher_first", "log_length", "partial_word", "line_balanced",
    "line_opens", "line_closes_more", "closes_more", "ends_colon", "line_is_block", "next_indented",
    "colon_then_indent", "ends_comma", "blank_line_prefix", "repeats_next_line", "known_names",
    "no_names", "log_matched_sum",
    *(f"{g}_{x}" for g in GROUPS for x in ("matched", "log_places", "found")),
    "ngram_found", "ngram_first", "ngram_rank", "ngram_logp", "ngram_gap",
    "stmt_depth", "stmt_balanced", "stmt_opens", "stmt_closes_more", "stmt_is_block", "stmt_colon_then_indent",
    "in_string", "in_docstring", "in_comment",
)


@dataclass
class Candidates:
    """One cursor's candidates: the matcher's (with what it found) and the n-gram beam's."""
    cursor: Cursor
    matches: dict = field(default_factory=dict)        # text -> matching.Match
    order: list = field(default_factory=list)          # every match's text, in the matcher's own order
    ngram: list = field(default_factory=list)          # [(text, log-probability)], best first
    texts: list = field(default_factory=list)          # the candidates, matcher order then n-gram

    @property
    def empty(self) -> bool:
        return not self.texts


def context_groups(cursor: Cursor, proposals) -> list[tuple[str, list[TokenizedText]]]:
    """The matcher's four groups of context for ``cursor``."""
    retrieved, related = [], []
    for p in proposals:
        if p.form not in CODE_FORMS or p.source in ("in_file_prior", "in_file_post"):
            continue
        if p.source in RETRIEVED:
            retrieved.append(tokenized(p.whole or p.text))
        else:
            related.append(tokenized(p.text))
    return [("prefix", [TokenizedText(cursor.prefix)]), ("suffix", [TokenizedText(cursor.suffix)]),
            ("retrieved", retrieved), ("related", related)]


def ngram_beam(cursor: Cursor, repository_lm: Optional[TokenLM] = None) -> list[tuple[str, float]]:
    """The n-gram beam's completions of the cursor's line: the buffer's cache model mixed with
    the repository's (``CACHE_WEIGHT``), best first, each with its log-probability."""
    models = [(buffer_model(cursor.prefix, cursor.suffix), CACHE_WEIGHT)]
    if repository_lm is not None and len(repository_lm):
        models.append((repository_lm, 1.0 - CACHE_WEIGHT))
    return complete_line(models, cursor.prefix, beam=LM_BEAM)


def gather(cursor: Cursor, proposals, repository_lm: Optional[TokenLM] = None,
           ngram: Optional[list] = None) -> Candidates:
    """The candidates for ``cursor`` from the matcher over its context and the n-gram beam
    (``ngram``, when the caller has already run ``ngram_beam``)."""
    matches = pool(cursor.prefix, context_groups(cursor, proposals))
    if ngram is None:
        ngram = ngram_beam(cursor, repository_lm)
    order = matcher_order(matches)
    texts = order[:MAX_CANDIDATES]
    have = set(texts)
    texts += [t for t, _ in ngram if t not in have]
    return Candidates(cursor, matches, order, ngram, texts)


@dataclass
class StatementState:
    """The logical line the cursor is in: brackets still open before the cursor, the line
    the statement starts on, and whether the cursor is inside a string or a comment."""
    depth: int
    start_line: str
    in_string: bool
    in_docstring: bool
    in_comment: bool


def statement_state(prefix: str) -> StatementState:
    """``StatementState`` of the text before the cursor (its last ``STATEMENT_SCAN`` characters,
    from a line start)."""
    base = max(0, len(prefix) - STATEMENT_SCAN)
    if base:
        base = prefix.find("\n", base) + 1 or len(prefix)
    opened: list[int] = []
    in_string = in_docstring = in_comment = False
    for m in _LEXEMES.finditer(prefix, base):
        token = m.group()
        if token in _OPEN:
            opened.append(m.start())
        elif token in _CLOSE:
            if opened:
                opened.pop()
        elif m.end() == len(prefix):          # the cursor is in this string or comment, unless it ended
            if token.startswith("#"):
                in_comment = True
            else:
                body = token.lstrip("rRbBuUfF")
                quote = m.group(1) or body[0]
                in_string = len(body) < 2 * len(quote) or not body.endswith(quote)
                in_docstring = in_string and len(quote) == 3
    at = opened[0] if opened else len(prefix)
    start = prefix.rfind("\n", 0, at) + 1
    end = prefix.find("\n", start)
    return StatementState(len(opened), prefix[start:end if end != -1 else len(prefix)], in_string,
                          in_docstring, in_comment)


def _balance(text: str) -> int:
    return sum((ch in _OPEN) - (ch in _CLOSE) for ch in text)


def features(c: Candidates) -> np.ndarray:
    """``(len(c.texts), len(FEATURES))`` float32."""
    line_prefix = c.cursor.line_prefix
    partial = bool(line_prefix) and (line_prefix[-1].isalnum() or line_prefix[-1] == "_")
    head = c.cursor.suffix[:300]
    next_line = head.lstrip("\r\n").split("\n", 1)[0]
    indent = len(line_prefix) - len(line_prefix.lstrip())
    next_indent = len(next_line) - len(next_line.lstrip()) if next_line.strip() else indent
    known = set(_IDENT.findall(c.cursor.prefix[-400:])) | set(_IDENT.findall(head))
    order = {t: i for i, t in enumerate(c.order)}
    best = max((m.best for m in c.matches.values()), default=0.0)
    places = sum(m.places for m in c.matches.values()) or 1
    ngram = {t: (i, logp) for i, (t, logp) in enumerate(c.ngram)}
    top_logp = c.ngram[0][1] if c.ngram else 0.0
    state = statement_state(c.cursor.prefix)
    stmt_block = bool(_BLOCK.match(state.start_line))
    stmt_indent = len(state.start_line) - len(state.start_line.lstrip())
    log_depth = math.log1p(state.depth)
    where = [float(state.in_string), float(state.in_docstring), float(state.in_comment)]
    rows = []
    for text in c.texts:
        m: Optional[Match] = c.matches.get(text)
        matched = m.best if m else 0.0
        rank = order.get(text, len(order))
        line = line_prefix + text
        balance, text_balance = _balance(line), _balance(text)
        line_block = bool(_BLOCK.match(line))
        names = _IDENT.findall(text)
        ends_colon = text.rstrip().endswith(":")
        row = [float(m is not None), matched / 24, (best - matched) / 24, math.log1p(m.places if m else 0),
               (m.places if m else 0) / places, math.log1p(m.first if m else 50), math.log1p(rank),
               float(rank == 0), math.log1p(len(text)), float(partial), float(balance == 0), float(balance > 0),
               float(balance < 0), float(text_balance < 0), float(ends_colon), float(line_block),
               float(next_indent > indent), float(ends_colon and next_indent > indent),
               float(text.rstrip().endswith(",")), float(not line_prefix.strip()),
               float(next_line.strip() == line.strip()),
               sum(n in known for n in names) / len(names) if names else 1.0, float(not names),
               math.log1p(m.matched_sum if m else 0.0)]
        for g in GROUPS:
            row += [(m.matched.get(g, 0) / 24) if m else 0.0, math.log1p(m.votes.get(g, 0)) if m else 0.0,
                    float(bool(m) and g in m.matched)]
        if text in ngram:
            i, logp = ngram[text]
            row += [1.0, float(i == 0), i / LM_BEAM, max(-20.0, logp) / 10, max(-20.0, logp - top_logp) / 10]
        else:
            row += [0.0, 0.0, 1.0, -2.0, -2.0]
        depth = state.depth + text_balance
        row += [log_depth, float(depth == 0), float(depth > 0), float(depth < 0), float(stmt_block or line_block),
                float(ends_colon and next_indent > stmt_indent), *where]
        rows.append(row)
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(FEATURES))


class Ranker:
    """The MLP of a ranker model folder, in numpy."""

    def __init__(self, weights: dict, config: dict, name: str = ""):
        if list(config.get("features", [])) != list(FEATURES):
            raise ValueError("the ranker was trained on other features (retrain it with this version)")
        self.layers = [(weights[f"{i}.weight"], weights[f"{i}.bias"]) for i in config["layers"]]
        self.name = name

    @classmethod
    def load(cls, directory: Path, name: str = "") -> "Ranker":
        import json

        from safetensors.numpy import load_file

        from codeintel.models.registry import CONFIG, WEIGHTS

        weights = load_file(str(Path(directory) / WEIGHTS))
        config = json.loads((Path(directory) / CONFIG).read_text(encoding="utf-8"))
        return cls({k: v.astype(np.float32) for k, v in weights.items()}, config, name)

    def scores(self, x: np.ndarray) -> np.ndarray:
        for i, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if i < len(self.layers) - 1:
                x = np.maximum(x, 0.0)
        return x[:, 0]

    def rank(self, c: Candidates) -> list[tuple[str, float]]:
        """The candidates, best first, each with its probability among them."""
        if c.empty:
            return []
        s = self.scores(features(c))
        p = np.exp(s - s.max())
        p /= p.sum()
        return [(c.texts[i], float(p[i])) for i in np.argsort(-p, kind="stable")]


def load_ranker(repo_root) -> tuple[Optional[Ranker], str]:
    """The active ranker (the repository's, else the built-in) or (None, why not)."""
    from codeintel.models.registry import active_model

    info = active_model(FEATURE, repo_root)
    if info is None:
        return None, "no completion ranker"
    try:
        return Ranker.load(info.path, f"{info.source} ranker"), ""
    except (OSError, ValueError, KeyError) as exc:
        why = f"the completion ranker at {info.path} cannot be used: {exc}"
        log.warning("%s", why)
        return None, why


__all__ = ["FEATURE", "FEATURES", "Candidates", "gather", "ngram_beam", "features", "Ranker", "load_ranker",
           "context_groups"]

