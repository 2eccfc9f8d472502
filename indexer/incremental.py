"""Incremental parsing of an editor buffer: one tree-sitter tree kept per open document.

An edit (a byte range replaced by new bytes) is applied to the old tree with ``Tree.edit``
and the new text is parsed against it, so a one-line change to a large file reparses only
what it touched. ``extract`` (the single-file API) then runs its queries over the new tree.
"""
from __future__ import annotations

from typing import Optional

import tree_sitter as ts

from .languages.spec import LanguageSpec


def _point(data: bytes, offset: int) -> tuple[int, int]:
    """(row, byte column) of ``offset`` in ``data``, both 0-based (tree-sitter's points)."""
    row = data.count(b"\n", 0, offset)
    line_start = data.rfind(b"\n", 0, offset) + 1
    return row, offset - line_start


class BufferTree:
    """The parse tree of one buffer, kept up to date edit by edit."""

    def __init__(self, spec: LanguageSpec, data: bytes):
        self.spec = spec
        self._parser = spec.parser()
        self.data = data
        self.tree: ts.Tree = self._parser.parse(data)
        self._edited = False

    def edit(self, start: int, old_end: int, new_text: bytes) -> None:
        """Replace ``data[start:old_end]`` by ``new_text`` (byte offsets into the current data).
        The reparse waits for ``current()``, so a burst of edits is parsed once."""
        old = self.data
        start_point, old_end_point = _point(old, start), _point(old, old_end)
        new = old[:start] + new_text + old[old_end:]
        new_end = start + len(new_text)
        self.tree.edit(start_byte=start, old_end_byte=old_end, new_end_byte=new_end,
                       start_point=start_point, old_end_point=old_end_point,
                       new_end_point=_point(new, new_end))
        self.data = new
        self._edited = True

    def replace(self, data: bytes) -> None:
        """A whole new text (a full-document sync): parsed from scratch."""
        self.data = data
        self.tree = self._parser.parse(data)
        self._edited = False

    def current(self, expected: Optional[bytes] = None) -> ts.Tree:
        """The tree of the current data (reparsed incrementally after edits). With ``expected``
        (the text the caller believes the buffer has) a mismatch means an edit was missed:
        the text is then parsed from scratch."""
        if expected is not None and expected != self.data:
            self.replace(expected)
        if self._edited:
            self.tree = self._parser.parse(self.data, self.tree)
            self._edited = False
        return self.tree
