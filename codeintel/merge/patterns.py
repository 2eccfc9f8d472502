"""MergeBERT's resolution patterns: applying them, and finding which ones reproduce a resolution.

This module owns the label vocabulary of the merge classifier. The same functions serve lines
(the corpus's line-level labels) and tokens (one pattern per token-level conflict):

* ``A`` ours, ``B`` theirs, ``O`` the base, ``AB``/``BA`` both sides in either order;
* ``REM-BASE-A``/``-B``: that side without its elements aligned with the base (the matching
  blocks of ``difflib.SequenceMatcher(None, base, side, autojunk=False)``), i.e. what the side
  added; ``REM-BASE-AB``/``-BA``: both, in either order.

``matching_patterns`` compares ignoring all whitespace, as MergeBERT and the corpus do; an
empty list means no pattern reproduces the resolution (the classifier's ``OTHER``).
``line_label`` adds the corpus's names for what no pattern explains: ``EMPTY``,
``INTERLEAVE`` (a selection or re-ordering of existing lines) and ``NEWCODE``.
"""
from __future__ import annotations

import difflib
from typing import Sequence, Union

PATTERNS = ("A", "B", "O", "AB", "BA", "REM-BASE-A", "REM-BASE-B", "REM-BASE-AB", "REM-BASE-BA")
UNRESOLVABLE = "OTHER"
EXTRA_LABELS = ("NEWCODE", "INTERLEAVE", "EMPTY")


def rem_base(side: Sequence[str], base: Sequence[str]) -> list[str]:
    """``side`` without the elements difflib aligns with ``base``."""
    if not base or not side:
        return list(side)
    matcher = difflib.SequenceMatcher(None, list(base), list(side), autojunk=False)
    keep = [True] * len(side)
    for _a, b, size in matcher.get_matching_blocks():
        for j in range(b, b + size):
            keep[j] = False
    return [x for x, k in zip(side, keep) if k]


def apply_pattern(pattern: str, ours: Sequence[str], base: Sequence[str], theirs: Sequence[str]) -> list[str]:
    """The elements (lines or tokens) that ``pattern`` makes of one conflict's three sides."""
    if pattern == "A":
        return list(ours)
    if pattern == "B":
        return list(theirs)
    if pattern == "O":
        return list(base)
    if pattern == "AB":
        return list(ours) + list(theirs)
    if pattern == "BA":
        return list(theirs) + list(ours)
    if pattern == "REM-BASE-A":
        return rem_base(ours, base)
    if pattern == "REM-BASE-B":
        return rem_base(theirs, base)
    if pattern == "REM-BASE-AB":
        return rem_base(ours, base) + rem_base(theirs, base)
    if pattern == "REM-BASE-BA":
        return rem_base(theirs, base) + rem_base(ours, base)
    raise ValueError(f"unknown pattern {pattern!r}; expected one of {PATTERNS}")


def squash(text: Union[str, Sequence[str]]) -> str:
    """Text with all whitespace removed (the comparison key of every label)."""
    if not isinstance(text, str):
        text = "".join(text)
    return "".join(text.split())


def matching_patterns(resolution: Union[str, Sequence[str]], ours: Sequence[str], base: Sequence[str],
                      theirs: Sequence[str]) -> list[str]:
    """Every pattern whose result equals ``resolution`` ignoring whitespace, in PATTERNS order."""
    want = squash(resolution)
    return [p for p in PATTERNS if squash(apply_pattern(p, ours, base, theirs)) == want]


def line_label(resolution: str, ours: Sequence[str], base: Sequence[str], theirs: Sequence[str]) -> str:
    """The corpus's line-level label: the first matching pattern, else EMPTY / INTERLEAVE / NEWCODE."""
    matches = matching_patterns(resolution, ours, base, theirs)
    if matches:
        return matches[0]
    if not resolution.strip():
        return "EMPTY"
    known = {line.strip() for side in (ours, base, theirs) for line in side}
    lines = [line.strip() for line in resolution.splitlines() if line.strip()]
    return "INTERLEAVE" if all(line in known for line in lines) else "NEWCODE"
