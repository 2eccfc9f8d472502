"""The codeintel language server (pygls 2): its state (workspace folders and their indexes, open
documents, settings, worker pools), the protocol's error handling and progress. The handlers,
thin calls into codeintel/ and indexer/, are in ``lsp.features`` above it, and ``lsp.main``
starts it; this module imports neither. Wiring only.

Threads: the message loop never waits on the model or on a write. Index writes go to one
writer thread per workspace folder (a locked index delays them, retried later; answers keep
coming from the buffers and the read connection); completion and conflict resolution run in
a worker pool and poll a cancellation flag ($/cancelRequest, or a newer request for the same
document). Positions are converted between the store's UTF-8 byte columns and the client's
units (UTF-16 unless negotiated otherwise) here, at the edge.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import select
import sqlite3
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from functools import wraps
from pathlib import Path
from typing import Optional

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.uris import from_fs_path, to_fs_path

from codeintel import __version__
from codeintel.store import Store, StoreError, store_path

from . import commands
from .completion import Cancellation
from .findings import Propagations
from .documents import OpenDocument
from .folders import Folder, Settings
from .merge import MergeResolvers, conflict_diagnostics
from .positions import from_client_col

log = logging.getLogger(__name__)

DEBOUNCE_S = 0.25          # quiet time after an edit before the buffer is re-indexed
WRITE_RETRY_S = 5.0        # a write that found the index locked is tried again after this
CONFIG_TIMEOUT_S = 5.0     # how long to wait for the client's workspace/configuration answer
# how long a request that needs the whole repository (references, workspace symbols) waits for a
# folder's first index before it answers from what is indexed so far, and says so
FIRST_INDEX_WAIT_S = float(os.environ.get("CODEINTEL_LSP_FIRST_INDEX_WAIT", "30"))
REQUEST_FAILED = -32803    # LSP's RequestFailed
RESOLVE_TITLE = "Resolve conflicts with codeintel"

class _BadRequest:
    """A request whose params did not decode: answered with InvalidParams instead of dropped."""

    def __init__(self, msg_id, method: str, error: JsonRpcException):
        self.id, self.method, self.error = msg_id, method, error


class WholeWriter:
    """The server's stdout, written so that every message goes out whole. A pipe's file status
    is shared with every process that inherited it, and one that makes it non-blocking (a child
    process, a terminal multiplexer) turns a large message (a references answer of megabytes)
    into a partial write and BlockingIOError: the rest of the stream would be garbage to the
    client. Here a full pipe is waited on (select) and the write resumed."""

    def __init__(self, stdout):
        self._stdout = stdout
        self._fd = stdout.fileno()
        self._lock = threading.Lock()

    def close(self) -> None:
        self._stdout.close()

    def write(self, data: bytes) -> None:
        with self._lock:
            self._stdout.flush()
            view = memoryview(data)
            while view:
                try:
                    view = view[os.write(self._fd, view):]
                except BlockingIOError:
                    select.select([], [self._fd], [])


class RawJson:
    """A result that is already JSON text (a handler's answer of thousands of locations): sent
    as it is, not converted by cattrs and encoded again."""
    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    @classmethod
    def array(cls, items: list[str]) -> "RawJson":
        return cls("[" + ",".join(items) + "]")


class CodeintelProtocol(LanguageServerProtocol):
    """pygls' protocol, except that a request with malformed params gets an error response
    (pygls would only log it, and the client would wait forever), and that a ``RawJson``
    result or progress value is written as it is."""

    def set_writer(self, writer, include_headers: bool = True):
        if isinstance(writer, StdoutWriter):
            writer = WholeWriter(writer._stdout)
        super().set_writer(writer, include_headers)

    def _send_response(self, msg_id, result=None, error=None):
        if error is None and isinstance(result, RawJson):
            self._result_types.pop(msg_id, None)
            self.send_raw('{"jsonrpc":"2.0","id":%s,"result":%s}' % (json.dumps(msg_id), result.text))
            return
        super()._send_response(msg_id, result, error)

    def send_raw(self, body: str) -> None:
        """Write one message whose JSON text is ``body`` (on the event loop's thread)."""
        if self.writer is None:
            log.error("no transport to send a message on")
            return
        data = body.encode(self.CHARSET)
        if self._include_headers:
            data = (f"Content-Length: {len(data)}\r\n"
                    f"Content-Type: {self.CONTENT_TYPE}; charset={self.CHARSET}\r\n\r\n").encode() + data
        res = self.writer.write(data)
        if inspect.isawaitable(res):
            asyncio.ensure_future(res)

    def send_progress_raw(self, token, value: RawJson) -> None:
        """$/progress with a value that is JSON text (partial results)."""
        self.send_raw('{"jsonrpc":"2.0","method":"$/progress","params":{"token":%s,"value":%s}}'
                      % (json.dumps(token), value.text))

    def structure_message(self, data):
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if isinstance(data, dict) and "id" in data and "method" in data:
                return _BadRequest(data["id"], str(data.get("method")), exc)
            raise

    def handle_message(self, message):
        if isinstance(message, (dict, list, str, int, float, bool)) or message is None:
            log.warning("ignored a message that is not a JSON-RPC 2.0 request, notification or response")
            return
        if isinstance(message, _BadRequest):
            log.warning("malformed %s request %r: %s", message.method, message.id, message.error)
            error = JsonRpcInvalidParams(f"malformed params for {message.method}")
            self._send_response(message.id, None, error.to_response_error())
            return
        super().handle_message(message)


class CodeintelServer(LanguageServer):
    def __init__(self):
        super().__init__("codeintel", __version__, protocol_cls=CodeintelProtocol,
                         text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental, max_workers=4)
        self.folders: list[Folder] = []
        self.documents: dict[str, OpenDocument] = {}
        self.defaults = Settings()
        self.resolvers = MergeResolvers()
        self.cancellation = Cancellation()
        self.model_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="codeintel-model")
        self.read_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="codeintel-read")
        # the learned features' hints read the whole index: one at a time, never in the way of reads
        self.findings_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="codeintel-findings")
        self.propagations = Propagations(on_run=self._propagation_ran)
        self._findings_loop: Optional[asyncio.AbstractEventLoop] = None   # where findings are published
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._first_index: dict[Path, asyncio.Future] = {}   # folders whose first index is being built
        self._resolutions: dict[tuple, object] = {}   # (uri, version, merge model stamp) -> resolution

    def stop_work(self) -> None:
        """Stop background work (index runs, queued model calls) so that the process can exit."""
        for folder in self.folders:
            folder.close()
        self.model_pool.shutdown(wait=False, cancel_futures=True)
        self.read_pool.shutdown(wait=False, cancel_futures=True)
        self.findings_pool.shutdown(wait=False, cancel_futures=True)

    def shutdown(self):
        """The connection is gone (exit, or the client vanished): stop everything."""
        self.stop_work()
        super().shutdown()

    # ---------------------------------------------------------------- helpers
    @property
    def encoding(self):
        return self.workspace.position_encoding or lsp.PositionEncodingKind.Utf16

    def folder_for(self, path: Optional[Path]) -> Optional[Folder]:
        """The workspace folder holding ``path`` (the innermost), else None. Only the folders the
        client opened (or its root) are served: a file elsewhere never opens the index found
        above it, which may be another project's (issue #23)."""
        if path is None:
            return None
        inside = [f for f in self.folders if f.contains(path)]
        return max(inside, key=lambda f: len(str(f.root))) if inside else None

    def settings_for(self, folder: Optional[Folder]) -> Settings:
        return folder.settings if folder is not None else self.defaults

    def document(self, uri: str) -> Optional[OpenDocument]:
        """The open document (one outside the workspace is a lone buffer, see ``folder_for``), or
        a transient one read from disk inside a workspace folder; None otherwise."""
        doc = self.documents.get(uri)
        if doc is not None:
            if doc.stale:
                self.refresh(doc)
            return doc
        return self.from_disk(uri)

    def from_disk(self, uri: str) -> Optional[OpenDocument]:
        """A transient document read from disk, inside a workspace folder (any thread)."""
        path = path_of(uri)
        folder = self.folder_for(path)
        if folder is None or not path.is_file():
            return None     # not open, and outside the workspace: nothing of it is read
        try:
            text = path.read_bytes().decode("utf-8", "surrogateescape")
        except OSError:
            return None
        doc = OpenDocument(uri, path, folder, text, None)
        doc.refresh(self.settings_for(folder).max_file_size)
        return doc

    def uri_of(self, folder: Optional[Folder], doc: OpenDocument, rel: Optional[str]) -> str:
        if rel is None or rel == doc.rel:
            return doc.uri
        return folder.uri(rel) if folder is not None else doc.uri

    def at(self, params) -> tuple[Optional[OpenDocument], object, int, int]:
        """The document of a text-document-position request, its folder's store (None outside
        any index), and the position as (1-based line, byte column); (None, None, 0, 0) when
        there is no such document."""
        doc = self.document(params.text_document.uri)
        if doc is None:
            return None, None, 0, 0
        line = params.position.line + 1
        col = from_client_col(doc.buffer.line_bytes(line), params.position.character, self.encoding)
        return doc, doc.folder.reader if doc.folder else None, line, col

    # ---------------------------------------------------------------- freshness
    def refresh(self, doc: OpenDocument) -> None:
        """Re-extract an edited buffer now, publish its diagnostics and write it to the index."""
        handle = self._timers.pop(doc.uri, None)
        if handle is not None:
            handle.cancel()
        settings = self.settings_for(doc.folder)
        client_doc = self.workspace.text_documents.get(doc.uri)
        record = doc.refresh(settings.max_file_size, client_doc.source if client_doc is not None else None)
        self.publish_diagnostics(doc)
        self.write_through(doc, record)

    async def refresh_off_loop(self, doc: OpenDocument) -> None:
        """``refresh``, with the extraction (a parse of up to ``index.maxFileSize``, seconds for a
        large buffer) done on a copy of the text in the read pool while the loop answers other
        messages. Kept only if the buffer was not edited meanwhile (a later refresh follows)."""
        size = self.settings_for(doc.folder).max_file_size
        client_doc = self.workspace.text_documents.get(doc.uri)
        text = client_doc.source if client_doc is not None else doc.data.decode("utf-8", "surrogateescape")
        copy = OpenDocument(doc.uri, doc.path, doc.folder, text, doc.version)
        try:
            record = await asyncio.get_running_loop().run_in_executor(self.read_pool, copy.refresh, size)
        except RuntimeError:      # the pool is shut down: the server is stopping
            return
        if (self.documents.get(doc.uri) is not doc or doc.version != copy.version or not doc.stale
                or self.settings_for(doc.folder).max_file_size != size):   # edited or reconfigured since
            return
        doc.adopt(copy)
        self.publish_diagnostics(doc)
        self.write_through(doc, record)

    def schedule_refresh(self, doc: OpenDocument) -> None:
        old = self._timers.pop(doc.uri, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._timers[doc.uri] = loop.call_later(DEBOUNCE_S, self._refresh_if_open, doc.uri)

    def _refresh_if_open(self, uri: str) -> None:
        self._timers.pop(uri, None)
        doc = self.documents.get(uri)
        if doc is not None and doc.stale:
            asyncio.ensure_future(self.refresh_off_loop(doc))

    def write_through(self, doc: OpenDocument, record) -> None:
        """Write the buffer's record to its folder's index (writer thread), unless the index
        already has exactly this content."""
        folder = doc.folder
        if folder is None or doc.rel is None or record is None:
            return
        blob = record.blob or doc.blob()
        if blob == doc.written_blob:
            return
        if doc.written_blob is None and folder.reader is not None:
            try:
                info = folder.reader.file_info(doc.rel)
            except sqlite3.Error:
                info = None
            if info is not None and info["blob"] == blob and info["status"] == record.status:
                doc.written_blob = blob
                return
        doc.written_blob = blob
        loop = asyncio.get_running_loop()
        future = folder.write_record(record)

        def done(fut) -> None:
            exc = fut.exception()
            if exc is not None:
                log.warning("%s: not written to the index (%s); retrying in %ss", doc.rel, exc, WRITE_RETRY_S)
                post(loop, self._retry_write, doc.uri, blob)

        future.add_done_callback(done)

    def _retry_write(self, uri: str, blob: str) -> None:
        doc = self.documents.get(uri)
        if doc is None or doc.written_blob != blob:
            return
        doc.written_blob = None

        def again() -> None:
            current = self.documents.get(uri)
            if current is not None and current.written_blob is None and current.record is not None:
                if current.record.facts is not None and not hasattr(current.record.facts, "symbols"):
                    current.stale = True   # the record was prepared by a failed write: extract again
                    self.refresh(current)
                else:
                    self.write_through(current, current.record)

        asyncio.get_running_loop().call_later(WRITE_RETRY_S, again)

    def reindex_from_disk(self, path: Path) -> None:
        folder = self.folder_for(path)
        if folder is None:
            return
        rel = folder.relative(path)
        if not path.exists():
            folder.delete([rel])
            return
        from indexer.pipeline import index_file
        size = folder.settings.max_file_size
        folder.submit(lambda store: store.write_files([index_file(folder.root, rel, size)]))

    def publish_diagnostics(self, doc: OpenDocument) -> None:
        settings = self.settings_for(doc.folder)
        diagnostics = []
        if settings.conflict_markers and b"<<<<<<<" in doc.data:
            diagnostics = conflict_diagnostics(doc.data.decode("utf-8", "surrogateescape"), self.encoding)
        diagnostics = diagnostics + doc.findings
        if not diagnostics and not doc.has_diagnostics:
            return      # nothing to say, nothing to clear
        doc.has_diagnostics = bool(diagnostics)
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(uri=doc.uri, diagnostics=diagnostics, version=doc.version))

    def update_findings(self, doc: OpenDocument) -> None:
        """Compute the learned features' hints of an opened or saved document in the read pool,
        then publish them with the other diagnostics; a failure only costs the hints."""
        folder, rel = doc.folder, doc.rel
        settings = self.settings_for(folder)
        doc.findings_run += 1          # only the latest run's answer is shown
        run = doc.findings_run
        if folder is None or rel is None or doc.degraded or not (settings.near_duplicates or settings.suggested_edits):
            if doc.findings:
                doc.findings = []
                self.publish_diagnostics(doc)
            return
        text, version = doc.data.decode("utf-8", "surrogateescape"), doc.version
        loop = self._findings_loop = asyncio.get_running_loop()

        encoding = self.encoding

        def compute():
            if doc.findings_run != run:
                return None      # asked again while this one waited: the later run answers
            from .findings import edit_diagnostics, near_duplicate_diagnostics

            found = []
            for wanted, what, make in (
                    (settings.near_duplicates, "near-duplicate",
                     lambda: near_duplicate_diagnostics(folder.root, rel, text, settings.clones_threshold, encoding)),
                    (settings.suggested_edits, "suggested-edit",
                     lambda: edit_diagnostics(folder.root, rel, text, encoding, self.propagations))):
                if not wanted:
                    continue
                try:
                    found += make()
                except Exception as exc:  # noqa: BLE001 - one feature failing costs only its hints
                    log.warning("%s: no %s hints (%s: %s)", rel, what, type(exc).__name__, exc)
            return found

        def done(fut) -> None:
            if not fut.cancelled() and fut.exception() is None and fut.result() is not None:
                post(loop, self._set_findings, doc.uri, version, run, fut.result())

        self.findings_pool.submit(compute).add_done_callback(done)

    def _propagation_ran(self, root: Path, suggestions: int, seconds: float) -> None:
        """Tell the client's log (window/logMessage) of each real run of the edit propagation."""
        message = (f"codeintel: edit propagation in {root.name}: {suggestions} place(s) where your edit fits "
                   f"({seconds:.2f} s, run {self.propagations.runs})")
        if self._findings_loop is not None:
            post(self._findings_loop, self.window_log_message, lsp.LogMessageParams(lsp.MessageType.Log, message))

    def _set_findings(self, uri: str, version: Optional[int], run: int, findings: list) -> None:
        doc = self.documents.get(uri)
        if doc is None or doc.version != version or doc.findings_run != run:
            return      # closed, edited or asked again since: a later run answers
        doc.findings = findings
        self.publish_diagnostics(doc)

    # ---------------------------------------------------------------- progress
    def progress(self, title: str):
        return _Progress(self, title)

    async def load_configuration(self) -> None:
        caps = self.client_capabilities.workspace
        if caps is None or not caps.configuration:
            return
        targets = self.folders or [None]
        items = [lsp.ConfigurationItem(section="codeintel", scope_uri=from_fs_path(str(f.root)) if f else None)
                 for f in targets]
        try:
            answer = await asyncio.wait_for(
                self.workspace_configuration_async(lsp.ConfigurationParams(items=items)), CONFIG_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001 - a client that cannot answer: defaults stand
            log.warning("workspace/configuration failed: %s", exc)
            return
        for target, section in zip(targets, answer or []):
            self.apply_settings(target, section)

    def apply_settings(self, folder: Optional[Folder], section) -> None:
        problems = (folder.settings if folder else self.defaults).update(section)
        for problem in problems:
            self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, f"codeintel: {problem}"))
        for doc in list(self.documents.values()):
            if doc.folder is folder:
                doc.stale = True
                self.update_findings(doc)

    async def open_folder(self, folder: Folder) -> None:
        """Open the folder's index, or build it with progress; then bring it up to date."""
        fresh = not folder.has_index
        if fresh:
            self.first_index_pending(folder)
        try:
            problem = folder.open() if folder.reader is None else None
            if problem is not None:
                self.window_show_message(lsp.ShowMessageParams(
                    lsp.MessageType.Warning, f"codeintel: {problem}; navigation uses open files only"))
                return
            await self.index_with_progress(folder, f"Indexing {folder.root.name}" if fresh
                                           else f"Refreshing the index of {folder.root.name}", history=False)
        finally:
            done = self._first_index.pop(folder.root, None)
            if done is not None and not done.done():
                done.set_result(None)
        self.read_pool.submit(self._warm_line_indexes, folder)

    def first_index_pending(self, folder: Folder) -> None:
        """Note (from initialize on) that ``folder`` has no index yet: until ``open_folder`` has
        built it, requests that need the whole repository wait for it (``whole_index``)."""
        if folder.root not in self._first_index:
            self._first_index[folder.root] = asyncio.get_event_loop().create_future()

    async def whole_index(self, folders: list[Optional[Folder]], what: str) -> None:
        """Wait (up to ``FIRST_INDEX_WAIT_S``) for the first index of ``folders`` still being
        built; past that, tell the user that ``what`` answered now is partial."""
        for folder in folders:
            pending = self._first_index.get(folder.root) if folder is not None else None
            if pending is None:
                continue
            try:
                await asyncio.wait_for(asyncio.shield(pending), FIRST_INDEX_WAIT_S)
            except asyncio.TimeoutError:
                self.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Info, (
                    f"codeintel: {folder.root.name} is still being indexed for the first time: "
                    f"these {what} are partial (ask again once the index is done)")))

    def _warm_line_indexes(self, folder: Folder) -> None:
        """Build the line index of each indexed file ahead of the first references request
        (``navigation.warm_line_indexes``), on a connection of its own."""
        from codeintel.navigation import warm_line_indexes

        try:
            with Store.open(store_path(folder.root), create=False) as store:
                built = warm_line_indexes(store, stop=folder.closing.is_set)
        except (StoreError, sqlite3.Error) as exc:
            log.warning("%s: line indexes not prepared (%s)", folder.root, exc)
            return
        log.info("%s: line indexes of %d files prepared", folder.root, built)

    async def index_with_progress(self, folder: Folder, title: str, history: bool) -> dict:
        progress = self.progress(title)
        await progress.begin()
        try:
            result = await asyncio.wrap_future(folder.submit(
                lambda store: commands.index_folder(folder, progress.report, history=history)))
        except commands.Stopped as exc:
            progress.end(str(exc))
            raise JsonRpcException(f"codeintel: {exc}", REQUEST_FAILED) from None
        except (StoreError, sqlite3.Error) as exc:
            progress.end(f"failed: {exc}")
            raise JsonRpcException(f"codeintel: the index of {folder.root} cannot be written ({exc})",
                                   REQUEST_FAILED) from None
        progress.end(f"{result['files']} files, {result['parsed']} parsed")
        for doc in self.documents.values():   # the run re-read files from disk: open buffers win
            if doc.folder is folder:
                doc.written_blob = None
                self.write_through(doc, doc.record)
        return result


class _Progress:
    """Work-done progress that may be reported from any thread (when the client supports it)."""

    def __init__(self, server: CodeintelServer, title: str):
        self.server, self.title = server, title
        self.loop = asyncio.get_running_loop()
        self.token = f"codeintel-{uuid.uuid4()}"
        window = server.client_capabilities.window
        self.enabled = bool(window and window.work_done_progress)
        self._last = -1

    async def begin(self) -> None:
        if not self.enabled:
            return
        try:
            await asyncio.wait_for(self.server.work_done_progress.create_async(self.token), CONFIG_TIMEOUT_S)
        except Exception as exc:  # noqa: BLE001
            log.warning("progress unavailable: %s", exc)
            self.enabled = False
            return
        self.server.work_done_progress.begin(self.token, lsp.WorkDoneProgressBegin(
            title=self.title, percentage=0, cancellable=False))

    def report(self, message: str, percentage: Optional[int] = None) -> None:
        if not self.enabled or (percentage is not None and percentage == self._last):
            return
        self._last = percentage if percentage is not None else self._last
        value = lsp.WorkDoneProgressReport(message=message, percentage=percentage)
        post(self.loop, self.server.work_done_progress.report, self.token, value)

    def end(self, message: str) -> None:
        if self.enabled:
            post(self.loop, self.server.work_done_progress.end, self.token, lsp.WorkDoneProgressEnd(message=message))


def post(loop: asyncio.AbstractEventLoop, callback, *args) -> None:
    """Run ``callback(*args)`` on the message loop, from a worker thread. Work that finishes after
    the connection closed (a hint computed during shutdown) has no loop to report to: dropped."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:      # the loop is closed: the server is exiting
        log.debug("dropped %s: the server has stopped", getattr(callback, "__name__", callback))


def path_of(uri: str) -> Optional[Path]:
    if not uri.startswith("file:"):
        return None
    fs = to_fs_path(uri)
    return Path(fs) if fs else None


def index_errors(handler):
    """An index that cannot be read (locked too long, corrupt) answers RequestFailed."""
    def convert(exc):
        return JsonRpcException(f"codeintel: the index cannot be read ({exc})", REQUEST_FAILED)

    if asyncio.iscoroutinefunction(handler):
        @wraps(handler)
        async def wrapped_async(ls, params):
            try:
                return await handler(ls, params)
            except (sqlite3.Error, StoreError) as exc:
                raise convert(exc) from None
        return wrapped_async

    @wraps(handler)
    def wrapped(ls, params):
        try:
            return handler(ls, params)
        except (sqlite3.Error, StoreError) as exc:
            raise convert(exc) from None
    return wrapped


server = CodeintelServer()
