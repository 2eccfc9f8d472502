"""Where a completion is asked for: the buffer split at the cursor.

``Cursor.at(rel_path, text, line, character)`` takes the editor's view (1-based line,
0-based column in code points, the whole possibly unsaved buffer); ``Cursor.from_parts``
takes an evaluation case (the text before the hole and the text after the rest of the line).
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import cached_property
from typing import Iterator


class BadPosition(ValueError):
    """A cursor outside the buffer."""


@dataclass(frozen=True)
class Cursor:
    rel_path: str
    prefix: str          # everything before the cursor
    rest: str            # what follows the cursor on its line (replaced by a completion of the rest of the line)
    suffix: str          # from the end of the cursor's line (its newline) to the end of the buffer

    @classmethod
    def at(cls, rel_path: str, text: str, line: int, character: int) -> "Cursor":
        lines = text.split("\n")
        if not 1 <= line <= len(lines):
            raise BadPosition(f"line {line} is outside {rel_path} (it has {len(lines)} line(s))")
        current = lines[line - 1].rstrip("\r")
        if not 0 <= character <= len(current):
            raise BadPosition(f"column {character} is outside line {line} of {rel_path} "
                              f"({len(current)} character(s))")
        before = sum(len(x) + 1 for x in lines[:line - 1])
        suffix = text[before + len(lines[line - 1]):]
        return cls(rel_path, text[:before + character], current[character:], suffix)

    @classmethod
    def from_parts(cls, rel_path: str, prefix: str, suffix: str) -> "Cursor":
        return cls(rel_path, prefix, "", suffix)

    @cached_property
    def line_prefix(self) -> str:
        """The cursor's line up to the cursor."""
        return self.prefix[self.prefix.rfind("\n") + 1:]

    @property
    def line_number(self) -> int:
        return self.prefix.count("\n") + 1

    @cached_property
    def prior_lines(self) -> str:
        """The file before the cursor's line."""
        return self.prefix[:self.prefix.rfind("\n") + 1]

    @property
    def buffer(self) -> str:
        return self.prefix + self.rest + self.suffix

    def nearby(self, lines_before: int = 30, lines_after: int = 10) -> str:
        """The text around the cursor that retrieval queries are made of."""
        before = "\n".join(self.prefix.split("\n")[-lines_before:])
        after = "\n".join(self.suffix.split("\n")[:lines_after + 1])
        return before + self.rest + after


@dataclass(frozen=True)
class Cut:
    """A hole: line ``index`` (0-based) of ``lines`` cut at column ``column``; ``start`` is the
    offset of that line in the text."""
    lines: list
    index: int
    column: int
    start: int


def random_cuts(text: str, per_file: int, rng: random.Random) -> Iterator[Cut]:
    """Up to ``per_file`` holes in ``text``, in line order: seeded random non-blank lines, each cut
    at a random column between its indentation and its last character."""
    lines = text.split("\n")
    starts, at = [], 0
    for line in lines:
        starts.append(at)
        at += len(line) + 1
    candidates = [i for i, line in enumerate(lines) if line.strip()]
    for i in sorted(rng.sample(candidates, min(per_file, len(candidates)))):
        line = lines[i].rstrip()
        indent = len(line) - len(line.lstrip())
        yield Cut(lines, i, rng.randrange(indent, len(line)), starts[i])
