"""Aggregate queries over the store for the report (``codeintel report``): per-language and
per-author totals, hotspots, monthly trends, the merge driver's decisions with what they were
made on, and the indexed files a code-scanning log points at. Mixed into ``Store``; like the
rest of this package it is the only code that names tables.

Times are unix seconds; months are UTC ``YYYY-MM``. History totals count non-merge commits
only: a merge's first-parent diff repeats the changes of the branch it brings in.
"""
from __future__ import annotations

from typing import Iterator, Optional

from .schema import MERGE_DECISION_COLUMNS


class SummaryQueries:
    conn = None  # set by Store

    # ------------------------------------------------------------------ index
    def language_totals(self) -> list[dict]:
        """Per language: indexed files, bytes, lines and symbols (largest first)."""
        q = self.conn.execute
        symbols = dict(q("SELECT f.language, count(*) FROM symbols s JOIN files f ON f.id = s.file_id"
                         " GROUP BY f.language").fetchall())
        rows = q("SELECT language, count(*), coalesce(sum(size), 0), coalesce(sum(line_count), 0),"
                 " sum(status = 'partial') FROM files WHERE language IS NOT NULL AND status != 'skipped'"
                 " GROUP BY language ORDER BY 3 DESC, 1").fetchall()
        return [{"language": lang, "files": n, "bytes": size, "lines": lines, "partial": partial,
                 "symbols": symbols.get(lang, 0)} for lang, n, size, lines, partial in rows]

    def symbol_kind_totals(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT kind, count(*) FROM symbols GROUP BY kind ORDER BY 2 DESC, 1"))

    def file_totals(self) -> dict:
        """Files by status, and the bytes of those indexed."""
        q = self.conn.execute
        by_status = dict(q("SELECT status, count(*) FROM files GROUP BY status").fetchall())
        indexed_bytes = q("SELECT coalesce(sum(size), 0) FROM files WHERE status != 'skipped'").fetchone()[0]
        return {"by_status": by_status, "indexed_bytes": indexed_bytes}

    def file_problems(self) -> list[dict]:
        """Every file skipped or indexed only in part, with its reason and parse-error facts."""
        cols = ("path", "status", "reason", "language", "size", "error_count", "first_error_line")
        return [dict(zip(cols, row)) for row in self.conn.execute(
            f"SELECT {', '.join(cols)} FROM files WHERE status IN ('skipped', 'partial') ORDER BY path")]

    def files_containing(self, needle: bytes) -> Iterator[tuple[str, bytes]]:
        """(path, content) of the indexed files whose content contains ``needle``."""
        yield from self.conn.execute(
            "SELECT path, content FROM files WHERE content IS NOT NULL AND instr(content, ?) > 0 ORDER BY path",
            (needle,))

    # ------------------------------------------------------------------ history
    def modified_function_count(self) -> int:
        """How many function before/after pairs (modified, both texts known) the history holds."""
        return self.conn.execute("SELECT count(*) FROM function_changes WHERE change = 'modified'"
                                 " AND before IS NOT NULL AND after IS NOT NULL").fetchone()[0]

    def history_totals(self) -> dict:
        row = self.conn.execute(
            "SELECT count(*), coalesce(sum(is_merge), 0), min(committed_at), max(committed_at),"
            " count(DISTINCT lower(coalesce(author_email, author_name))),"
            " coalesce(sum(CASE WHEN is_merge THEN 0 ELSE insertions END), 0),"
            " coalesce(sum(CASE WHEN is_merge THEN 0 ELSE deletions END), 0) FROM commits").fetchone()
        keys = ("commits", "merges", "first_at", "last_at", "authors", "insertions", "deletions")
        return dict(zip(keys, row))

    def author_churn(self, limit: Optional[int] = None) -> list[dict]:
        """Per author (by e-mail, else name; the most recent name shown): commits, merges, and
        the files and lines changed by their non-merge commits, most commits first."""
        # SQLite takes the bare columns author_name / author_email from the row of max(committed_at)
        sql = ("SELECT lower(coalesce(author_email, author_name, '')) AS who, author_name, author_email,"
               " count(*), sum(is_merge),"
               " coalesce(sum(CASE WHEN is_merge THEN 0 ELSE files_changed END), 0),"
               " coalesce(sum(CASE WHEN is_merge THEN 0 ELSE insertions END), 0),"
               " coalesce(sum(CASE WHEN is_merge THEN 0 ELSE deletions END), 0),"
               " min(committed_at), max(committed_at)"
               " FROM commits GROUP BY who ORDER BY 4 DESC, 7 + 8 DESC, 1")
        if limit:
            sql += f" LIMIT {int(limit)}"
        keys = ("name", "email", "commits", "merges", "files_changed", "insertions", "deletions", "first_at",
                "last_at")
        return [dict(zip(keys, row[1:])) for row in self.conn.execute(sql)]

    def change_hotspots(self, limit: int = 10) -> list[dict]:
        """The paths changed by the most non-merge commits (``exists``: still in the index).
        One sequential pass over commit_files; the few winners get their dates afterwards."""
        rows = self.conn.execute(
            "SELECT path, count(*) FROM commit_files NOT INDEXED"
            " WHERE commit_sha NOT IN (SELECT sha FROM commits WHERE is_merge)"
            " GROUP BY path ORDER BY 2 DESC, 1 LIMIT ?", (limit,)).fetchall()
        out = []
        for path, n in rows:
            last, exists = self.conn.execute(
                "SELECT max(c.committed_at), EXISTS(SELECT 1 FROM files WHERE path = ?) FROM commit_files cf"
                " JOIN commits c ON c.sha = cf.commit_sha WHERE cf.path = ? AND NOT c.is_merge", (path, path)).fetchone()
            out.append({"path": path, "commits": n, "last_at": last, "exists": bool(exists)})
        return out

    def conflict_hotspots(self, limit: int = 10) -> list[dict]:
        """The paths that conflicted (git's diff3) in the most mined merges."""
        rows = self.conn.execute(
            "SELECT path, count(DISTINCT merge_sha), sum(conflicts) FROM merge_scenarios WHERE conflicts > 0"
            " GROUP BY path ORDER BY 2 DESC, 3 DESC, 1 LIMIT ?", (limit,)).fetchall()
        return [{"path": p, "merges": m, "conflicts": c} for p, m, c in rows]

    def commits_per_month(self) -> list[tuple[str, int]]:
        """(``YYYY-MM`` in UTC, commits) for each month that has commits, oldest first."""
        return self.conn.execute(
            "SELECT strftime('%Y-%m', committed_at, 'unixepoch') AS month, count(*) FROM commits"
            " WHERE committed_at IS NOT NULL GROUP BY month ORDER BY month").fetchall()

    def merge_scenario_totals(self) -> dict:
        row = self.conn.execute(
            "SELECT count(*), count(DISTINCT merge_sha), coalesce(sum(conflicts > 0), 0),"
            " coalesce(sum(conflicts), 0) FROM merge_scenarios").fetchone()
        return dict(zip(("files", "merges", "conflicting_files", "conflicts"), row))

    # ------------------------------------------------------------------ merge decisions
    def merge_decision_rows(self) -> list[dict]:
        """Every decision of the merge driver / ``codeintel resolve``, oldest first."""
        cols = ("id", *MERGE_DECISION_COLUMNS)
        return [dict(zip(cols, row)) for row in self.conn.execute(
            f"SELECT {', '.join(cols)} FROM merge_decisions ORDER BY at, id")]

    def merge_scenarios_at(self, paths: list[str]) -> list[dict]:
        """The mined merge scenarios of these paths with their texts and the merge's commit time."""
        if not paths:
            return []
        cols = ("merge", "path", "base", "ours", "theirs", "result", "conflicts", "committed_at")
        marks = ", ".join("?" * len(paths))
        return [dict(zip(cols, row)) for row in self.conn.execute(
            "SELECT s.merge_sha, s.path, s.base, s.ours, s.theirs, s.result, s.conflicts, c.committed_at"
            f" FROM merge_scenarios s JOIN commits c ON c.sha = s.merge_sha WHERE s.path IN ({marks})"
            " AND NOT s.binary ORDER BY c.committed_at, s.id", paths)]
