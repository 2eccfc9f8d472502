"""`codeintel eval merge` for the learned chooser: its accuracy, precision and coverage at its
threshold and with every region resolved (threshold 0), per repository and per language, beside
the baselines on the same regions (always ours, always theirs, token-level diff3 alone, the
syntax-aware merge alone, and the MergeBERT classifier at its own threshold when one is given).

Accuracy counts right regions among all regions; precision among those resolved; a region is right
when the text equals the developer's resolution ignoring whitespace (as the corpus labels are).
"""
from __future__ import annotations

import time
from typing import Callable, Optional, Sequence

from .candidates import region_of_example
from .chooser import pick
from .learn import Case, decide, make_case, score, syntax_merge

Texts = list[Optional[str]]


def _grouped(cases: Sequence[Case], texts: Texts, key: Callable[[Case], str]) -> dict:
    groups: dict[str, list[int]] = {}
    for i, c in enumerate(cases):
        groups.setdefault(key(c), []).append(i)
    return {g: score([cases[i] for i in idx], [texts[i] for i in idx]) for g, idx in sorted(groups.items())}


def report_of(cases: Sequence[Case], texts: Texts) -> dict:
    """Overall, per repository and per language scores of one way of resolving the regions."""
    out = score(cases, texts)
    out["by_repo"] = _grouped(cases, texts, lambda c: c.repo or "(none)")
    out["by_language"] = _grouped(cases, texts, lambda c: c.example.language or "(none)")
    return out


def transformer_texts(cases: Sequence[Case], predict, threshold: float) -> Texts:
    """The MergeBERT classifier's resolution of each region at ``threshold`` (None: left)."""
    flat = [inst for c in cases for inst in c.instances]
    preds = predict(flat) if flat else []
    out, at = [], 0
    for c in cases:
        mine = preds[at:at + len(c.instances)]
        at += len(c.instances)
        out.append(decide(c, mine, threshold).text)
    return out


def evaluate_chooser(examples, chooser, threshold: float, transformer=None,
                     transformer_threshold: float = 0.9, sweep: Sequence[float] = (0.5, 0.7, 0.8, 0.9, 0.95)) -> dict:
    """The chooser's metrics and the baselines' on the regions of ``examples`` with a resolution;
    ``transformer``: a MergeBERT predictor (``training.load_predictor``) to compare with."""
    start = time.perf_counter()
    cases: list[Case] = []
    scored = []
    for ex in examples:
        case = make_case(ex)
        if case is None:
            continue
        cases.append(case)
        scored.append(chooser.score(region_of_example(ex, case.plan)))
    chooser_seconds = time.perf_counter() - start

    def texts_at(limit: float) -> Texts:
        return [pick(cands, scores, limit).text for cands, scores in scored]

    metrics = report_of(cases, texts_at(threshold))
    metrics["threshold"] = threshold
    every = report_of(cases, texts_at(0.0))
    by_threshold = {str(t): {k: v for k, v in score(cases, texts_at(t)).items()
                             if k in ("accuracy", "precision", "coverage")} for t in sweep}
    baselines = {
        "always ours": report_of(cases, [c.example.ours for c in cases]),
        "always theirs": report_of(cases, [c.example.theirs for c in cases]),
        "token-level diff3 alone": report_of(cases, [c.plan.candidate for c in cases]),
        "syntax-aware merge alone": report_of(cases, [syntax_merge(c.example) for c in cases]),
    }
    if transformer is not None:
        baselines[f"MergeBERT classifier (threshold {transformer_threshold})"] = report_of(
            cases, transformer_texts(cases, transformer, transformer_threshold))
    oracle = sum(any(c.key == _key(case) for c in cands) for case, (cands, _) in zip(cases, scored))
    return {"metrics": metrics, "threshold_0": every, "by_threshold": by_threshold, "baselines": baselines,
            "candidates": {"regions_with_a_right_candidate": round(oracle / len(cases), 4) if cases else None,
                           "mean_candidates": round(sum(len(c) for c, _ in scored) / max(1, len(scored)), 2)},
            "seconds": {"chooser": round(chooser_seconds, 1), "total": round(time.perf_counter() - start, 1)}}


def _key(case: Case) -> str:
    from .patterns import squash
    return squash(case.example.resolution)


__all__ = ["evaluate_chooser", "report_of", "transformer_texts"]
