"""MergeBERT's two-level merge of one file: what is left for the classifier, and putting it back.

This module owns the plan of a merge and its assembly:

1. ``plan_merge`` runs the line-level diff3 (by default git's ``--diff3`` hunks, ``level="eager"``,
   so hunk *k* among the conflicts is region *k* of the merge corpus and of
   ``git merge-file --diff3``);
2. inside each conflicting line hunk it runs diff3 again over the tokens of the hunk's three
   sides (``tokens.tokenize``; by default also at the ``eager`` level, which is what the corpus's
   ``token_conflicts`` / ``token_label`` were computed with);
3. a hunk whose token merge is clean gets that merge as its candidate (``MergePlan.token_clean``);
   every token conflict left elsewhere is a ``ConflictInstance`` for the classifier.

``MergePlan.assemble(choices)`` applies a pattern per instance (``patterns.apply_pattern`` on the
token lists) and writes the file: a line hunk is resolved only when every one of its instances got
a pattern; otherwise the whole line hunk is written with conflict markers (all lines of every side).
With the default ``eager`` line level an unresolved hunk is byte-identical to ``git merge-file --diff3``
in the diff3 style; in the merge and zdiff3 styles git would also trim or split that hunk where
ours and theirs agree (``plan_merge(..., line_level="zealous")`` or ``"zdiff3"`` plans on git's
hunks for those styles instead, at the price of hunk indexes that no longer match the corpus).

Instances map back to hunks by ``instance.hunk`` (index into ``MergePlan.hunks``) and
``instance.slot`` (which token conflict of that hunk); ``MergePlan.hunk_plans[hunk].instances``
lists a hunk's instance indexes in order.

``HunkPlan.token_label(resolution)`` computes the corpus's token-level label (``CLEAN``,
``CLEAN_WRONG``, ``P1,P2,...``, ``OTHER``, ``OTHER_TOO_MANY``): the training target per instance.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Mapping, NamedTuple, Optional, Sequence

from .diff3 import DEFAULT_LABELS, Hunk, MergeFileResult, diff3, merge_file, render_conflict, split_lines
from .patterns import PATTERNS, UNRESOLVABLE, apply_pattern, squash
from .tokens import tokenize

Tokenizer = Callable[[str, Optional[str]], list]
CONTEXT_LINES = 10
CONTEXT_TOKENS = 256
MAX_SEARCH_CONFLICTS = 3


@dataclass
class ConflictInstance:
    """One token-level conflict: what the classifier sees and picks a pattern for."""
    hunk: int                    # index of its line hunk in MergePlan.hunks
    index: int                   # index in MergePlan.instances (the key of assemble's choices)
    ours: list[str]
    base: list[str]
    theirs: list[str]
    before: list[str]            # tokens before it: file context lines, then the hunk's tokens
    after: list[str]             # tokens after it: the hunk's tokens, then file context lines
    path: Optional[str] = None
    slot: int = 0                # which token conflict of its hunk (0-based)


@dataclass
class HunkPlan:
    """The token-level merge of one conflicting line hunk."""
    hunk: int
    line_hunk: Hunk
    token_hunks: list[Hunk]
    instances: list[int] = field(default_factory=list)   # indexes into MergePlan.instances
    token_sides: tuple = ()      # (ours, base, theirs) token lists of the whole hunk

    @property
    def clean(self) -> bool:
        return not any(not h.stable for h in self.token_hunks)

    @property
    def candidate(self) -> Optional[str]:
        """The token merge's text when it left no conflict, else None."""
        return self.resolve([]) if self.clean else None

    @property
    def conflicts(self) -> list[Hunk]:
        return [h for h in self.token_hunks if not h.stable]

    def resolve(self, patterns: Sequence[Optional[str]]) -> Optional[str]:
        """The hunk's text with ``patterns[k]`` applied to its k-th token conflict, or None when a
        pattern is missing (None or ``OTHER``)."""
        out: list[str] = []
        k = 0
        for h in self.token_hunks:
            if h.stable:
                out.extend(h.merged)
                continue
            p = patterns[k] if k < len(patterns) else None
            if p is None or p == UNRESOLVABLE:
                return None
            out.extend(apply_pattern(p, h.ours, h.base, h.theirs))
            k += 1
        return "".join(out)

    def token_label(self, resolution: str, max_search: int = MAX_SEARCH_CONFLICTS) -> str:
        """The corpus's ``token_label`` of this hunk for a known resolution (whitespace-insensitive):
        ``CLEAN``/``CLEAN_WRONG`` when no token conflict is left, else the first assignment of
        patterns (one per token conflict, comma-separated; exhaustive up to ``max_search``
        conflicts, beyond that one pattern for all), ``OTHER`` or ``OTHER_TOO_MANY``."""
        want = squash(resolution)
        n = len(self.conflicts)
        if n == 0:
            return "CLEAN" if squash(self.resolve([])) == want else "CLEAN_WRONG"
        # each conflict's text under each pattern, squashed once (the search tries up to 9^3
        # combinations; REM-BASE alignments are the costly part)
        options = [{p: squash(apply_pattern(p, h.ours, h.base, h.theirs)) for p in PATTERNS}
                   for h in self.conflicts]
        pieces = [squash(h.merged) if h.stable else None for h in self.token_hunks]
        combos = (itertools.product(PATTERNS, repeat=n) if n <= max_search
                  else ((p,) * n for p in PATTERNS))
        for combo in combos:
            chosen = iter(option[p] for option, p in zip(options, combo))
            text = "".join(piece if piece is not None else next(chosen) for piece in pieces)
            if text == want:
                return ",".join(combo)
        return "OTHER" if n <= max_search else "OTHER_TOO_MANY"


class AssembleResult(NamedTuple):
    text: str
    unresolved_hunks: int


@dataclass
class MergePlan:
    path: Optional[str]
    hunks: list[Hunk]                               # line-level diff3 hunks, stable and not
    hunk_plans: dict[int, HunkPlan]                 # per conflicting line hunk
    instances: list[ConflictInstance]
    token_clean: list[int]                          # hunk indexes the token merge resolves alone

    @property
    def conflict_hunks(self) -> list[int]:
        return [i for i, h in enumerate(self.hunks) if not h.stable]

    def hunk_text(self, index: int, choices: Mapping[int, Optional[str]],
                  use_token_merge: bool = True) -> Optional[str]:
        """The resolved text of conflicting line hunk ``index``, or None if it stays a conflict."""
        hp = self.hunk_plans[index]
        if hp.clean:
            return hp.resolve([]) if use_token_merge else None
        return hp.resolve([choices.get(i) for i in hp.instances])

    def assemble(self, choices: Mapping[int, Optional[str]], style: str = "merge", marker_size: int = 7,
                 labels: Sequence[Optional[str]] = DEFAULT_LABELS,
                 use_token_merge: bool = True, overrides: Optional[Mapping[int, str]] = None) -> AssembleResult:
        """The merged file: ``choices`` maps instance index -> pattern (None/``OTHER``/absent =
        leave it); token-clean hunks are taken when ``use_token_merge``; ``overrides`` gives the
        text of whole hunks (by hunk index) decided elsewhere; every hunk not resolved is
        written whole with markers in ``style``."""
        for key, p in choices.items():
            if p is not None and p != UNRESOLVABLE and p not in PATTERNS:
                raise ValueError(f"instance {key}: unknown pattern {p!r}")
        out: list[str] = []
        unresolved = 0
        for i, h in enumerate(self.hunks):
            if h.stable:
                out.extend(h.merged)
                continue
            text = overrides[i] if overrides and i in overrides else self.hunk_text(i, choices, use_token_merge)
            if text is None:
                unresolved += 1
                crlf = h.crlf if h.crlf is not None else False
                out.append(render_conflict(h, style, marker_size, labels, crlf))
            else:
                out.append(text)
        return AssembleResult("".join(out), unresolved)


def context_lines_of(hunks: Sequence[Hunk], index: int, step: int, limit: int) -> list[str]:
    """Up to ``limit`` merged lines of the stable hunk next to ``hunks[index]`` (before: step -1)."""
    j = index + step
    if 0 <= j < len(hunks) and hunks[j].stable:
        lines = hunks[j].merged
        return list(lines[-limit:] if step < 0 else lines[:limit]) if limit else []
    return []


def _window_before(ctx: list, stream: list, end: int, n: int) -> list:
    """The last ``n`` tokens of ``ctx + stream[:end]`` (none when ``n`` is 0)."""
    if not n:
        return []
    near = stream[max(0, end - n):end]
    return (ctx[-(n - len(near)):] + near) if len(near) < n and ctx else near


def _window_after(stream: list, start: int, ctx: list, n: int) -> list:
    """The first ``n`` tokens of ``stream[start:] + ctx`` (none when ``n`` is 0)."""
    if not n:
        return []
    near = stream[start:start + n]
    return (near + ctx[:n - len(near)]) if len(near) < n and ctx else near


def plan_hunk(ours: Sequence[str], base: Sequence[str], theirs: Sequence[str], path: Optional[str] = None,
              before_lines: Sequence[str] = (), after_lines: Sequence[str] = (), hunk: int = 0,
              first_index: int = 0, tokenizer: Optional[Tokenizer] = None, token_level: str = "eager",
              context_tokens: int = CONTEXT_TOKENS) -> tuple[HunkPlan, list[ConflictInstance]]:
    """Token-level merge of one conflicting line hunk (sides as lists of lines), with its instances
    numbered from ``first_index``. Usable on a corpus region directly."""
    tok = tokenizer or tokenize
    sides = tuple(tok("".join(s), path) for s in (ours, base, theirs))
    token_hunks = diff3(sides[1], sides[0], sides[2], token_level)
    line_hunk = Hunk(False, list(ours), list(base), list(theirs))
    plan = HunkPlan(hunk, line_hunk, token_hunks, [], sides)
    ctx_before = tok("".join(before_lines), path) if before_lines else []
    ctx_after = tok("".join(after_lines), path) if after_lines else []
    # the hunk as one token stream: stable tokens, other conflicts by their ours side; piece k
    # is stream[starts[k]:starts[k + 1]] (each instance's context is a window of it, not a copy)
    stream: list = []
    starts = []
    for h in token_hunks:
        starts.append(len(stream))
        stream.extend(h.merged if h.stable else h.ours)
    starts.append(len(stream))
    instances = []
    slot = 0
    for k, h in enumerate(token_hunks):
        if h.stable:
            continue
        inst = ConflictInstance(hunk=hunk, index=first_index + len(instances), ours=list(h.ours),
                                base=list(h.base), theirs=list(h.theirs),
                                before=_window_before(ctx_before, stream, starts[k], context_tokens),
                                after=_window_after(stream, starts[k + 1], ctx_after, context_tokens),
                                path=path, slot=slot)
        instances.append(inst)
        plan.instances.append(inst.index)
        slot += 1
    return plan, instances


def plan_merge(base_text: str, ours_text: str, theirs_text: str, path: Optional[str] = None, *,
               line_level: str = "eager", token_level: str = "eager",
               tokenizer: Optional[Tokenizer] = None, context_lines: int = CONTEXT_LINES,
               context_tokens: int = CONTEXT_TOKENS, budget=None) -> MergePlan:
    """Line diff3, then token diff3 inside every conflicting line hunk (see the module doc).
    ``budget`` (a ``limits.Budget``) is asked before each hunk and told its token conflicts: it
    raises ``limits.MergeTooCostly`` to stop the plan."""
    hunks = diff3(split_lines(base_text), split_lines(ours_text), split_lines(theirs_text), line_level)
    plans: dict[int, HunkPlan] = {}
    instances: list[ConflictInstance] = []
    token_clean: list[int] = []
    for i, h in enumerate(hunks):
        if h.stable:
            continue
        if budget is not None:
            budget.region(h.ours, h.base, h.theirs)
        hp, inst = plan_hunk(h.ours, h.base, h.theirs, path,
                             context_lines_of(hunks, i, -1, context_lines),
                             context_lines_of(hunks, i, +1, context_lines),
                             hunk=i, first_index=len(instances), tokenizer=tokenizer,
                             token_level=token_level, context_tokens=context_tokens)
        hp.line_hunk = h
        plans[i] = hp
        instances.extend(inst)
        if budget is not None:
            budget.count(len(inst))
        if hp.clean:
            token_clean.append(i)
    return MergePlan(path, hunks, plans, instances, token_clean)


def candidate_for_hunk(ours: Sequence[str], base: Sequence[str], theirs: Sequence[str],
                       path: Optional[str] = None, tokenizer: Optional[Tokenizer] = None,
                       token_level: str = "eager") -> Optional[str]:
    """The token-level diff3 of one line hunk when it is clean, else None."""
    hp, _ = plan_hunk(ours, base, theirs, path, tokenizer=tokenizer, token_level=token_level,
                      context_tokens=0)
    return hp.candidate


def line_level_result(base: str, ours: str, theirs: str, style: str = "merge", marker_size: int = 7,
                      labels: Sequence[Optional[str]] = DEFAULT_LABELS) -> MergeFileResult:
    """What ``git merge-file -p`` writes for this style, and its conflict count (the baseline a
    learned merge is compared with)."""
    return merge_file(base, ours, theirs, style, marker_size, labels)


__all__ = ["AssembleResult", "ConflictInstance", "HunkPlan", "MergePlan", "candidate_for_hunk",
           "line_level_result", "plan_hunk", "plan_merge"]
