"""The index of one workspace folder as the server holds it: a read connection for queries,
a write connection used by one writer thread (so a locked index never blocks the message
loop), the folder's settings, and the single-file re-index that keeps the store fresh."""
from __future__ import annotations

import logging
import sqlite3
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from pygls.uris import from_fs_path

from codeintel.store import Store, StoreError, store_path

log = logging.getLogger(__name__)

READ_BUSY_MS = 1_000      # a query waits at most this long for a locked index, then errs
WRITE_BUSY_MS = 2_000     # a write gives up after this (another process holds the lock) and retries later


@dataclass
class Settings:
    """workspace/configuration section ``codeintel`` over the folder's .codeintel/config.toml."""
    max_file_size: int = 1 << 20
    merge_threshold: Optional[float] = None
    completion: dict = field(default_factory=dict)
    conflict_markers: bool = True
    near_duplicates: bool = True
    suggested_edits: bool = True
    clones_threshold: Optional[float] = None
    references_limit: Optional[int] = None    # references.maxResults: None (or 0) answers every use

    def update(self, section: object) -> list[str]:
        """Apply a client's settings (nested or dotted keys, camelCase); bad values are
        reported and ignored."""
        from codeintel.config import ConfigError, parse_size

        problems: list[str] = []
        if not isinstance(section, dict):
            return problems
        flat = dict(section)
        for group in ("index", "merge", "diagnostics", "completion", "clones", "references"):
            if isinstance(flat.get(group), dict):
                for key, value in flat.pop(group).items():
                    flat[f"{group}.{key}"] = value
        for key, value in flat.items():
            try:
                if key == "index.maxFileSize" and value is not None:
                    self.max_file_size = parse_size(value)
                elif key == "merge.threshold" and value is not None:
                    value = float(value)
                    if not 0.0 <= value <= 1.0:
                        raise ConfigError("must be from 0 to 1")
                    self.merge_threshold = value
                elif key == "diagnostics.conflictMarkers" and value is not None:
                    self.conflict_markers = bool(value)
                elif key == "diagnostics.nearDuplicates" and value is not None:
                    self.near_duplicates = bool(value)
                elif key == "diagnostics.suggestedEdits" and value is not None:
                    self.suggested_edits = bool(value)
                elif key == "clones.threshold" and value is not None:
                    value = float(value)
                    if not 0.0 < value <= 1.0:
                        raise ConfigError("must be above 0 and at most 1")
                    self.clones_threshold = value
                elif key == "references.maxResults" and value is not None:
                    if isinstance(value, bool) or int(value) != value or value < 0:
                        raise ConfigError("must be a whole number, 0 for no limit")
                    self.references_limit = int(value) or None
                elif key.startswith("completion.") and value is not None:
                    self.completion[_snake(key.split(".", 1)[1])] = value
            except (ConfigError, TypeError, ValueError) as exc:
                problems.append(f"codeintel.{key}: {exc}")
        return problems


def _snake(name: str) -> str:
    return "".join("_" + ch.lower() if ch.isupper() else ch for ch in name)


class Folder:
    """One workspace folder and its index."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.reader: Optional[Store] = None
        self.writer: Optional[Store] = None
        self.problem: Optional[str] = None       # why the index cannot be used, when it cannot
        self.settings = Settings()
        self._writes = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"codeintel-write-{self.root.name}")
        self.closing = threading.Event()          # set on shutdown: a running index job stops
        self._uris: dict[str, str] = {}
        self._lock = threading.Lock()
        try:
            from codeintel.config import load_index_settings
            self.settings.max_file_size = load_index_settings(self.root).max_file_size
        except Exception as exc:  # noqa: BLE001 - a bad config.toml must not stop the server
            self.problem = str(exc)

    # ---------------------------------------------------------------- opening
    @property
    def has_index(self) -> bool:
        return store_path(self.root).is_file()

    def open(self) -> Optional[str]:
        """Open the read and write connections; returns the problem when the index is unusable."""
        with self._lock:
            if self.reader is not None:
                return None
            try:
                reader = Store.open(store_path(self.root), create=True)
                reader.conn.execute(f"PRAGMA busy_timeout={READ_BUSY_MS}")
                writer = Store.open(store_path(self.root), create=False)
                writer.conn.execute(f"PRAGMA busy_timeout={WRITE_BUSY_MS}")
            except (StoreError, sqlite3.Error, OSError) as exc:
                self.problem = str(exc)
                return self.problem
            self.reader, self.writer, self.problem = reader, writer, None
            return None

    def contains(self, path: Path) -> bool:
        try:
            path.resolve().relative_to(self.root)
            return True
        except ValueError:
            return False

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def uri(self, rel: str) -> str:
        """The file URI of a path relative to the folder (remembered: an answer of references
        names hundreds of files, and building a URI costs tens of microseconds)."""
        uri = self._uris.get(rel)
        if uri is None:
            uri = self._uris[rel] = from_fs_path(str(self.root / rel))
        return uri

    # ---------------------------------------------------------------- writes (one thread)
    def submit(self, job: Callable[[Store], object]) -> Future:
        """Run ``job(writer_store)`` on the folder's writer thread."""
        def run():
            if self.writer is None and self.open() is not None:
                raise StoreError(self.problem)
            return job(self.writer)
        return self._writes.submit(run)

    def write_record(self, record) -> Future:
        return self.submit(lambda store: store.write_files([record]))

    def delete(self, paths: list[str]) -> Future:
        return self.submit(lambda store: store.delete_paths(paths))

    def close(self) -> None:
        """Stop: a running index job gives up at its next file, queued writes finish, then the
        connections close on the writer thread (never under a running transaction)."""
        self.closing.set()
        try:
            self._writes.submit(self._close_stores)
        except RuntimeError:     # closed already
            return
        self._writes.shutdown(wait=False)

    def _close_stores(self) -> None:
        with self._lock:
            for store in (self.reader, self.writer):
                if store is not None:
                    try:
                        store.close()
                    except sqlite3.Error:
                        pass
            self.reader = self.writer = None
