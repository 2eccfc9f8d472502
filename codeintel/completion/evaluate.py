"""``codeintel eval completion``: held-out evaluation of completion against model-free baselines.

Cases. From a repository: a seeded share of its source files is held out; the context index is
built on a copy of the repository *without* them (so nothing of a held-out file can leak into
retrieval); holes are cut at seeded random points of non-blank lines of the held-out files
(between the line's indentation and its last character). Or cases made elsewhere: a JSONL file,
one object a line,

    {"path": "pkg/mod.py", "prefix": "...text before the hole", "target": "rest of the line",
     "suffix": "\\n...text after the rest of the line"}

with ``--repo CONTEXT_DIR`` the repository without the held-out files (``path`` is the held-out
file's '/'-separated path as if it were in CONTEXT_DIR; ``suffix`` starts with the newline that
ends the target's line; optional ``id``). ``--write-cases`` writes cut cases in this format.

Predictors, all on the same cases, each producing the rest of the line:
    prefix_only         best-matching continuation (``matching.continuations``) within the file's
                        text before the hole
    in_file             the same within the text before and after the hole
    in_file_bm25        the same within the in-file text and the 8 BM25 chunks for the cursor
    in_file_proposals   the same within the in-file text and the ranked RLPG proposals
    ngram               the n-gram models alone (``ranker.ngram_beam``: the file's cache model mixed
                        with the repository's, counted on the context index's files)
    ranked              the learned ranker over the matcher's and the n-gram beam's candidates
                        (``ranker.gather``; what ``complete()`` answers without a completion model),
                        when a ranker is available
    model               the completion model (the repository's or the built-in, or --model DIR)
                        on the same proposals, when one is available

Metrics per predictor: exact match of the rest of the line (trailing blanks ignored), edit
similarity (1 - Levenshtein / the longer length, characters), identifier F1 (identifier
multisets of prediction and target; 1 when both have none), and the mean latency. Groups: all,
test files / other files, and lines that use a name defined in another file of the repository
(and not in the file itself) / the other lines.
"""
from __future__ import annotations

import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from codeintel.models.metrics import edit_similarity, levenshtein
from codeintel.retrieval.context import build_context_copy, context_store, read_jsonl, source_files, write_jsonl
from codeintel.retrieval.lexical import bm25_chunks
from codeintel.retrieval.text import IDENTIFIER

from .cursor import Cursor, random_cuts
from .matching import TokenizedText, continuations, proposal_contexts, tokenized

TEST_PATH = re.compile(r"(^|/)(tests?|testing)(/|$)|(^|/)test_[^/]*$|_tests?\.py$|(^|/)conftest\.py$")
PREDICTORS = ("prefix_only", "in_file", "in_file_bm25", "in_file_proposals", "ngram")


@dataclass
class Case:
    path: str
    prefix: str
    suffix: str
    target: str
    id: str = ""
    is_test: bool = False
    cross_file: bool = False

    def cursor(self) -> Cursor:
        return Cursor.from_parts(self.path, self.prefix, self.suffix)

    def to_json(self) -> dict:
        return {"id": self.id, "path": self.path, "prefix": self.prefix, "suffix": self.suffix,
                "target": self.target}


# ------------------------------------------------------------------------------- metrics
def identifier_f1(prediction: str, target: str) -> float:
    p, t = Counter(IDENTIFIER.findall(prediction)), Counter(IDENTIFIER.findall(target))
    if not p and not t:
        return 1.0
    common = sum((p & t).values())
    if not common:
        return 0.0
    precision, recall = common / sum(p.values()), common / sum(t.values())
    return 2 * precision * recall / (precision + recall)


def score(prediction: str, target: str) -> dict:
    prediction, target = prediction.split("\n", 1)[0].rstrip(), target.rstrip()
    return {"exact_match": float(prediction == target), "edit_similarity": edit_similarity(prediction, target),
            "identifier_f1": identifier_f1(prediction, target)}


# ------------------------------------------------------------------------------- cases
def is_test_path(path: str) -> bool:
    return bool(TEST_PATH.search(path))


def cut_cases(files: dict[str, str], per_file: int, rng: random.Random) -> list[Case]:
    """Up to ``per_file`` holes in each file (``cursor.random_cuts``); the target is the rest of the line."""
    cases = []
    for path in sorted(files):
        text = files[path]
        for cut in random_cuts(text, per_file, rng):
            raw = cut.lines[cut.index]
            cases.append(Case(path, text[:cut.start + cut.column], text[cut.start + len(raw):],
                              raw.rstrip()[cut.column:], id=f"{path}:{cut.index + 1}:{cut.column + 1}",
                              is_test=is_test_path(path)))
    return cases


def cut_at_most(files: dict[str, str], per_file: int, max_cases: int, rng: random.Random) -> list[Case]:
    """``cut_cases``, then at most ``max_cases`` of them drawn with ``rng`` (in id order)."""
    cases = cut_cases(files, per_file, rng)
    if len(cases) > max_cases:
        cases = sorted(rng.sample(cases, max_cases), key=lambda c: c.id)
    return cases


def read_cases(path: Path, skipped: Optional[list[str]] = None) -> list[Case]:
    """Cases from a JSONL file (format in the module docstring); ValueError on a bad line, or,
    given a ``skipped`` list, why that line cannot be used appended to it and the line skipped."""
    cases = []
    for number, data in read_jsonl(path, skipped):
        try:
            case = Case(str(data["path"]), str(data["prefix"]), str(data.get("suffix", "")),
                        str(data["target"]), id=str(data.get("id") or f"{path.name}:{number}"))
        except (KeyError, TypeError, AttributeError) as exc:
            if skipped is not None:
                skipped.append(f"{path.name}:{number}: not a completion case ({type(exc).__name__}: {exc})")
                continue
            raise ValueError(f"{path}:{number}: not a completion case ({type(exc).__name__}: {exc}); "
                             f"each line needs path, prefix, target (and suffix)") from None
        case.is_test = is_test_path(case.path)
        cases.append(case)
    return cases


def mark_cross_file(cases: list[Case], store) -> None:
    """Flag the cases whose line uses a name defined in another file (and not in its own)."""
    defined = store.defined_names()
    own_cache: dict[str, set[str]] = {}
    for case in cases:
        if case.path not in own_cache:
            text = case.prefix + case.target + case.suffix
            own_cache[case.path] = set(re.findall(r"(?:def|class)\s+([A-Za-z_]\w*)", text))
        line = case.prefix[case.prefix.rfind("\n") + 1:] + case.target
        names = set(IDENTIFIER.findall(line)) - own_cache[case.path]
        case.cross_file = any(defined.get(n, set()) - {case.path} for n in names)


# ------------------------------------------------------------------------------- running
@dataclass
class Report:
    metrics: dict = field(default_factory=dict)      # predictor -> group -> metric -> value
    cases: int = 0
    held_out_files: list = field(default_factory=list)
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    predictions: list = field(default_factory=list)  # per case: id, target, predictor -> text


def _groups(case: Case) -> list[str]:
    return ["all", "test_files" if case.is_test else "non_test_files",
            "cross_file_lines" if case.cross_file else "in_file_lines"]


def run_predictors(cases: list[Case], store, model=None, keep_predictions: bool = False,
                   progress: Optional[Callable[[int, int], None]] = None, ranker=None) -> Report:
    """Every predictor on every case; the aggregated metrics."""
    from codeintel.retrieval.dense import DenseIndex

    from .ngram import repository_lm
    from .proposals import make_proposals
    from .ranker import gather, ngram_beam

    dense = DenseIndex.build(store, None)
    lm = repository_lm(store, "python")
    names = list(PREDICTORS) + (["ranked"] if ranker is not None else []) + (["model"] if model is not None else [])
    sums: dict = {name: {} for name in names}
    latency = {name: 0.0 for name in names}
    report = Report(cases=len(cases))
    for number, case in enumerate(cases):
        cursor = case.cursor()
        started = time.perf_counter()
        prefix_doc = TokenizedText(case.prefix)
        suffix_doc = TokenizedText(case.suffix)
        base_seconds = time.perf_counter() - started
        predictions = {}
        t0 = time.perf_counter()
        found = continuations(case.prefix, [prefix_doc], n=1)
        predictions["prefix_only"] = found[0].text if found else ""
        latency["prefix_only"] += time.perf_counter() - t0 + base_seconds
        t0 = time.perf_counter()
        found = continuations(case.prefix, [prefix_doc, suffix_doc], n=1)
        predictions["in_file"] = found[0].text if found else ""
        latency["in_file"] += time.perf_counter() - t0 + base_seconds
        t0 = time.perf_counter()
        hits = bm25_chunks(store, cursor.nearby(), limit=8, exclude_paths=[case.path])
        found = continuations(case.prefix, [prefix_doc, suffix_doc] + [tokenized(h.text) for h in hits], n=1)
        predictions["in_file_bm25"] = found[0].text if found else ""
        latency["in_file_bm25"] += time.perf_counter() - t0 + base_seconds
        t0 = time.perf_counter()
        proposals = make_proposals(store, cursor, dense=dense, exclude_paths=[case.path])
        found = continuations(case.prefix, [prefix_doc, suffix_doc] + proposal_contexts(proposals), n=1)
        predictions["in_file_proposals"] = found[0].text if found else ""
        proposal_seconds = time.perf_counter() - t0
        latency["in_file_proposals"] += proposal_seconds + base_seconds
        t0 = time.perf_counter()
        beam = ngram_beam(cursor, lm)
        predictions["ngram"] = beam[0][0] if beam else ""
        beam_seconds = time.perf_counter() - t0
        latency["ngram"] += beam_seconds + base_seconds
        if ranker is not None:      # the same beam, not run twice; its time counts here too
            t0 = time.perf_counter()
            ranked = ranker.rank(gather(cursor, proposals, lm, ngram=beam))
            predictions["ranked"] = ranked[0][0] if ranked else ""
            latency["ranked"] += time.perf_counter() - t0 + beam_seconds + proposal_seconds
        if model is not None:
            t0 = time.perf_counter()
            out = model.predict(cursor, proposals, n=1)
            predictions["model"] = out[0][0] if out else ""
            latency["model"] += time.perf_counter() - t0 + proposal_seconds
        for name in names:
            values = score(predictions[name], case.target)
            for group in _groups(case):
                bucket = sums[name].setdefault(group, {"n": 0, "exact_match": 0.0, "edit_similarity": 0.0,
                                                       "identifier_f1": 0.0})
                bucket["n"] += 1
                for key, value in values.items():
                    bucket[key] += value
        if keep_predictions:
            report.predictions.append({"id": case.id, "target": case.target, **predictions})
        if progress:
            progress(number + 1, len(cases))
    for name in names:
        report.metrics[name] = {
            group: {"n": b["n"], **{k: round(b[k] / b["n"], 4) for k in ("exact_match", "edit_similarity",
                                                                         "identifier_f1")}}
            for group, b in sums[name].items()}
        report.metrics[name]["all"]["mean_latency_ms"] = round(1000 * latency[name] / max(1, len(cases)), 2)
    return report


def held_out_cases(root: Path, *, holdout: float = 0.1, max_files: int = 40, per_file: int = 5,
                   max_cases: int = 400, seed: int = 0) -> tuple[list[str], list[Case]]:
    """A seeded share of ``root``'s Python files held out, and the holes cut in them."""
    rng = random.Random(seed)
    files = source_files(root)
    if len(files) < 2:
        raise ValueError(f"{root}: needs at least two Python files (one to hold out, one for context)")
    count = max(1, min(max_files, round(len(files) * holdout)))
    held = sorted(rng.sample(files, count))
    texts = {}
    for rel in held:
        try:
            texts[rel] = (root / rel).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return held, cut_at_most(texts, per_file, max_cases, rng)


def evaluate_repository(root: Path, *, holdout: float = 0.1, max_files: int = 40, per_file: int = 5,
                        max_cases: int = 400, seed: int = 0, model=None, write_cases: Optional[Path] = None,
                        keep_predictions: bool = False, progress=None, ranker=None) -> Report:
    """Hold out files of ``root``, index the rest in a temporary copy, cut cases, run predictors."""
    from codeintel.store import Store, store_path

    started = time.perf_counter()
    held, cases = held_out_cases(root, holdout=holdout, max_files=max_files, per_file=per_file,
                                 max_cases=max_cases, seed=seed)
    if write_cases:
        write_case_file(write_cases, cases)
    with tempfile.TemporaryDirectory(prefix="codeintel-eval-") as tmp:
        copy = build_context_copy(root, held, Path(tmp))
        with Store.open(store_path(copy), create=False) as store:
            mark_cross_file(cases, store)
            report = run_predictors(cases, store, model, keep_predictions, progress, ranker)
    report.held_out_files = held
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def evaluate_cases(cases: list[Case], context_dir: Path, *, model=None, keep_predictions: bool = False,
                   progress=None, ranker=None) -> Report:
    """Cases made elsewhere, the context from ``context_dir`` (its index if it has one, else an
    index of a temporary copy)."""
    started = time.perf_counter()
    with context_store(context_dir) as store:
        mark_cross_file(cases, store)
        report = run_predictors(cases, store, model, keep_predictions, progress, ranker)
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def write_case_file(path: Path, cases: list[Case]) -> None:
    write_jsonl(path, (case.to_json() for case in cases))


def report_dict(report: Report, **extra) -> dict:
    data = {**extra, "cases": report.cases, "held_out_files": report.held_out_files, "seconds": report.seconds,
            "metrics": report.metrics}
    if report.notes:
        data["notes"] = report.notes
    if report.predictions:
        data["predictions"] = report.predictions
    return data


__all__ = ["Case", "Report", "cut_cases", "read_cases", "evaluate_repository", "evaluate_cases", "cut_at_most", "score",
           "edit_similarity", "identifier_f1", "levenshtein"]
