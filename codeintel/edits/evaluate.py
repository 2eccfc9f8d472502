"""`codeintel eval edits`: how well edits are predicted on a time split, against baselines on
the same cases.

Suggestion (one function's before -> after): exact match of the token sequence at top-1/5/10
for small (<= 50 tokens) and medium (51-100) functions, and token edit similarity of the
top-1, for the learned model (when given) and the baselines: ``copy`` (the input unchanged)
and ``nearest_neighbour`` (the edits of the most similar training "before" applied to it).

Propagation: on test commits that change several functions, the first changed function's edit
is generalised (``patterns.learn_edit``) and applied to the commit's other functions and to
distractors (functions of the same repository as other test commits left them: their "after",
so that a commit which made the same edit does not count against it); a prediction is right
when it gives that function's real "after". Precision and recall at each confidence threshold.
"""
from __future__ import annotations

import random
import time
from collections import defaultdict
from typing import Callable, Optional, Sequence

from .abstraction import NL, code_tokens, pair_idioms, tokenize
from .neighbours import NeighbourIndex
from .patterns import apply_edit, learn_edit

SMALL, MEDIUM = 50, 100
TOPS = (1, 5, 10)


def token_similarity(a: Sequence[str], b: Sequence[str]) -> float:
    """1 - Levenshtein distance over tokens / the longer length (1.0 = identical)."""
    if not a and not b:
        return 1.0
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return 1 - prev[-1] / max(len(a), len(b))


def _bucket(n: int) -> Optional[str]:
    return "small" if n <= SMALL else "medium" if n <= MEDIUM else None


class _Scores:
    def __init__(self):
        self.hits = {k: 0 for k in TOPS}
        self.similarity = 0.0
        self.n = 0

    def add(self, candidates: list[list[str]], target: list[str], fallback: list[str]) -> None:
        self.n += 1
        for k in TOPS:
            self.hits[k] += any(c == target for c in candidates[:k])
        self.similarity += token_similarity(candidates[0] if candidates else fallback, target)

    def to_dict(self) -> dict:
        n = max(1, self.n)
        return {"cases": self.n, **{f"exact_match_top{k}": round(self.hits[k] / n, 4) for k in TOPS},
                "edit_similarity": round(self.similarity / n, 4)}


Predictor = Callable[[list, dict], list[list[str]]]   # (before tokens, pair) -> candidate token texts


def evaluate_suggestions(train: list[dict], test: list[dict], idioms, model: Optional[Predictor] = None,
                         max_cases: int = 3000, seed: int = 0, progress: Optional[Callable] = None) -> dict:
    index = NeighbourIndex.from_pairs(train, idioms)
    cases = []
    for p in test:
        before = tokenize(p["before"], p["language"])
        n = len(code_tokens(before))
        if _bucket(n):
            cases.append((p, before, n))
    random.Random(seed).shuffle(cases)
    cases = cases[:max_cases]
    systems = {"copy": defaultdict(_Scores), "nearest_neighbour": defaultdict(_Scores)}
    if model is not None:
        systems = {"model": defaultdict(_Scores), **systems}
    started = time.monotonic()
    for done, (p, before, n) in enumerate(cases, 1):
        target = code_tokens(tokenize(p["after"], p["language"]))
        source = code_tokens(before)
        bucket = _bucket(n)
        nn = [[t for t in texts if t != NL] for texts, _, _ in index.predict(before, k=max(TOPS))]
        predictions = {"copy": [source], "nearest_neighbour": nn}
        if model is not None:
            predictions["model"] = model(before, p)
        for name, cands in predictions.items():
            systems[name][bucket].add(cands, target, source)
            systems[name]["all"].add(cands, target, source)
        if progress:
            progress(done, len(cases))
    out = {name: {b: s.to_dict() for b, s in sorted(buckets.items())} for name, buckets in systems.items()}
    out["seconds"] = round(time.monotonic() - started, 1)
    return out


def evaluate_propagation(test: list[dict], idioms, distractors: int = 30, max_tokens: int = 400,
                         max_commits: int = 500, seed: int = 0) -> dict:
    by_commit: dict = defaultdict(list)
    for p in test:
        by_commit[(p["repo"], p["commit"])].append(p)
    rng = random.Random(seed)
    multi = [c for c, ps in by_commit.items() if len(ps) >= 2]
    rng.shuffle(multi)
    multi = multi[:max_commits]
    pool_by_repo: dict = defaultdict(list)
    for (repo, commit), ps in by_commit.items():
        pool_by_repo[repo].extend((commit, p) for p in ps)
    predictions = []      # (confidence, correct)
    positives = 0
    for repo, commit in multi:
        ps = by_commit[(repo, commit)]
        tokens = [(tokenize(p["before"], p["language"]), tokenize(p["after"], p["language"])) for p in ps]
        edit = learn_edit(tokens[0][0], tokens[0][1], idioms)
        others = [(tokens[k][0], code_tokens(tokens[k][1])) for k in range(1, len(ps))
                  if len(tokens[k][0]) <= max_tokens]
        positives += len(others)
        pool = [p for c, p in pool_by_repo[repo] if c != commit]
        for p in rng.sample(pool, min(distractors, len(pool))):
            current = tokenize(p["after"], p["language"])
            if len(current) <= max_tokens:
                others.append((current, None))
        if edit.empty:
            continue
        for before, target in others:
            result = apply_edit(edit, before)
            if result is None:
                continue
            texts, confidence, _ = result
            predicted = [t for t in texts if t != NL]
            predictions.append((confidence, target is not None and predicted == target))
    curve = []
    for threshold in (0.0, 0.5, 0.7, 0.8, 0.9, 0.95):
        chosen = [ok for conf, ok in predictions if conf >= threshold]
        correct = sum(chosen)
        curve.append({"threshold": threshold, "predicted": len(chosen), "correct": correct,
                      "precision": round(correct / len(chosen), 4) if chosen else None,
                      "recall": round(correct / positives, 4) if positives else None})
    return {"commits": len(multi), "functions_to_predict": positives, "distractors_per_commit": distractors,
            "curve": curve}


def evaluate(train: list[dict], test: list[dict], model: Optional[Predictor] = None, idioms=None,
             max_cases: int = 3000, progress: Optional[Callable] = None) -> dict:
    """Both evaluations on one split; idioms are learned from ``train`` when not given."""
    if idioms is None:
        idioms = pair_idioms(train)
    return {"suggestion": evaluate_suggestions(train, test, idioms, model, max_cases=max_cases, progress=progress),
            "propagation": evaluate_propagation(test, idioms)}
