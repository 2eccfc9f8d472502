"""The store's queries for clone detection: the archive of past submissions (schema 4:
clone_submissions, clone_documents, clone_fingerprints) and the functions of the indexed files.
Mixed into ``Store``."""
from __future__ import annotations

import time
from typing import Iterable, Iterator

_SIGN = 1 << 63


def _signed(h: int) -> int:
    """SQLite integers are signed 64-bit: store a uint64 hash as its two's complement."""
    return h - (1 << 64) if h >= _SIGN else h


class CloneQueries:
    conn = None  # provided by Store

    def archive_names(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT name FROM clone_submissions")}

    def archive_add(self, submissions: Iterable[tuple[str, list[tuple[str, str | None, bytes, Iterable[int]]]]],
                    replace: bool = True) -> int:
        """Add (name, [(path, language, content, fingerprint hashes)]) submissions; a name
        already kept is replaced when ``replace``, else left as it is. Returns how many were added."""
        added = 0
        now = time.time()
        with self.transaction() as c:
            for name, docs in submissions:
                old = c.execute("SELECT id FROM clone_submissions WHERE name=?", (name,)).fetchone()
                if old and not replace:
                    continue
                if old:
                    c.execute("DELETE FROM clone_submissions WHERE id=?", (old[0],))
                sid = c.execute("INSERT INTO clone_submissions(name, added_at) VALUES (?, ?)", (name, now)).lastrowid
                for path, language, content, hashes in docs:
                    did = c.execute("INSERT INTO clone_documents(submission_id, path, language, content)"
                                    " VALUES (?,?,?,?)", (sid, path, language, content)).lastrowid
                    c.executemany("INSERT INTO clone_fingerprints(document_id, hash) VALUES (?, ?)",
                                  ((did, _signed(int(h))) for h in set(hashes)))
                added += 1
        return added

    def archive_candidates(self, hashes: Iterable[int], exclude: Iterable[str] = ()) -> list[str]:
        """Names of kept submissions that share at least one of ``hashes``."""
        c = self.conn
        c.execute("CREATE TEMP TABLE IF NOT EXISTS probe_hashes (hash INTEGER PRIMARY KEY)")
        c.execute("DELETE FROM probe_hashes")
        c.executemany("INSERT OR IGNORE INTO probe_hashes(hash) VALUES (?)", ((_signed(int(h)),) for h in hashes))
        rows = c.execute("SELECT DISTINCT s.name FROM probe_hashes p JOIN clone_fingerprints f ON f.hash = p.hash"
                         " JOIN clone_documents d ON d.id = f.document_id"
                         " JOIN clone_submissions s ON s.id = d.submission_id ORDER BY s.name").fetchall()
        c.execute("DELETE FROM probe_hashes")
        skip = set(exclude)
        return [r[0] for r in rows if r[0] not in skip]

    def archive_documents(self, names: Iterable[str]) -> Iterator[tuple[str, str, str | None, bytes]]:
        """(submission name, path, language, content) of the named kept submissions."""
        for name in names:
            yield from self.conn.execute(
                "SELECT s.name, d.path, d.language, d.content FROM clone_documents d"
                " JOIN clone_submissions s ON s.id = d.submission_id WHERE s.name=? ORDER BY d.id", (name,))

    def functions_version(self, kinds: tuple[str, ...] = ("function", "method")) -> tuple:
        """(number of functions, number of files, latest file write): changes whenever the
        indexed functions may have, so a cache built from ``function_spans`` knows it is stale."""
        marks = ",".join("?" * len(kinds))
        (functions,) = self.conn.execute(f"SELECT count(*) FROM symbols WHERE kind IN ({marks})", kinds).fetchone()
        files, latest = self.conn.execute("SELECT count(*), max(indexed_at) FROM files").fetchone()
        return functions, files, latest

    def function_spans(self, kinds: tuple[str, ...] = ("function", "method")) -> Iterator[tuple]:
        """(path, language, content, [(qualname, kind, start_byte, end_byte, start_line)]) per
        indexed file that has functions, in path order."""
        marks = ",".join("?" * len(kinds))
        current, spans = None, []
        for row in self.conn.execute(
                f"SELECT f.id, f.path, f.language, s.qualname, s.kind, s.start_byte, s.end_byte, s.start_line"
                f" FROM symbols s JOIN files f ON f.id = s.file_id WHERE s.kind IN ({marks})"
                f" ORDER BY f.path, s.start_byte", kinds):
            if current is not None and row[0] != current[0]:
                yield current[1], current[2], self._content(current[0]), spans
                spans = []
            current = row
            spans.append((row[3], row[4], row[5], row[6], row[7]))
        if current is not None:
            yield current[1], current[2], self._content(current[0]), spans

    def _content(self, file_id: int) -> bytes:
        row = self.conn.execute("SELECT content FROM files WHERE id=?", (file_id,)).fetchone()
        return bytes(row[0]) if row and row[0] is not None else b""
