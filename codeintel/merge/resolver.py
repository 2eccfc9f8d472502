"""Deciding the conflicts of one merge plan with the active merge model: what the driver,
`codeintel resolve` and the language server call. Loads the model only when a file really conflicts.

Two kinds of model: the learned chooser (``chooser.py``, ``"architecture": "candidate-chooser"``,
the built-in default: it scores the candidate resolutions of each conflicting hunk and takes the
best, or abstains below the threshold) and the MergeBERT classifier (``training.py``: a pattern
per token conflict). Both run in numpy; callers see the same ``HunkDecision``s."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .conflicts import MergePlan, context_lines_of
from .learn import Case, decide, whole_hunk_instance

BATCH = 16          # conflicts per model call: time and memory are checked between calls


@dataclass
class HunkDecision:
    hunk: int
    text: Optional[str]
    classes: list[str]
    confidence: float
    reason: str


class Resolver:
    """The active merge model of a repository (its own, else the built-in one), loaded lazily."""

    def __init__(self, repo_root: Optional[Path]):
        from codeintel.models.registry import active_model

        self.info = active_model("merge", repo_root)
        self._predictor = None

    @property
    def available(self) -> bool:
        return self.info is not None

    @property
    def name(self) -> Optional[str]:
        return f"{self.info.source}: {self.info.path}" if self.info else None

    @property
    def default_threshold(self) -> Optional[float]:
        return self.info.config.get("threshold") if self.info else None

    @property
    def is_chooser(self) -> bool:
        from .chooser import ARCHITECTURE
        return bool(self.info) and self.info.config.get("architecture") == ARCHITECTURE

    def predictor(self):
        if self._predictor is None:
            if self.is_chooser:
                from .chooser import Chooser
                self._predictor = Chooser.load(self.info.path, self.info.config)
            else:
                from .training import load_predictor
                self._predictor = load_predictor(self.info)
        return self._predictor

    def decide(self, plan: MergePlan, threshold: float, budget=None) -> list[HunkDecision]:
        """A decision per conflicting hunk of ``plan``; ``budget`` (a ``limits.Budget``) is asked
        before each batch of conflicts goes to the model (it raises ``MergeTooCostly`` to stop)."""
        if self.is_chooser:
            return self._choose(plan, threshold, budget)
        cases = []
        for i in plan.conflict_hunks:
            hp = plan.hunk_plans[i]
            if hp.instances:
                cases.append(Case(None, hp, [plan.instances[k] for k in hp.instances], []))
            else:
                before = "".join(context_lines_of(plan.hunks, i, -1, 10))
                after = "".join(context_lines_of(plan.hunks, i, +1, 10))
                cases.append(Case(None, hp, [whole_hunk_instance(hp, before, after, plan.path)], [],
                                  whole_hunk=True))
        flat = [inst for c in cases for inst in c.instances]
        if budget is not None:     # the plan counted the token conflicts; these are the whole hunks
            budget.count(sum(1 for c in cases if c.whole_hunk))
        preds = []
        for start in range(0, len(flat), BATCH):
            if budget is not None:
                budget.check()
            preds.extend(self.predictor()(flat[start:start + BATCH]))
        out, at = [], 0
        for case in cases:
            mine = preds[at:at + len(case.instances)]
            at += len(case.instances)
            d = decide(case, mine, threshold)
            if d.text is not None:
                reason = "confident"
            elif "OTHER" in d.classes:
                reason = "the model abstains: no pattern fits"
            elif d.confidence < threshold:
                reason = f"confidence {d.confidence:.2f} is below the threshold {threshold:.2f}"
            else:
                reason = "the token merge is not kept here"
            out.append(HunkDecision(case.plan.hunk, d.text, d.classes, d.confidence, reason))
        return out

    def _choose(self, plan: MergePlan, threshold: float, budget) -> list[HunkDecision]:
        from .candidates import region_of_plan

        chooser = self.predictor()
        out = []
        for i in plan.conflict_hunks:
            if budget is not None:
                budget.check()
            choice = chooser.choose(region_of_plan(plan, i), threshold)
            if choice.text is not None:
                reason = f"confident ({', '.join(choice.generators)})"
            elif not choice.candidates:
                reason = "no candidate resolution"
            else:
                reason = f"best candidate's score {choice.score:.2f} is below the threshold {threshold:.2f}"
            out.append(HunkDecision(i, choice.text, choice.generators, choice.score, reason))
        return out
