"""An indexing run: list the work tree, find what changed since the last run, parse the
changed files in worker processes that write their facts to the store themselves, each
batch in a short transaction of its own (few files: all in this process), then mine the
git history.

Unchanged files (same size and mtime, or else the same git blob id) are not parsed again;
files gone from the listing are removed. Each batch of files is one transaction, so a run
that is interrupted (Ctrl-C, kill -9) leaves a consistent store, and the next run carries on
from where it stopped.
"""
from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import time
from itertools import chain
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from codeintel.store import FileRecord, Store, prepare_record, store_path

from .extract import extract
from .files import DEFAULT_MAX_FILE_SIZE, check_content, check_file, list_files
from .languages import language_for_path

BATCH_FILES = 64          # files per write transaction
WORKER_BATCH_FILES = 24   # files per task (and per write transaction) of a worker process
BATCH_SECONDS = 0.5       # or sooner, so a reader never waits long
INLINE_BELOW = 24         # fewer changed files than this are parsed in-process

Progress = Callable[[str, int, int], None]   # (phase, done, total)


class IndexError_(Exception):
    """A run that cannot start: the path is missing or not a folder."""


@dataclass
class IndexResult:
    root: str
    store: str
    listed: int = 0
    parsed: int = 0
    unchanged: int = 0
    deleted: int = 0
    skipped: int = 0
    partial: int = 0
    seconds: float = 0.0
    history: Optional[dict] = None
    git: bool = False
    notes: list[str] = field(default_factory=list)


def _index_one(job: tuple[str, str, int, Optional[str]]) -> FileRecord:
    """Worker: check, read, parse and extract one file. Never raises."""
    abs_path, rel_path, max_file_size, old_blob = job
    try:
        chk = check_file(abs_path, rel_path, max_file_size)
        if chk.spec is not None and chk.blob == old_blob:
            return FileRecord(rel_path, "unchanged", size=chk.size, mtime_ns=chk.mtime_ns, blob=chk.blob)
        return prepare_record(_record_of(rel_path, chk))
    except RecursionError:
        return FileRecord(rel_path, "skipped", "too deeply nested to index")
    except Exception as exc:  # noqa: BLE001 - one bad file must not stop the run
        return FileRecord(rel_path, "skipped", f"indexer error: {type(exc).__name__}: {exc}"[:200])


def _record_of(rel_path: str, chk, tree=None) -> FileRecord:
    """The store record of one checked file: skipped with its reason, or its extracted facts."""
    if chk.spec is None:
        return FileRecord(rel_path, "skipped", chk.reason, size=chk.size, mtime_ns=chk.mtime_ns)
    facts = extract(chk.data, chk.spec, tree=tree)
    reasons = []
    try:
        chk.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        reasons.append(f"invalid UTF-8 at byte {exc.start} (decoded with replacement)")
    if facts.error_count:
        reasons.append(f"{facts.error_count} syntax error{'s' if facts.error_count > 1 else ''},"
                       f" first at line {facts.first_error_line} (indexed what parses)")
    return FileRecord(
        rel_path, "partial" if reasons else "ok", "; ".join(reasons) or None, language=chk.spec.name,
        size=chk.size, mtime_ns=chk.mtime_ns, blob=chk.blob, content=chk.data, facts=facts)


def index_file(root: os.PathLike | str, rel_path: str, max_file_size: int = DEFAULT_MAX_FILE_SIZE,
               data: Optional[bytes] = None, tree=None) -> FileRecord:
    """One file's record, for the store's ``write_files``: from disk, or from ``data`` (an
    editor's unsaved buffer; recorded without an mtime, so the next indexing run compares
    the file on disk by content). ``tree`` is a tree-sitter tree of ``data`` already parsed
    (incrementally, by the caller). The facts stay unprepared (``record.facts`` is a
    FileFacts) so the caller can use them too; the store prepares them when it writes."""
    if data is None:
        chk = check_file(os.path.join(root, rel_path), rel_path, max_file_size)
        tree = None
    else:
        chk = check_content(rel_path, data, max_file_size=max_file_size)
    return _record_of(rel_path, chk, tree)


_worker_store: Optional[Store] = None   # a worker process's own connection to the store


def _index_and_write(task: tuple[str, list[tuple[str, str, int, Optional[str]]]]) -> list[FileRecord]:
    """Worker: index a batch of files and write them to the store in one transaction of its
    own, so their rows never travel between processes and the main process is not the
    writer every worker waits for. Returns each file's record without content and facts."""
    global _worker_store
    store_file, jobs = task
    if _worker_store is None or str(_worker_store.path) != store_file:
        # Each worker checkpoints the WAL as it goes (SQLite's automatic checkpoints): that
        # work then runs on both cores during the run, and the indexes built at the end read
        # from a short WAL (from a WAL of the whole run they took 2-3 times as long).
        _worker_store = Store.open(store_file, create=False)
    records = [_index_one(job) for job in jobs]
    changed = [rec for rec in records if rec.status != "unchanged"]
    if changed:
        _worker_store.write_files(changed)
    done = [FileRecord(rec.path, rec.status, size=rec.size, mtime_ns=rec.mtime_ns) for rec in records]
    del records, changed
    gc.collect()  # the cyclic collector runs once per task, not during it (see _init_worker)
    return done


def _init_worker() -> None:
    """Workers leave Ctrl-C to the parent, which stops them and reports once. The cyclic
    garbage collector waits for the end of each task: a file's extraction makes hundreds of
    thousands of short-lived objects (tree-sitter nodes, rows), freed by reference counting,
    and collections triggered among them would only scan them. What the worker inherited is
    frozen out of those collections."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.disable()
    gc.freeze()


def _compile_queries(jobs, shared_from: int) -> None:
    """Compile, before the workers fork, the queries of the languages that at least
    ``shared_from`` of the files about to be parsed are in: every worker then inherits them
    instead of compiling its own (0.1-0.4 s per language). A rarer language's query is
    compiled by the worker that meets it, while the others go on parsing (compiled here,
    it would hold them all back: 0.3 s for C++ in a tree of Python with one C++ file)."""
    counts: dict = {}
    for _abs, rel, _size, _blob in jobs:
        spec = language_for_path(rel)
        if spec is not None:
            counts[spec] = counts.get(spec, 0) + 1
    for spec, count in counts.items():
        if count >= shared_from:
            spec.combined_query, spec.combined_roles  # noqa: B018 - cached on the spec


def _pool(workers: int):
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    return multiprocessing.get_context(method).Pool(workers, initializer=_init_worker)


def index_repository(root: os.PathLike | str, *, max_file_size: int = DEFAULT_MAX_FILE_SIZE,
                     workers: Optional[int] = None, history: bool = True,
                     max_commits: Optional[int] = 2000, since: Optional[str] = None,
                     progress: Optional[Progress] = None, store: Optional[Store] = None) -> IndexResult:
    started = time.perf_counter()
    root = Path(root)
    if not root.exists():
        raise IndexError_(f"{root}: no such directory")
    if not root.is_dir():
        raise IndexError_(f"{root}: not a directory")
    root = root.resolve()
    own_store = store is None
    store = store or Store.open(store_path(root))
    try:
        result = IndexResult(root=str(root), store=str(store.path))
        paths, result.git = list_files(root)
        result.listed = len(paths)
        states = store.file_states()
        config_changed = store.get_meta("max_file_size") not in (None, str(max_file_size))

        jobs, touched, present, sizes = [], [], set(), {}
        for rel in paths:
            abs_path = os.path.join(root, rel)
            try:
                st = os.lstat(abs_path)
            except FileNotFoundError:  # deleted from the work tree but still in git's index
                continue
            except OSError:
                st = None
            present.add(rel)
            old = states.get(rel)
            if old is not None and not config_changed and st is not None \
                    and (st.st_size, st.st_mtime_ns) == (old[1], old[2]):
                result.unchanged += 1
                continue
            jobs.append((abs_path, rel, max_file_size, old[3] if old else None))
            if st is not None:
                sizes[rel] = st.st_size
        result.listed = len(present)
        gone = [p for p in states if p not in present]
        store.delete_paths(gone)
        result.deleted = len(gone)

        total = len(jobs)
        if progress:
            progress("files", 0, total)
        pending: list[FileRecord] = []
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal last_flush
            if pending:
                store.write_files(pending)
                pending.clear()
            if touched:
                store.touch_files(touched)
                touched.clear()
            last_flush = time.monotonic()

        def consume(records, written: bool = False) -> None:
            for done, rec in enumerate(records, 1):
                if rec.status == "unchanged":
                    result.unchanged += 1
                    touched.append((rec.path, rec.size, rec.mtime_ns))
                else:
                    if not written:
                        pending.append(rec)
                    if rec.status == "skipped":
                        result.skipped += 1
                    else:
                        result.parsed += 1
                        result.partial += rec.status == "partial"
                if len(pending) >= BATCH_FILES or time.monotonic() - last_flush > BATCH_SECONDS:
                    flush()
                if progress:
                    progress("files", done, total)
            flush()

        n_workers = workers or os.cpu_count() or 1
        with store.bulk_writes():
            if total < INLINE_BELOW or n_workers <= 1:
                consume(map(_index_one, jobs))
            else:
                batch = max(1, min(WORKER_BATCH_FILES, total // (4 * n_workers)))
                if sys.platform.startswith("linux"):
                    _compile_queries(jobs, shared_from=n_workers * batch)
                with store.disconnected():
                    pool = _pool(n_workers)
                # largest files first, so the last tasks are short and no worker idles long
                # at the end waiting for the other to finish a big one
                jobs.sort(key=lambda job: sizes.get(job[1], 0), reverse=True)
                tasks = [(str(store.path), jobs[i:i + batch]) for i in range(0, total, batch)]
                try:
                    consume(chain.from_iterable(pool.imap_unordered(_index_and_write, tasks)), written=True)
                    pool.close()
                except BaseException:
                    pool.terminate()
                    raise
                finally:
                    pool.join()
        store.set_meta(root=str(root), last_indexed_at=time.time(), max_file_size=max_file_size)

        if history and result.git:
            from .history import mine_history

            def history_progress(done: int, total_commits: int) -> None:
                if progress:
                    progress("history", done, total_commits)

            h = mine_history(root, store, max_commits=max_commits, since=since, progress=history_progress)
            result.history = {k: v for k, v in vars(h).items()}
        result.seconds = time.perf_counter() - started
        return result
    finally:
        if own_store:
            store.close()
