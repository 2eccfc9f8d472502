"""The merge model's data, training and evaluation: from regions with known resolutions to
labelled conflict instances, `train`, and the metrics `codeintel eval merge` prints.

A region (one conflicting line hunk and what the developer committed) is planned at token
level. Each remaining token conflict is an instance labelled with the pattern that reproduces
the resolution (exhaustive search over the nine patterns, as in MergeBERT); a region no
assignment reproduces labels its instances OTHER, so the model learns to abstain. A region
that token diff3 resolves alone is one instance over the whole hunk, labelled MERGED when that
merge is what the developer kept, else the pattern that fits, else OTHER.
"""
from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterable, Optional, Sequence

from .conflicts import ConflictInstance, HunkPlan
from .corpus import MergeExample
from .features import CLASSES, MERGED, swapped_label
from .patterns import PATTERNS, UNRESOLVABLE, apply_pattern, squash
from .structured import structured_merge


@dataclass
class Case:
    """One region: its plan, the instances the model decides, and their labels."""
    example: Optional[MergeExample]
    plan: HunkPlan
    instances: list[ConflictInstance]
    labels: list[str]
    whole_hunk: bool = False      # one instance over the whole hunk (token diff3 was clean)

    @property
    def repo(self) -> str:
        return (self.example.repo if self.example else None) or ""


def whole_hunk_instance(hp: HunkPlan, before: str, after: str, path: Optional[str],
                        context: int = 256) -> ConflictInstance:
    """A token-clean hunk as one instance over its whole token sides."""
    from .tokens import tokenize

    ours, base, theirs = hp.token_sides
    return ConflictInstance(hunk=hp.hunk, index=0, ours=list(ours), base=list(base), theirs=list(theirs),
                            before=tokenize(before, path)[-context:] if before else [],
                            after=tokenize(after, path)[:context] if after else [], path=path)


def make_case(ex: MergeExample) -> Optional[Case]:
    """The labelled case of a region (None when it has no resolution)."""
    if ex.resolution is None:
        return None
    hp, instances = ex.plan()
    want = squash(ex.resolution)
    if not instances:
        inst = whole_hunk_instance(hp, ex.context_before, ex.context_after, ex.path)
        if squash(hp.resolve([])) == want:
            label = MERGED
        else:
            label = next((p for p in PATTERNS
                          if squash(apply_pattern(p, inst.ours, inst.base, inst.theirs)) == want), UNRESOLVABLE)
        return Case(ex, hp, [inst], [label], whole_hunk=True)
    token_label = hp.token_label(ex.resolution)
    labels = token_label.split(",") if token_label not in ("OTHER", "OTHER_TOO_MANY") else \
        [UNRESOLVABLE] * len(instances)
    return Case(ex, hp, instances, labels)


def make_cases(examples: Iterable[MergeExample]) -> list[Case]:
    return [case for case in map(make_case, examples) if case is not None]


def split_by_repo(cases: Sequence[Case], test_repos: Sequence[str], val_repos: Sequence[str] = ()):
    """(train, val, test): whole repositories, never files, go to each split."""
    test_set, val_set = set(test_repos), set(val_repos)
    train = [c for c in cases if c.repo not in test_set and c.repo not in val_set]
    val = [c for c in cases if c.repo in val_set]
    test = [c for c in cases if c.repo in test_set]
    return train, val, test


# ------------------------------------------------------------------------------- decisions
@dataclass
class RegionDecision:
    text: Optional[str]            # the resolution, None = left as a conflict
    classes: list[str]
    confidence: float


def decide(case: Case, predictions: Sequence[tuple[str, float]], threshold: float) -> RegionDecision:
    """Turn the model's (class, confidence) per instance into the region's resolution."""
    classes = [name for name, _ in predictions]
    confidence = min((conf for _, conf in predictions), default=0.0)
    if confidence < threshold or any(name == UNRESOLVABLE for name in classes):
        return RegionDecision(None, classes, confidence)
    if case.whole_hunk:
        name = classes[0]
        inst = case.instances[0]
        text = case.plan.resolve([]) if name == MERGED else "".join(
            apply_pattern(name, inst.ours, inst.base, inst.theirs))
        return RegionDecision(text, classes, confidence)
    if MERGED in classes:
        return RegionDecision(None, classes, confidence)
    return RegionDecision(case.plan.resolve(classes), classes, confidence)


# ------------------------------------------------------------------------------- metrics
def score(cases: Sequence[Case], texts: Sequence[Optional[str]]) -> dict:
    """Accuracy over all regions, precision over those resolved, coverage."""
    resolved = [(c, t) for c, t in zip(cases, texts) if t is not None]
    correct = sum(squash(t) == squash(c.example.resolution) for c, t in resolved)
    n = len(cases)
    return {"accuracy": round(correct / n, 4) if n else None,
            "precision": round(correct / len(resolved), 4) if resolved else None,
            "coverage": round(len(resolved) / n, 4) if n else None,
            "regions": n, "resolved": len(resolved), "correct": correct}


def syntax_merge(ex: MergeExample) -> Optional[str]:
    """The syntax-aware merge of a region (``structured.structured_merge``), its context helping it parse."""
    return structured_merge(ex.base, ex.ours, ex.theirs, ex.path, language=ex.language,
                            context_before=ex.context_before, context_after=ex.context_after)


def baselines(cases: Sequence[Case]) -> dict[str, dict]:
    """The named baselines on the same regions."""
    most_frequent = Counter(c.example.label for c in cases if c.example.label).most_common(1)
    top = most_frequent[0][0] if most_frequent and most_frequent[0][0] in PATTERNS else "A"

    def apply_line(case: Case, pattern: str) -> str:
        ours, base, theirs = case.example.sides()
        return "".join(apply_pattern(pattern, ours, base, theirs))

    return {
        # every region is a conflict git's line-level diff3 leaves: it resolves none of them
        "git diff3 alone": score(cases, [None] * len(cases)),
        "token-level diff3 alone": score(cases, [c.plan.candidate for c in cases]),
        "syntax-aware merge alone": score(cases, [syntax_merge(c.example) for c in cases]),
        "always ours": score(cases, [c.example.ours for c in cases]),
        "always theirs": score(cases, [c.example.theirs for c in cases]),
        f"most frequent pattern ({top})": score(cases, [apply_line(c, top) for c in cases]),
    }


def confusion(cases: Sequence[Case], decisions: Sequence[RegionDecision]) -> dict[str, dict]:
    """Per true region label (the corpus's line-level label): how the model's regions went."""
    table: dict[str, Counter] = {}
    for case, d in zip(cases, decisions):
        truth = case.example.label or "unlabelled"
        row = table.setdefault(truth, Counter())
        if d.text is None:
            row["abstained"] += 1
        elif squash(d.text) == squash(case.example.resolution):
            row["correct"] += 1
        else:
            row["wrong"] += 1
    return {label: dict(row) for label, row in sorted(table.items(), key=lambda kv: -sum(kv[1].values()))}


def label_counts(cases: Sequence[Case]) -> dict[str, int]:
    return dict(Counter(label for c in cases for label in c.labels).most_common())


def augmented(items: list[tuple], rng: random.Random) -> list[tuple]:
    """Training instances plus their mirror images (ours and theirs exchanged, label swapped)."""
    out = list(items)
    for inst, label in items:
        mirror = ConflictInstance(inst.hunk, inst.index, list(inst.theirs), list(inst.base), list(inst.ours),
                                  inst.before, inst.after, inst.path, inst.slot)
        out.append((mirror, swapped_label(label)))
    rng.shuffle(out)
    return out


@dataclass
class EvalReport:
    metrics: dict
    baselines: dict
    confusion: dict
    seconds: float
    labels: dict = field(default_factory=dict)


def evaluate(cases: Sequence[Case], predict, threshold: float) -> EvalReport:
    """Metrics of a predictor (list of instances -> list of (class, confidence)) and the
    baselines, on the same regions; also accuracy/precision at other thresholds."""
    start = time.perf_counter()
    flat = [inst for c in cases for inst in c.instances]
    preds = predict(flat) if flat else []
    per_case, at = [], 0
    for c in cases:
        per_case.append(preds[at:at + len(c.instances)])
        at += len(c.instances)
    decisions = [decide(c, p, threshold) for c, p in zip(cases, per_case)]
    metrics = score(cases, [d.text for d in decisions])
    metrics["threshold"] = threshold
    sweep = {}
    for t in (0.5, 0.7, 0.8, 0.9, 0.95, 0.99):
        ds = [decide(c, p, t) for c, p in zip(cases, per_case)]
        sweep[str(t)] = {k: v for k, v in score(cases, [d.text for d in ds]).items()
                         if k in ("accuracy", "precision", "coverage")}
    metrics["by_threshold"] = sweep
    return EvalReport(metrics, baselines(cases), confusion(cases, decisions), time.perf_counter() - start,
                      label_counts(cases))


__all__ = ["CLASSES", "Case", "EvalReport", "augmented", "baselines", "decide", "evaluate", "make_case",
           "make_cases", "score", "split_by_repo"]
