"""The candidate resolutions of one conflict region, for the learned chooser (``chooser.py``).

A region is one conflicting line hunk (ours, base, theirs as lists of lines) with its token-level
plan (``conflicts.HunkPlan``) and up to 10 merged lines of context on each side. Its candidates are
what each generator of ``GENERATORS`` makes of it, in that order:

* ``token-diff3``: token-level diff3's merge, when it leaves no conflict;
* ``line:P`` for the nine MergeBERT patterns ``P`` applied to the region's lines (take ours,
  theirs, the base, both in either order, each side without its lines aligned with the base...);
* ``token:P``: the token-level merge with pattern ``P`` applied to every token conflict left
  (the stable tokens keep both sides' changes), when the token merge is not clean;
* ``syntax``: the syntax-aware merge (``structured.structured_merge``), when it merges.

Candidates equal ignoring whitespace (the comparison of every label) are one candidate, with the
text of the first generator and the list of all the generators that agree on it. Adding a
generator is one entry in ``GENERATORS`` and one branch in ``_generate``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator, Optional

from .conflicts import HunkPlan
from .patterns import PATTERNS, apply_pattern, squash
from .structured import structured_merge

MAX_ALIGN_TOKENS = 2000       # token REM-BASE candidates: sides up to about this many tokens
GENERATORS: tuple[str, ...] = (("token-diff3",) + tuple(f"line:{p}" for p in PATTERNS)
                               + tuple(f"token:{p}" for p in PATTERNS) + ("syntax",))


@dataclass
class Region:
    """One conflict region as the chooser sees it (from the corpus or from a merge plan)."""
    ours: list[str]
    base: list[str]
    theirs: list[str]
    plan: HunkPlan
    path: Optional[str] = None
    context_before: str = ""
    context_after: str = ""


@dataclass
class Candidate:
    text: str
    key: str                                   # the text without whitespace
    generators: list[str] = field(default_factory=list)


def _generate(region: Region, use_syntax: bool = True) -> Iterator[tuple[str, Optional[str]]]:
    hp = region.plan
    if hp.clean:
        yield "token-diff3", hp.resolve([])
    for p in PATTERNS:
        yield f"line:{p}", "".join(apply_pattern(p, region.ours, region.base, region.theirs))
    if not hp.clean:
        yield from _token_patterns(hp)
    if use_syntax:
        yield "syntax", structured_merge("".join(region.base), "".join(region.ours), "".join(region.theirs),
                                         region.path, context_before=region.context_before,
                                         context_after=region.context_after)


def _token_patterns(hp: HunkPlan) -> Iterator[tuple[str, Optional[str]]]:
    """Each pattern applied to every token conflict of the hunk; the REM-BASE ones only where each
    conflict's sides are within about ``MAX_ALIGN_TOKENS`` tokens (the alignment is quadratic)."""
    n = len(hp.conflicts)
    small = all(max(len(h.ours), len(h.theirs)) * max(1, len(h.base)) <= MAX_ALIGN_TOKENS ** 2
                for h in hp.conflicts)
    for p in PATTERNS:
        yield f"token:{p}", hp.resolve([p] * n) if small or not p.startswith("REM-BASE") else None


def candidates(region: Region, use_syntax: bool = True) -> list[Candidate]:
    """The region's distinct candidates (equal ignoring whitespace = one), in generator order."""
    by_key: dict[str, Candidate] = {}
    for name, text in _generate(region, use_syntax):
        if text is None:
            continue
        key = squash(text)
        if key in by_key:
            by_key[key].generators.append(name)
        else:
            by_key[key] = Candidate(text, key, [name])
    return list(by_key.values())


def region_of_example(ex, plan: Optional[HunkPlan] = None) -> Region:
    """The Region of a corpus ``MergeExample``."""
    ours, base, theirs = ex.sides()
    return Region(ours, base, theirs, plan or ex.plan()[0], ex.path, ex.context_before, ex.context_after)


def region_of_plan(plan, index: int, context: int = 10) -> Region:
    """The Region of conflicting line hunk ``index`` of a ``conflicts.MergePlan``."""
    from .conflicts import context_lines_of

    hp = plan.hunk_plans[index]
    h = plan.hunks[index]
    return Region(list(h.ours), list(h.base), list(h.theirs), hp, plan.path,
                  "".join(context_lines_of(plan.hunks, index, -1, context)),
                  "".join(context_lines_of(plan.hunks, index, +1, context)))


def correct(candidate: Candidate, resolution: Optional[str]) -> bool:
    return resolution is not None and candidate.key == squash(resolution)


__all__ = ["GENERATORS", "Candidate", "Region", "candidates", "correct", "region_of_example", "region_of_plan"]

