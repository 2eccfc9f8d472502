"""The store's queries for code generation from requirements (sketch): the indexed functions
that carry a docstring, with their spans, signatures and docstrings. Mixed into ``Store``."""
from __future__ import annotations

from typing import Iterator, Optional

_COLS = ("path", "name", "qualname", "kind", "signature", "doc", "start_byte", "end_byte", "start_line",
         "end_line")


class FunctionQueries:
    conn = None  # provided by Store

    def documented_functions(self, language: Optional[str] = "python",
                             kinds: tuple[str, ...] = ("function", "method")) -> Iterator[dict]:
        """Every function (or method) with a non-empty docstring, in path and source order:
        path, name, qualname, kind, signature, doc, start/end byte and line."""
        marks = ",".join("?" * len(kinds))
        sql = (f"SELECT f.path, s.name, s.qualname, s.kind, s.signature, s.doc, s.start_byte, s.end_byte,"
               f" s.start_line, s.end_line FROM symbols s JOIN files f ON f.id = s.file_id"
               f" WHERE s.kind IN ({marks}) AND s.doc IS NOT NULL AND s.doc != ''")
        args: list = list(kinds)
        if language:
            sql += " AND f.language = ?"
            args.append(language)
        for row in self.conn.execute(sql + " ORDER BY f.path, s.start_byte", args):
            yield dict(zip(_COLS, row))

    def function_at(self, path: str, line: int) -> Optional[dict]:
        """The innermost function or method of ``path`` whose lines include ``line`` (1-based)."""
        row = self.conn.execute(
            "SELECT f.path, s.name, s.qualname, s.kind, s.signature, s.doc, s.start_byte, s.end_byte,"
            " s.start_line, s.end_line FROM symbols s JOIN files f ON f.id = s.file_id"
            " WHERE f.path = ? AND s.kind IN ('function', 'method') AND s.start_line <= ? AND s.end_line >= ?"
            " ORDER BY s.start_line DESC, s.end_line LIMIT 1", (path, line, line)).fetchone()
        return dict(zip(_COLS, row)) if row else None
