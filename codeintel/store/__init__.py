"""The SQLite store (``.codeintel/index.db``): opening, schema versions, writes and queries.

The store is the contract between the indexer and the features. It is opened in WAL mode
with a busy timeout, so an indexing run and readers (the language server, the CLI) work at
the same time; every write is one short ``BEGIN IMMEDIATE`` transaction, so an interrupted
run leaves a consistent database that the next run completes.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from array import array
from bisect import bisect_left, bisect_right
import sqlite3
import time
from dataclasses import dataclass
from itertools import accumulate
from pathlib import Path
from typing import Iterable, Iterator, Optional

from .schema import MERGE_DECISION_COLUMNS, MIGRATIONS, SCHEMA_VERSION
from .clones import CloneQueries
from .database import database
from .errors import StoreError  # noqa: F401 - re-exported: codeintel.store.StoreError
from .files import (DB_NAME, STORE_DIR, UnsafeStore, check_db_path, check_store_dir,  # noqa: F401 - re-exported
                    write_text_atomic)
from .embeddings import EmbeddingQueries
from .functions import FunctionQueries
from .summaries import SummaryQueries

BUSY_TIMEOUT_MS = 60_000


def store_path(root: os.PathLike | str) -> Path:
    return Path(root) / STORE_DIR / DB_NAME


def find_store(start: os.PathLike | str) -> Optional[Path]:
    """The nearest ``.codeintel/index.db`` at or above ``start``; ``UnsafeStore`` when that one
    is reached through a symbolic link (``check_store_dir``)."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        candidate = store_path(folder)
        if candidate.is_file():
            check_store_dir(folder)
            return candidate
    return None


@dataclass
class FileRecord:
    """One file's row and, for indexed files, the facts the indexer extracted."""
    path: str
    status: str                      # ok | partial | skipped
    reason: Optional[str] = None
    language: Optional[str] = None
    size: Optional[int] = None
    mtime_ns: Optional[int] = None
    blob: Optional[str] = None
    content: Optional[bytes] = None
    facts: object = None             # indexer.extract.FileFacts, or PreparedFacts once prepared


_WORD = re.compile(r"\w+")
# a word with a camelCase boundary, in a space-separated list of words (tried at word starts
# only, so a long word without one costs one scan), and where its pieces meet
_CAMEL_WORD = re.compile(r"(?<![^ ])[^ ]*(?:[a-z0-9][A-Z]|[A-Z][A-Z][a-z])[^ ]*+")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class SearchTerms:
    """What the full-text index adds to a chunk's text: the file's camelCase identifiers
    that occur in it, cut at their boundaries (``parseHTTPFile`` -> parse HTTP File; the
    tokenizer already splits at underscores).

    The index reads a chunk's text itself, through the ``chunk_terms`` view (a span of the
    file's content, or a class's own text), and FTS5's tokenizer splits it into words in C,
    several times faster than splitting it here; BM25 then sees each word as often as the
    chunk has it. Search never asks for phrases, so these pieces may follow the text.

    Built once per file from what extraction found: its identifiers (references and
    definition names) with their byte offsets. A span of the content (``of_span``) looks up
    which camelCase identifiers start inside it; any other text (``of``: a name, a class
    without its methods' bodies) is split into words and intersected with them. Both give
    None when there is nothing to add."""

    def __init__(self, identifiers: dict[str, list[int]]):
        self.camel = {w: _CAMEL_BOUNDARY.sub(" ", w) for w in _CAMEL_WORD.findall(" ".join(identifiers))}
        found = sorted((at, word) for word in self.camel for at in identifiers[word])
        self._offsets = [at for at, _ in found]
        self._words = [word for _, word in found]

    def of_span(self, start: int, end: int) -> Optional[str]:
        """The pieces of ``content[start:end]``."""
        if not self._offsets:
            return None
        return self._pieces(set(self._words[bisect_left(self._offsets, start):bisect_left(self._offsets, end)]))

    def of(self, text: str) -> Optional[str]:
        """The pieces of any other text."""
        if not self.camel:
            return None
        return self._pieces(self.camel.keys() & set(_WORD.findall(text)))

    def _pieces(self, camel_words) -> Optional[str]:
        return " ".join(self.camel[w] for w in sorted(camel_words)) if camel_words else None


def pack_offsets(offsets: list[int]) -> bytes:
    """Reference positions as little-endian uint32 byte offsets (lines and columns are
    worked out from the file's content when read: cheap for the few rows a query reads)."""
    return array("I", offsets).tobytes() if sys.byteorder == "little" else _swapped(offsets)


def _swapped(offsets: list[int]) -> bytes:
    arr = array("I", offsets)
    arr.byteswap()
    return arr.tobytes()


def unpack_offsets(blob: bytes) -> list[int]:
    arr = array("I")
    arr.frombytes(blob)
    if sys.byteorder != "little":
        arr.byteswap()
    return arr.tolist()


def line_starts(content: bytes) -> list[int]:
    """Byte offset where each line starts (line 1 at index 0)."""
    lines = content.split(b"\n")
    lines.pop()
    return list(accumulate(map((1).__add__, map(len, lines)), initial=0))


def _own_text(content: bytes, chunk, functions: list, function_starts: list[int]) -> bytes:
    """A chunk's text without the function chunks nested in it (a class's methods are
    chunks of their own; the class keeps their names, not their bodies). ``functions`` are
    the file's function chunks sorted by start byte, ``function_starts`` their starts."""
    pieces, at = [], chunk.start_byte
    for i in range(bisect_left(function_starts, chunk.start_byte), len(functions)):
        inner = functions[i]
        if inner.start_byte >= chunk.end_byte:
            break
        if inner.start_byte < at or inner.end_byte > chunk.end_byte:
            continue  # inside a function already left out, or not nested in this chunk
        pieces.append(content[at:inner.start_byte])
        pieces.append(inner.name.rsplit(".", 1)[-1].encode())
        at = inner.end_byte
    pieces.append(content[at:chunk.end_byte])
    return b" ".join(pieces)


@dataclass
class PreparedFacts:
    """A file's facts as plain rows (cheap to send between processes); indexes such as a
    symbol's parent or a chunk's symbol are positions in ``symbols``."""
    error_count: int
    first_error_line: Optional[int]
    line_count: int
    symbols: list[tuple]   # name, qualname, kind, parent, start_byte, end_byte, start_line, start_col,
    #                        end_line, end_col, name_line, name_col, signature, doc
    imports: list[tuple]   # module, name, alias, line
    refs: list[tuple]      # name, count, packed byte offsets
    chunks: list[tuple]    # symbol, kind, name, start_line, end_line, start_byte, end_byte,
    #                        name_pieces, own_text, body_pieces (see SearchTerms and the chunk_terms view)


def prepare_record(record: "FileRecord") -> "FileRecord":
    """Turn the facts into the rows the store writes (packed reference positions, what the
    search index adds to each chunk's text), where the facts are made: a worker process does this work and
    sends plain tuples, and the single writer only inserts."""
    facts = record.facts
    if facts is None or isinstance(facts, PreparedFacts):
        return record
    content = record.content or b""
    functions = sorted((ch for ch in facts.chunks if ch.kind in ("function", "method")),
                       key=lambda ch: ch.start_byte)
    function_starts = [f.start_byte for f in functions]
    identifiers = dict(facts.refs)
    starts = facts.line_starts or line_starts(content)
    for sym in facts.symbols:   # definition names (not references): where each is written
        identifiers[sym.name] = [*identifiers.get(sym.name, ()), starts[sym.name_line - 1] + sym.name_col]
    terms = SearchTerms(identifiers)
    chunks = []
    for ch in facts.chunks:
        if ch.kind in ("function", "method", "window"):
            own_text, pieces = None, terms.of_span(ch.start_byte, ch.end_byte)
        else:
            own_text = _own_text(content, ch, functions, function_starts).decode("utf-8", "replace")
            pieces = terms.of(own_text)
        chunks.append((ch.symbol, ch.kind, ch.name, ch.start_line, ch.end_line, ch.start_byte, ch.end_byte,
                       terms.of(ch.name), own_text, pieces))
    record.facts = PreparedFacts(
        facts.error_count, facts.first_error_line, facts.line_count,
        [(s.name, s.qualname, s.kind, s.parent, s.start_byte, s.end_byte, s.start_line, s.start_col,
          s.end_line, s.end_col, s.name_line, s.name_col, s.signature, s.doc) for s in facts.symbols],
        [(i.module, i.name, i.alias, i.line) for i in facts.imports],
        [(name, len(offsets), pack_offsets(offsets)) for name, offsets in facts.refs.items()],
        chunks)
    return record


class Store(SummaryQueries, CloneQueries, EmbeddingQueries, FunctionQueries):
    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: os.PathLike | str, create: bool = True) -> "Store":
        path = Path(path)
        check_db_path(path)      # no symbolic link in .codeintel/, before anything is read or written
        if not path.exists():
            if not create:
                raise StoreError(f"no index at {path}; run `codeintel index` first")
            path.parent.mkdir(parents=True, exist_ok=True)
            ignore = path.parent / ".gitignore"
            if not ignore.exists():
                write_text_atomic(ignore, "# codeintel's index: local, derived data\n*\n")
        try:
            store = cls(path, _connect(path))
            store._migrate()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable codeintel index ({exc}); "
                             f"`codeintel index --rebuild` moves it aside and builds a new one") from None
        return store

    @contextlib.contextmanager
    def disconnected(self):
        """The connection closed for a while, then opened again with the same settings: to
        fork worker processes that open their own (an SQLite connection, and the locks
        SQLite keeps for it in the process, must not cross a fork)."""
        self.conn.close()
        try:
            yield
        finally:
            self.conn = _connect(self.path)

    def _migrate(self) -> None:
        have = self._version()
        if have > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer codeintel (schema {have}, this one "
                             f"reads {SCHEMA_VERSION}); upgrade codeintel or use `codeintel index --rebuild`")
        if have == SCHEMA_VERSION:
            return
        if have:
            self.build_deferred_indexes()  # migrations see the indexes their version made
        with self.transaction():
            have = self._version()  # another process may have migrated meanwhile
            for version in range(have + 1, SCHEMA_VERSION + 1):
                step = MIGRATIONS[version]
                if callable(step):
                    step(database(self.conn))
                    if not self.conn.in_transaction:   # the version must be recorded with the change
                        raise StoreError(f"migration to schema {version} ended its transaction")
                else:
                    for statement in _split_sql(step):
                        self.conn.execute(statement)
                self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)",
                                  (str(version),))

    def _version(self) -> int:
        has_meta = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone()
        if not has_meta:
            if self.conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]:
                raise StoreError(f"{self.path} is an SQLite database but not a codeintel index; "
                                 f"`codeintel index --rebuild` moves it aside")
            return 0
        row = self.conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        return int(row[0]) if row else 0

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ------------------------------------------------------------------ transactions
    class _Tx:
        def __init__(self, conn):
            self.conn = conn

        def __enter__(self):
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, exc, tb):
            if exc_type is None:
                self.conn.execute("COMMIT")
            else:
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            return False

    def transaction(self):
        return Store._Tx(self.conn)

    @contextlib.contextmanager
    def bulk_writes(self):
        """Many write transactions in a row: the WAL is checkpointed once at the end instead
        of every 1000 pages (an interrupted run just leaves a longer WAL, still consistent).

        Into a store that holds no files yet (a first run), the rows go in without the
        secondary indexes of the per-file tables on names (those on file_id stay): they are
        dropped first and built once at the end from the finished tables, cheaper than keeping
        them up to date row by row.
        Their definitions wait in ``meta`` meanwhile, so after a run that was killed the
        next run (or a schema migration) builds them; queries meanwhile still work, only
        slower."""
        self.build_deferred_indexes()
        self._defer_indexes()
        self.conn.execute("PRAGMA wal_autocheckpoint=0")
        try:
            yield self
        finally:
            self.conn.execute("PRAGMA wal_autocheckpoint=1000")
            try:
                self.build_deferred_indexes()
                self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass

    def _defer_indexes(self) -> None:
        with self.transaction() as c:
            if c.execute("SELECT 1 FROM files LIMIT 1").fetchone() is not None:
                return
            tables = ", ".join("?" * len(_PER_FILE_TABLES))
            rows = c.execute(f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                             f" AND tbl_name IN ({tables}) ORDER BY name", _PER_FILE_TABLES).fetchall()
            # the indexes on file_id stay: rows arrive in nearly increasing file_id order, so
            # keeping them costs little, spread over the workers, and the serial build at the
            # end is shorter (measured on the stdlib: 0.45 s instead of 0.65 s)
            rows = [(name, sql) for name, sql in rows if not _ON_FILE_ID.search(sql)]
            if not rows:
                return
            c.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                      (_DEFERRED_INDEXES, json.dumps([sql for _name, sql in rows])))
            for name, _sql in rows:
                c.execute(f'DROP INDEX "{name}"')

    def build_deferred_indexes(self) -> None:
        """Build the indexes a first run left out (see ``bulk_writes``), if any are waiting."""
        if self.get_meta(_DEFERRED_INDEXES) is None:
            return
        with self.transaction() as c:
            row = c.execute("SELECT value FROM meta WHERE key = ?", (_DEFERRED_INDEXES,)).fetchone()
            if row is None:  # another process built them meanwhile
                return
            for sql in json.loads(row[0]):
                c.execute(_IF_NOT_EXISTS.sub(r"\g<0>IF NOT EXISTS ", sql, count=1))
            c.execute("DELETE FROM meta WHERE key = ?", (_DEFERRED_INDEXES,))

    # ------------------------------------------------------------------ meta
    def get_meta(self, key: str, default: Optional[str] = None) -> Optional[str]:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, **values: object) -> None:
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                          [(k, None if v is None else str(v)) for k, v in values.items()])

    # ------------------------------------------------------------------ files
    def file_states(self) -> dict[str, tuple[int, Optional[int], Optional[int], Optional[str], str]]:
        """path -> (id, size, mtime_ns, blob, status)."""
        return {row[0]: row[1:] for row in self.conn.execute(
            "SELECT path, id, size, mtime_ns, blob, status FROM files")}

    def touch_files(self, updates: Iterable[tuple[str, int, int]]) -> None:
        """Record a new (size, mtime) for files whose content did not change."""
        with self.transaction() as c:
            c.executemany("UPDATE files SET size=?, mtime_ns=? WHERE path=?",
                          [(size, mtime, path) for path, size, mtime in updates])

    def _delete_file_rows(self, c: sqlite3.Connection, paths: list[str]) -> None:
        for path in paths:
            row = c.execute("SELECT id FROM files WHERE path=?", (path,)).fetchone()
            if row is None:
                continue
            c.execute("DELETE FROM chunks_fts WHERE rowid IN (SELECT id FROM chunks WHERE file_id=?)", row)
            c.execute("DELETE FROM files WHERE id=?", row)

    def delete_paths(self, paths: Iterable[str]) -> None:
        paths = list(paths)
        if paths:
            with self.transaction() as c:
                self._delete_file_rows(c, paths)

    def write_files(self, records: list[FileRecord]) -> None:
        """Replace the rows of these files, all in one transaction. Ids are assigned here
        (the transaction holds the write lock), so every table is filled with executemany."""
        now = time.time()
        with self.transaction() as c:
            self._delete_file_rows(c, [r.path for r in records])
            next_id = {table: c.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}").fetchone()[0]
                       for table in ("files", "symbols", "chunks")}
            files, symbols, imports, refs, chunks, fts = [], [], [], [], [], []
            for r in records:
                facts = prepare_record(r).facts
                file_id = next_id["files"]
                next_id["files"] += 1
                files.append((file_id, r.path, r.language, r.size, r.mtime_ns, r.blob, r.status, r.reason,
                              facts.error_count if facts else 0, facts.first_error_line if facts else None,
                              facts.line_count if facts else None, r.content, now))
                if facts is None:
                    continue
                first_symbol = next_id["symbols"]
                next_id["symbols"] += len(facts.symbols)
                for i, row in enumerate(facts.symbols):
                    parent = row[3]
                    symbols.append((first_symbol + i, file_id, *row[:3],
                                    None if parent is None else first_symbol + parent, *row[4:]))
                imports.extend((file_id, *row) for row in facts.imports)
                refs.extend((file_id, *row) for row in facts.refs)
                for row in facts.chunks:
                    chunk_id = next_id["chunks"]
                    next_id["chunks"] += 1
                    symbol = row[0]
                    chunks.append((chunk_id, file_id, None if symbol is None else first_symbol + symbol, *row[1:]))
                    name_pieces, own_text, body_pieces = row[7:]
                    body = r.content[row[5]:row[6]] if own_text is None else own_text.encode()
                    fts.append((chunk_id, row[2] if name_pieces is None else f"{row[2]}\n{name_pieces}",
                                body if body_pieces is None else body + b"\n" + body_pieces.encode()))
            c.executemany("INSERT INTO files(id, path, language, size, mtime_ns, blob, status, reason, error_count,"
                          " first_error_line, line_count, content, indexed_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                          files)
            c.executemany("INSERT INTO symbols(id, file_id, name, qualname, kind, parent_id, start_byte, end_byte,"
                          " start_line, start_col, end_line, end_col, name_line, name_col, signature, doc)"
                          " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", symbols)
            c.executemany("INSERT INTO imports(file_id, module, name, alias, line) VALUES (?,?,?,?,?)", imports)
            c.executemany("INSERT INTO refs(file_id, name, count, positions) VALUES (?,?,?,?)", refs)
            c.executemany("INSERT INTO chunks(id, file_id, symbol_id, kind, name, start_line, end_line, start_byte,"
                          " end_byte, name_pieces, own_text, body_pieces) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", chunks)
            # the words indexed are those of the chunk_terms view, which a deletion reads: the same
            # bytes, given here as the view makes them (a BLOB is tokenized as its bytes, as the
            # view's CAST gives them), without reading each file's content once per chunk
            c.executemany("INSERT INTO chunks_fts(rowid, name, body) VALUES (?,?,?)", fts)

    def file_content(self, path: str) -> Optional[bytes]:
        row = self.conn.execute("SELECT content FROM files WHERE path=?", (path,)).fetchone()
        return row[0] if row else None

    # ------------------------------------------------------------------ queries
    def symbols(self, pattern: Optional[str] = None, kind: Optional[str] = None,
                limit: Optional[int] = None) -> list[dict]:
        """Definitions whose name or qualified name matches: a glob if the pattern has
        ``*?[``, else a case-insensitive substring."""
        where, args = [], []
        if pattern:
            if any(ch in pattern for ch in "*?["):
                where.append("(s.name GLOB ? OR s.qualname GLOB ?)")
                args += [pattern, pattern]
            else:
                where.append("(s.qualname LIKE ? ESCAPE '\\')")
                args.append("%" + pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%")
        if kind:
            where.append("s.kind = ?")
            args.append(kind)
        sql = _SYMBOL_SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        # exact names first, then shorter qualified names
        sql += " ORDER BY (s.name = ?) DESC, length(s.qualname), f.path, s.start_line"
        args.append(pattern or "")
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [dict(zip(_SYMBOL_COLS, row)) for row in self.conn.execute(sql, args)]

    # ------------------------------------------------------------------ navigation (language server)
    def file_info(self, path: str) -> Optional[dict]:
        """A file's row without its content: id, language, size, status, reason, blob."""
        row = self.conn.execute("SELECT id, language, size, status, reason, blob FROM files WHERE path=?",
                                (path,)).fetchone()
        return dict(zip(("id", "language", "size", "status", "reason", "blob"), row), path=path) if row else None

    def file_symbols(self, path: str) -> list[dict]:
        """The definitions of one file in source order (``parent_id`` links them into a tree)."""
        return [dict(zip(_SYMBOL_COLS, row)) for row in self.conn.execute(
            _SYMBOL_SELECT + " WHERE f.path = ? ORDER BY s.start_byte, s.id", (path,))]

    def symbols_named(self, name: str, limit: int = 200) -> list[dict]:
        """Definitions whose own (unqualified) name is exactly ``name``."""
        return [dict(zip(_SYMBOL_COLS, row)) for row in self.conn.execute(
            _SYMBOL_SELECT + " WHERE s.name = ? ORDER BY f.path, s.start_line LIMIT ?", (name, int(limit)))]

    def file_imports(self, path: str) -> list[dict]:
        return [dict(zip(("module", "name", "alias", "line"), row)) for row in self.conn.execute(
            "SELECT i.module, i.name, i.alias, i.line FROM imports i JOIN files f ON f.id = i.file_id"
            " WHERE f.path = ? ORDER BY i.line", (path,))]

    def reference_sites(self, name: str, exclude_path: Optional[str] = None) -> Iterator[tuple[str, bytes, list[int]]]:
        """(path, content, byte offsets) of each file that uses identifier ``name``, in path
        order; each file's content is read only when the caller gets that far."""
        for file_id, path, _blob, positions in self.reference_files(name, exclude_path):
            row = self.conn.execute("SELECT content FROM files WHERE id=?", (file_id,)).fetchone()
            yield path, (row[0] if row else None) or b"", unpack_offsets(positions)

    def reference_files(self, name: str, exclude_path: Optional[str] = None) -> list[tuple[int, str, str, bytes]]:
        """(file id, path, blob id, packed byte offsets: ``unpack_offsets``) of each file that uses
        identifier ``name``, in path order, without reading any content (``contents_by_id``
        reads it, for the files whose line tables a caller has not cached by blob id)."""
        return self.conn.execute(
            "SELECT f.id, f.path, f.blob, r.positions FROM refs r JOIN files f ON f.id = r.file_id"
            " WHERE r.name = ? AND f.path IS NOT ? ORDER BY f.path", (name, exclude_path)).fetchall()

    def contents_by_id(self, file_ids: Iterable[int]) -> dict[int, tuple[Optional[str], bytes]]:
        """{file id: (blob id, content)} of the files that still exist (a file re-indexed since its
        id was read has a new id: it is missing here)."""
        out: dict[int, tuple[Optional[str], bytes]] = {}
        ids = list(file_ids)
        for i in range(0, len(ids), 500):
            part = ids[i:i + 500]
            out.update((file_id, (blob, content or b"")) for file_id, blob, content in self.conn.execute(
                f"SELECT id, blob, content FROM files WHERE id IN ({','.join('?' * len(part))})", part))
        return out

    def file_blobs(self, paths: Iterable[str]) -> dict[str, tuple[int, Optional[str]]]:
        """{path: (file id, blob id)} of the indexed ones among ``paths``."""
        out: dict[str, tuple[int, Optional[str]]] = {}
        wanted = list(dict.fromkeys(paths))
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            out.update((path, (file_id, blob)) for file_id, path, blob in self.conn.execute(
                f"SELECT id, path, blob FROM files WHERE path IN ({','.join('?' * len(part))})", part))
        return out

    def file_ids_and_blobs(self) -> list[tuple[int, str, Optional[str]]]:
        """(file id, path, blob id) of every file with content, in path order."""
        return self.conn.execute(
            "SELECT id, path, blob FROM files WHERE content IS NOT NULL ORDER BY path").fetchall()

    def names_with_prefix(self, prefix: str, limit: int = 50) -> list[tuple[str, Optional[str], int]]:
        """Identifiers starting with ``prefix`` (case-sensitive, by the name indexes): (name, the kind
        of a definition of that name or None, how often it is used), most used first."""
        upper = prefix + "\U0010ffff"
        defined = dict(self.conn.execute(
            "SELECT name, min(kind) FROM symbols WHERE name >= ? AND name < ? GROUP BY name LIMIT ?",
            (prefix, upper, limit * 4)).fetchall())
        used = dict(self.conn.execute(
            "SELECT name, sum(count) FROM refs WHERE name >= ? AND name < ? GROUP BY name"
            " ORDER BY 2 DESC LIMIT ?", (prefix, upper, limit * 4)).fetchall())
        names = sorted(set(defined) | set(used), key=lambda n: (-used.get(n, 0), n))[:limit]
        return [(n, defined.get(n), used.get(n, 0)) for n in names]

    def references(self, name: str, limit: Optional[int] = None) -> list[dict]:
        """Every occurrence of identifier ``name`` (definitions excluded), in path order, with
        its line's text."""
        out = []
        for path, content, offsets in self.reference_sites(name):
            starts = line_starts(content)
            for offset in offsets:
                line = bisect_right(starts, offset)
                end = content.find(b"\n", offset)
                text = content[starts[line - 1]:end if end != -1 else len(content)]
                out.append({"path": path, "line": line, "col": offset - starts[line - 1],
                            "text": text.decode("utf-8", "replace").strip()})
                if limit and len(out) >= limit:
                    return out
        return out

    def search(self, query: str, limit: int = 20, any_word: bool = False) -> list[dict]:
        """Full-text search over chunks, ranked by BM25 (names weigh more than bodies). All
        words must match; when nothing does (or with ``any_word``), any word may."""
        words = list(dict.fromkeys(_WORD.findall(query)))
        if not words:
            return []
        terms = ['"' + w.replace('"', "") + '"' for w in words]
        rows: list = []
        for joiner in ((" OR ",) if any_word else (" AND ", " OR ")):
            rows = self.conn.execute(
                "SELECT c.id, f.path, c.kind, c.name, c.start_line, c.end_line, c.start_byte, c.end_byte,"
                " bm25(chunks_fts, 5.0, 1.0) AS score"
                " FROM chunks_fts JOIN chunks c ON c.id = chunks_fts.rowid JOIN files f ON f.id = c.file_id"
                " WHERE chunks_fts MATCH ? ORDER BY score LIMIT ?",
                (joiner.join(terms), limit)).fetchall()
            if rows or len(terms) == 1:
                break
        cols = ("id", "path", "kind", "name", "start_line", "end_line", "start_byte", "end_byte", "score")
        return [dict(zip(cols, row), score=-row[-1]) for row in rows]

    def chunk_text(self, path: str, start_byte: int, end_byte: int) -> str:
        """A chunk's text; when only indentation stands before it on its first line, that
        indentation is included, so the text dedents cleanly."""
        lead = min(start_byte, 256)
        row = self.conn.execute("SELECT substr(content, ?, ?) FROM files WHERE path=?",
                                (start_byte - lead + 1, end_byte - start_byte + lead, path)).fetchone()
        if not row or row[0] is None:
            return ""
        data: bytes = row[0]
        prefix, body = data[:lead], data[lead:]
        indent = prefix.rsplit(b"\n", 1)[-1]
        if indent.strip(b" \t") == b"" and (b"\n" in prefix or lead == start_byte):
            body = indent + body
        return body.decode("utf-8", "replace")

    # ------------------------------------------------------------------ repository context
    # (what completion's prompt proposals and the retrievers ask for)
    def indexed_paths(self, language: Optional[str] = None) -> list[str]:
        """Paths of the non-empty files whose content is indexed (not skipped), optionally one language."""
        sql = "SELECT path FROM files WHERE status != 'skipped' AND size > 0"
        args: tuple = ()
        if language:
            sql += " AND language = ?"
            args = (language,)
        return [row[0] for row in self.conn.execute(sql + " ORDER BY path", args)]

    def file_blob(self, path: str) -> Optional[str]:
        """The git blob id of an indexed file's content (None when unknown)."""
        row = self.conn.execute("SELECT blob FROM files WHERE path=?", (path,)).fetchone()
        return row[0] if row else None

    def file_identifiers(self, path: str) -> list[tuple[str, int]]:
        """The identifiers one file uses, most used first, with their counts."""
        return [tuple(row) for row in self.conn.execute(
            "SELECT r.name, r.count FROM refs r JOIN files f ON f.id = r.file_id WHERE f.path = ?"
            " ORDER BY r.count DESC, r.name", (path,))]

    def importers_of(self, modules: Iterable[str]) -> list[str]:
        """Paths of the files that import one of ``modules`` (``import m``, ``from m import x``,
        or ``from p import m`` for ``p.m``)."""
        wanted = list(dict.fromkeys(modules))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        return [row[0] for row in self.conn.execute(
            f"SELECT DISTINCT f.path FROM imports i JOIN files f ON f.id = i.file_id WHERE i.module IN ({marks})"
            " OR (i.name IS NOT NULL AND (CASE WHEN i.module LIKE '%.' THEN i.module || i.name"
            f" ELSE i.module || '.' || i.name END) IN ({marks})) ORDER BY f.path", wanted + wanted)]

    def class_definitions(self, names: Iterable[str]) -> list[dict]:
        """Class-like definitions named one of ``names``, with their file."""
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        cols = ("name", "path", "start_line", "signature")
        return [dict(zip(cols, row)) for row in self.conn.execute(
            f"SELECT s.name, f.path, s.start_line, s.signature FROM symbols s JOIN files f ON f.id = s.file_id"
            f" WHERE s.name IN ({marks}) AND s.kind IN ('class', 'struct', 'interface', 'trait')"
            " ORDER BY f.path", wanted)]

    def derived_classes(self) -> list[dict]:
        """Class definitions that name base classes (a parenthesis in the signature)."""
        cols = ("name", "path", "start_line", "signature")
        return [dict(zip(cols, row)) for row in self.conn.execute(
            "SELECT s.name, f.path, s.start_line, s.signature FROM symbols s JOIN files f ON f.id = s.file_id"
            " WHERE s.kind = 'class' AND instr(s.signature, '(') > 0 ORDER BY f.path")]

    def defined_names(self) -> dict[str, set[str]]:
        """Each definition's name -> the paths defining it."""
        out: dict[str, set[str]] = {}
        for name, path in self.conn.execute("SELECT s.name, f.path FROM symbols s JOIN files f ON f.id = s.file_id"):
            out.setdefault(name, set()).add(path)
        return out

    def count_chunks(self) -> int:
        return self.conn.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def chunk_rows(self) -> Iterator[dict]:
        """Every chunk with its file's path and blob id, file by file."""
        cols = ("id", "path", "blob", "kind", "name", "start_line", "end_line", "start_byte", "end_byte")
        for row in self.conn.execute(
                "SELECT c.id, f.path, f.blob, c.kind, c.name, c.start_line, c.end_line, c.start_byte, c.end_byte"
                " FROM chunks c JOIN files f ON f.id = c.file_id ORDER BY f.path, c.start_byte"):
            yield dict(zip(cols, row))

    def chunks_by_id(self, ids: Iterable[int]) -> list[dict]:
        """The chunks with these ids (in the order given), with their file's path."""
        wanted = [int(i) for i in ids]
        if not wanted:
            return []
        marks = ",".join("?" * len(wanted))
        cols = ("id", "path", "blob", "kind", "name", "start_line", "end_line", "start_byte", "end_byte")
        rows = {row[0]: dict(zip(cols, row)) for row in self.conn.execute(
            "SELECT c.id, f.path, f.blob, c.kind, c.name, c.start_line, c.end_line, c.start_byte, c.end_byte"
            f" FROM chunks c JOIN files f ON f.id = c.file_id WHERE c.id IN ({marks})", wanted)}
        return [rows[i] for i in wanted if i in rows]

    def stats(self) -> dict:
        q = self.conn.execute
        out = {
            "store": str(self.path),
            "schema_version": SCHEMA_VERSION,
            "root": self.get_meta("root"),
            "last_indexed_at": self.get_meta("last_indexed_at"),
            "files": dict(q("SELECT status, count(*) FROM files GROUP BY status").fetchall()),
            "languages": dict(q("SELECT language, count(*) FROM files WHERE language IS NOT NULL"
                                " AND status != 'skipped' GROUP BY language ORDER BY 2 DESC").fetchall()),
            "symbols": dict(q("SELECT kind, count(*) FROM symbols GROUP BY kind ORDER BY 2 DESC").fetchall()),
            "imports": q("SELECT count(*) FROM imports").fetchone()[0],
            "references": q("SELECT coalesce(sum(count), 0) FROM refs").fetchone()[0],
            "chunks": q("SELECT count(*) FROM chunks").fetchone()[0],
            "parse_errors": q("SELECT count(*) FROM files WHERE error_count > 0").fetchone()[0],
            "skipped": [{"path": p, "reason": r} for p, r in q(
                "SELECT path, reason FROM files WHERE status = 'skipped' AND reason != 'not a supported language'"
                " ORDER BY path")],
            "partial": [{"path": p, "reason": r} for p, r in q(
                "SELECT path, reason FROM files WHERE status = 'partial' ORDER BY path")],
            "unsupported_files": q("SELECT count(*) FROM files WHERE reason = 'not a supported language'").fetchone()[0],
            "history": {
                "commits": q("SELECT count(*) FROM commits").fetchone()[0],
                "merges": q("SELECT count(*) FROM commits WHERE is_merge").fetchone()[0],
                "function_changes": q("SELECT count(*) FROM function_changes").fetchone()[0],
                "merge_scenarios": q("SELECT count(*) FROM merge_scenarios").fetchone()[0],
                "conflicting_scenarios": q("SELECT count(*) FROM merge_scenarios WHERE conflicts > 0").fetchone()[0],
                "head": self.get_meta("history_head"),
                "note": self.get_meta("history_note"),
            },
            "size_bytes": self.path.stat().st_size + _wal_size(self.path),
        }
        resolved, left, last = q("SELECT coalesce(sum(resolved), 0), coalesce(sum(1 - resolved), 0), max(at)"
                                 " FROM merge_decisions").fetchone()
        if last is not None:
            out["merge_decisions"] = {"resolved": resolved, "left": left,
                                      "last": time.strftime("%Y-%m-%d %H:%M", time.localtime(last))}
        return out

    # ------------------------------------------------------------------ history
    def known_commits(self) -> set[str]:
        return {row[0] for row in self.conn.execute("SELECT sha FROM commits")}

    def write_commits(self, commits: list[dict]) -> None:
        """Each commit dict has the commits columns plus optional lists ``files``,
        ``function_changes`` and ``merge_scenarios`` (dicts of those tables' columns)."""
        with self.transaction() as c:
            for cm in commits:
                c.execute("DELETE FROM commits WHERE sha=?", (cm["sha"],))
                c.execute(
                    "INSERT INTO commits(sha, parents, author_name, author_email, authored_at, committed_at,"
                    " message, is_merge, files_changed, insertions, deletions, note) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (cm["sha"], " ".join(cm.get("parents", ())), cm.get("author_name"), cm.get("author_email"),
                     cm.get("authored_at"), cm.get("committed_at"), cm.get("message"),
                     int(len(cm.get("parents", ())) > 1), cm.get("files_changed"), cm.get("insertions"),
                     cm.get("deletions"), cm.get("note")))
                c.executemany("INSERT INTO commit_files(commit_sha, path, old_path, change) VALUES (?,?,?,?)",
                              [(cm["sha"], f["path"], f.get("old_path"), f["change"]) for f in cm.get("files", ())])
                c.executemany(
                    "INSERT INTO function_changes(commit_sha, path, language, qualname, kind, change, before, after)"
                    " VALUES (?,?,?,?,?,?,?,?)",
                    [(cm["sha"], f["path"], f["language"], f["qualname"], f["kind"], f["change"],
                      f.get("before"), f.get("after")) for f in cm.get("function_changes", ())])
                c.executemany(
                    "INSERT INTO merge_scenarios(merge_sha, path, language, base_sha, ours_sha, theirs_sha,"
                    " base, ours, theirs, result, conflicts, binary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    [(cm["sha"], m["path"], m.get("language"), m.get("base_sha"), m["ours_sha"], m["theirs_sha"],
                      m.get("base"), m.get("ours"), m.get("theirs"), m.get("result"), m["conflicts"],
                      int(m.get("binary", False))) for m in cm.get("merge_scenarios", ())])

    def function_changes(self, limit: Optional[int] = None) -> Iterator[dict]:
        sql = ("SELECT fc.commit_sha, fc.path, fc.language, fc.qualname, fc.kind, fc.change, fc.before, fc.after,"
               " c.committed_at FROM function_changes fc JOIN commits c ON c.sha = fc.commit_sha"
               " ORDER BY c.committed_at, fc.id")
        if limit:
            sql += f" LIMIT {int(limit)}"
        cols = ("commit", "path", "language", "qualname", "kind", "change", "before", "after", "committed_at")
        for row in self.conn.execute(sql):
            yield dict(zip(cols, row))

    def record_merge_decisions(self, rows: list[dict]) -> None:
        """Rows with the merge_decisions columns (``at`` defaults to now)."""
        cols = MERGE_DECISION_COLUMNS
        now = time.time()
        with self.transaction() as c:
            c.executemany(f"INSERT INTO merge_decisions({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                          [tuple(row.get(col, now if col == "at" else None) for col in cols) for row in rows])

    def merge_decisions(self, limit: Optional[int] = None) -> list[dict]:
        cols = MERGE_DECISION_COLUMNS
        sql = f"SELECT {', '.join(cols)} FROM merge_decisions ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [dict(zip(cols, row)) for row in self.conn.execute(sql)]

    def merge_scenarios(self, conflicts_only: bool = False) -> Iterator[dict]:
        sql = ("SELECT merge_sha, path, language, base_sha, ours_sha, theirs_sha, base, ours, theirs, result,"
               " conflicts FROM merge_scenarios")
        if conflicts_only:
            sql += " WHERE conflicts > 0"
        cols = ("merge", "path", "language", "base_sha", "ours_sha", "theirs_sha", "base", "ours", "theirs",
                "result", "conflicts")
        for row in self.conn.execute(sql + " ORDER BY id"):
            yield dict(zip(cols, row))


_SYMBOL_SELECT = ("SELECT s.id, s.name, s.qualname, s.kind, f.path, f.language, s.start_line, s.end_line,"
                  " s.name_line, s.name_col, s.signature, s.doc, s.start_byte, s.end_byte, s.parent_id"
                  " FROM symbols s JOIN files f ON f.id = s.file_id")
_SYMBOL_COLS = ("id", "name", "qualname", "kind", "path", "language", "start_line", "end_line",
                "line", "col", "signature", "doc", "start_byte", "end_byte", "parent_id")


# the tables write_files fills, whose secondary indexes a first run builds at the end
_PER_FILE_TABLES = ("files", "symbols", "imports", "refs", "chunks")
_DEFERRED_INDEXES = "deferred_indexes"   # meta key: JSON list of CREATE INDEX statements
_ON_FILE_ID = re.compile(r"\(\s*file_id\s*\)")
_IF_NOT_EXISTS = re.compile(r"^\s*CREATE\s+(?:UNIQUE\s+)?INDEX\s+(?!IF\s)", re.IGNORECASE)


def _connect(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with a busy timeout (writers wait for each other, readers
    never wait)."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                           check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _use_wal(conn)
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA cache_size=-65536")
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the database in WAL mode (a setting kept in the file). Switching takes a lock that
    SQLite does not wait for with the busy timeout, so two processes opening a new store at
    once (two indexing runs, a run and the language server) would see "database is locked":
    a store already in WAL mode is left as it is, and a busy switch is retried, for up to the
    busy timeout, until one of them has made it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(2 * pause, 0.1)


def _wal_size(path: Path) -> int:
    wal = Path(str(path) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def _split_sql(script: str) -> list[str]:
    """Statements of a migration script (no semicolons inside literals in our schema)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
