"""Reading files that already contain conflict markers (what a plain ``git merge`` leaves).

This module owns the parser: ``parse_conflicts(text)`` cuts a file into clean segments and conflict
segments (ours, optional base, theirs, the labels, and the exact original text so that a conflict
left alone is written back byte for byte: ``"".join(s.text for s in segments) == text``).

Recognised: git's ``merge``, ``diff3`` and ``zdiff3`` styles with any marker size. A conflict is

    <<<<<<< label           exactly N '<', then a space or the end of the line
    ...ours...
    ||||||| label           (diff3/zdiff3 only) exactly N '|'
    ...base...
    =======                 exactly N '=', nothing else but the line ending
    ...theirs...
    >>>>>>> label           exactly N '>', then a space or the end of the line

N is autodetected (``marker_size=None``) as the length of the first ``<`` run that opens a
complete conflict, so a decorative ``<<<<<<<<<<<<`` line or an RST ``=======`` underline outside a
conflict is never taken for a marker, and the longer markers of a nested (recursive) merge stay
content. Marker lines may end in CRLF. A start marker that is not followed by a complete conflict
is plain text.

Ambiguity that no parser can settle: a side that itself contains a bare separator line of the same
size. git's layout is used where it decides (the base marker precedes the separator), otherwise the
first separator is taken; either way the segment is flagged ``ambiguous``; writers avoid the
problem with ``safe_marker_size`` (git's ``conflict-marker-size`` attribute does the same).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from .diff3 import split_lines

_START_RUN = re.compile(r"(<{7,})(?: |\r?\n|$)")


@dataclass
class Segment:
    """A clean stretch (``conflict`` False: only ``text``) or one conflict."""
    text: str                                  # the original text of the segment, markers included
    conflict: bool = False
    ours: list[str] = field(default_factory=list)
    base: Optional[list[str]] = None           # None in the merge style
    theirs: list[str] = field(default_factory=list)
    labels: tuple = (None, None, None)         # text after the <<<, ||| and >>> markers (None: bare)
    marker_size: int = 7
    ambiguous: bool = False                    # a side may contain a separator-like line

    @property
    def style(self) -> Optional[str]:
        if not self.conflict:
            return None
        return "merge" if self.base is None else "diff3"


def _marker(line: str, char: str, size: int, label_ok: bool = True):
    """(True, label) if ``line`` is exactly ``size`` ``char`` s then a space+label or the line end."""
    if not line.startswith(char * size):
        return False, None
    rest = line[size:]
    body = rest[:-2] if rest.endswith("\r\n") else rest[:-1] if rest.endswith("\n") else rest
    if body == "":
        return True, None
    if label_ok and body.startswith(" "):
        return True, body[1:]
    return False, None


def _try_conflict(lines: list[str], i: int, size: int) -> Optional[tuple[Segment, int]]:
    """The conflict opening at ``lines[i]`` with markers of ``size``, and the index after it.

    git's layout decides between candidates: the base marker comes before the separator (so a
    separator-like line followed by a base marker was ours' content), and the conflict ends at the
    first end marker after the separator. A second separator-like line makes it ``ambiguous``."""
    ok, ours_label = _marker(lines[i], "<", size)
    if not ok:
        return None
    base_at = sep_at = None
    base_label = None
    ambiguous = False
    for j in range(i + 1, len(lines)):
        line = lines[j]
        if _marker(line, "<", size)[0]:
            return None
        is_base, label = _marker(line, "|", size)
        if is_base and base_at is None:
            if sep_at is not None:          # the earlier '=' line was ours' content
                sep_at, ambiguous = None, True
            base_at, base_label = j, label
            continue
        if _marker(line, "=", size, label_ok=False)[0]:
            if sep_at is None:
                sep_at = j
            else:
                ambiguous = True
            continue
        is_end, theirs_label = _marker(line, ">", size)
        if is_end and sep_at is not None:
            ours_end = base_at if base_at is not None else sep_at
            seg = Segment("".join(lines[i:j + 1]), True, lines[i + 1:ours_end],
                          lines[base_at + 1:sep_at] if base_at is not None else None,
                          lines[sep_at + 1:j], (ours_label, base_label, theirs_label), size, ambiguous)
            return seg, j + 1
    return None


def detect_marker_size(text: str) -> Optional[int]:
    """The size of the first ``<`` run that opens a complete conflict, or None."""
    lines = split_lines(text)
    for i, line in enumerate(lines):
        m = _START_RUN.match(line)
        if m and _try_conflict(lines, i, len(m.group(1))) is not None:
            return len(m.group(1))
    return None


def parse_conflicts(text: str, marker_size: Optional[int] = None) -> list[Segment]:
    """Clean and conflict segments of ``text`` in order (adjacent clean lines form one segment)."""
    if marker_size is None:
        marker_size = detect_marker_size(text)
    lines = split_lines(text)
    segments: list[Segment] = []
    clean: list[str] = []
    i = 0
    while i < len(lines):
        found = _try_conflict(lines, i, marker_size) if marker_size else None
        if found is None:
            clean.append(lines[i])
            i += 1
            continue
        if clean:
            segments.append(Segment("".join(clean)))
            clean = []
        segments.append(found[0])
        i = found[1]
    if clean:
        segments.append(Segment("".join(clean)))
    return segments


def has_markers(text: str, marker_size: Optional[int] = None) -> bool:
    """Whether ``text`` contains at least one complete conflict."""
    if marker_size is None:
        return detect_marker_size(text) is not None
    return any(s.conflict for s in parse_conflicts(text, marker_size))


def safe_marker_size(texts: Iterable[str], minimum: int = 7) -> int:
    """The smallest marker size >= ``minimum`` such that no line of ``texts`` starts with that
    many ``<``, ``|``, ``=`` or ``>`` (so the output parses back unambiguously)."""
    longest = 0
    for text in texts:
        for m in re.finditer(r"^(<+|\|+|=+|>+)", text, re.M):
            longest = max(longest, len(m.group(1)))
    return max(minimum, longest + 1) if longest >= minimum else minimum
