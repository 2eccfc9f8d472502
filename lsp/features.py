"""The LSP handlers of the codeintel server: lifecycle, document sync, navigation, completion,
merge conflicts and workspace/executeCommand, each a thin call into codeintel/ or indexer/
through the state kept by ``lsp.server.CodeintelServer``."""
from __future__ import annotations

import asyncio
import json
import logging
import threading

from lsprotocol import types as lsp
from lsprotocol.converters import get_converter
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.uris import from_fs_path

from codeintel import navigation, trust

from . import commands
from .completion import candidates, worth_listing
from .documents import OpenDocument
from .findings import SHOW_LOCATION, finding_actions
from .folders import Folder
from .generate import generate_actions
from .merge import conflict_diagnostics, resolve_document
from .positions import hit_locations, to_range
from .server import (REQUEST_FAILED, RESOLVE_TITLE, CodeintelServer, RawJson, index_errors, path_of, post, server)

log = logging.getLogger(__name__)

_CONVERTER = get_converter()   # encodes answers built off the loop (documentSymbol)
PARTIAL_BATCH = 1000       # locations per $/progress notification of a streamed references answer

_KINDS = {
    "function": lsp.SymbolKind.Function, "method": lsp.SymbolKind.Method, "class": lsp.SymbolKind.Class,
    "struct": lsp.SymbolKind.Struct, "interface": lsp.SymbolKind.Interface, "enum": lsp.SymbolKind.Enum,
    "trait": lsp.SymbolKind.Interface, "type": lsp.SymbolKind.TypeParameter,
    "namespace": lsp.SymbolKind.Namespace, "module": lsp.SymbolKind.Module,
}
_COMPLETION_KINDS = {
    "function": lsp.CompletionItemKind.Function, "method": lsp.CompletionItemKind.Method,
    "class": lsp.CompletionItemKind.Class, "struct": lsp.CompletionItemKind.Struct,
    "interface": lsp.CompletionItemKind.Interface, "enum": lsp.CompletionItemKind.Enum,
    "trait": lsp.CompletionItemKind.Interface, "namespace": lsp.CompletionItemKind.Module,
}




# -------------------------------------------------------------------- lifecycle
@server.feature(lsp.INITIALIZE)
def initialize(ls: CodeintelServer, params: lsp.InitializeParams):
    roots = [f.uri for f in params.workspace_folders or []] or [u for u in [params.root_uri] if u]
    if not roots and params.root_path:
        roots = [from_fs_path(params.root_path)]
    for uri in roots:
        path = path_of(uri)
        if path is not None and path.is_dir():
            folder = Folder(path)
            if folder.has_index:
                folder.open()       # answers can come from it at once; refreshed once initialized
            else:
                ls.first_index_pending(folder)    # built once initialized; whole-repository answers wait
            ls.folders.append(folder)
    options = params.initialization_options
    if isinstance(options, dict):
        ls.apply_settings(None, options.get("codeintel", options))
        if isinstance(options.get("workspaceTrusted"), bool):    # VS Code's workspace trust speaks for them
            for folder in ls.folders:
                trust.set_editor_trust(folder.root, options["workspaceTrusted"])


@server.feature(lsp.INITIALIZED)
async def initialized(ls: CodeintelServer, params: lsp.InitializedParams):
    await ls.load_configuration()
    caps = ls.client_capabilities.workspace
    watch = caps.did_change_watched_files if caps else None
    if watch is not None and watch.dynamic_registration:
        ls.client_register_capability(lsp.RegistrationParams(registrations=[lsp.Registration(
            id="codeintel-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=lsp.DidChangeWatchedFilesRegistrationOptions(
                watchers=[lsp.FileSystemWatcher(glob_pattern=source_glob())]))]))
    for folder in list(ls.folders):
        try:
            await ls.open_folder(folder)
        except JsonRpcException as exc:
            ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Warning, exc.message))


def source_glob() -> str:
    """The files the index reads (``**/*.{py,js,…}``): not ``**/*``, whose events would include
    the server's own writes to ``.codeintel/index.db-wal`` and everything under ``.git/``."""
    from indexer.languages import all_specs

    extensions = sorted({ext.lstrip(".") for spec in all_specs() for ext in spec.extensions})
    return "**/*.{" + ",".join(extensions) + "}"


@server.feature(lsp.SHUTDOWN)
def shutdown(ls: CodeintelServer, params):
    ls.stop_work()


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: CodeintelServer, params: lsp.DidChangeConfigurationParams):
    pushed = params.settings.get("codeintel") if isinstance(params.settings, dict) else None
    if isinstance(pushed, dict):
        for folder in ls.folders or [None]:
            ls.apply_settings(folder, pushed)
    await ls.load_configuration()
    for doc in list(ls.documents.values()):
        ls.refresh(doc)


# -------------------------------------------------------------------- documents
@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: CodeintelServer, params: lsp.DidOpenTextDocumentParams):
    item = params.text_document
    path = path_of(item.uri)
    doc = OpenDocument(item.uri, path, ls.folder_for(path), item.text, item.version)
    ls.documents[item.uri] = doc      # at once: the edits that follow apply to it

    async def extract() -> None:      # a large file is parsed while other messages are answered
        await ls.refresh_off_loop(doc)
        ls.update_findings(doc)
    asyncio.ensure_future(extract())


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: CodeintelServer, params: lsp.DidChangeTextDocumentParams):
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        log.warning("didChange for a document that is not open: %s", params.text_document.uri)
        return
    doc.apply_changes(params.content_changes, params.text_document.version, ls.encoding,
                      ls.settings_for(doc.folder).max_file_size)
    ls._resolutions = {k: v for k, v in ls._resolutions.items() if k[:2] != (doc.uri, doc.version)}
    ls.schedule_refresh(doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: CodeintelServer, params: lsp.DidSaveTextDocumentParams):
    doc = ls.documents.get(params.text_document.uri)
    if doc is not None:
        ls.refresh(doc)       # the saved text is the buffer's; the next index run sees it on disk
        ls.update_findings(doc)
    else:
        path = path_of(params.text_document.uri)
        if path is not None:
            ls.reindex_from_disk(path)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: CodeintelServer, params: lsp.DidCloseTextDocumentParams):
    doc = ls.documents.pop(params.text_document.uri, None)
    handle = ls._timers.pop(params.text_document.uri, None)
    if handle is not None:
        handle.cancel()
    if doc is not None and doc.path is not None and doc.folder is not None:
        try:
            on_disk = doc.path.read_bytes()
        except OSError:
            on_disk = None
        if on_disk != doc.data:    # closed without saving: the index follows the disk again
            ls.reindex_from_disk(doc.path)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: CodeintelServer, params: lsp.DidChangeWatchedFilesParams):
    for change in params.changes:
        if change.uri in ls.documents:
            continue          # an open buffer is authoritative for its file
        path = path_of(change.uri)
        if path is None or ".codeintel" in path.parts or ".git" in path.parts:
            continue
        if change.type == lsp.FileChangeType.Deleted or path.is_file():
            ls.reindex_from_disk(path)


# -------------------------------------------------------------------- navigation
@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
async def document_symbol(ls: CodeintelServer, params: lsp.DocumentSymbolParams):
    """The buffer's symbol tree; the extraction and the answer's encoding (seconds for a large
    buffer) run in the read pool, so the loop answers hover, cancellation… meanwhile."""
    loop, uri = asyncio.get_running_loop(), params.text_document.uri
    doc = ls.documents.get(uri)
    if doc is not None and doc.stale:
        await ls.refresh_off_loop(doc)
    elif doc is None:
        doc = await loop.run_in_executor(ls.read_pool, ls.from_disk, uri)
        if doc is None:
            return None
    buffer, encoding = doc.buffer, ls.encoding

    def convert(node) -> lsp.DocumentSymbol:
        sym = node["symbol"]
        return lsp.DocumentSymbol(
            name=sym.name, kind=_KINDS.get(sym.kind, lsp.SymbolKind.Variable),
            range=to_range(node["range"], encoding), selection_range=to_range(node["selection"], encoding),
            detail=sym.signature or None, children=[convert(child) for child in node["children"]])

    def answer() -> RawJson:
        return RawJson(json.dumps([_CONVERTER.unstructure(convert(node)) for node in navigation.symbol_tree(buffer)]))

    return await loop.run_in_executor(ls.read_pool, answer)


@server.feature(lsp.WORKSPACE_SYMBOL)
@index_errors
async def workspace_symbol(ls: CodeintelServer, params: lsp.WorkspaceSymbolParams):
    await ls.whole_index(list(ls.folders), "symbols")

    def search():
        out = []
        for folder in ls.folders:
            if folder.reader is None:
                continue
            rows = folder.reader.symbols(params.query or None, limit=200)
            places = navigation.definition_places(folder.reader, navigation.Buffer(None, b""), rows)
            for row, place in zip(rows, places):
                out.append(lsp.SymbolInformation(
                    name=row["qualname"], kind=_KINDS.get(row["kind"], lsp.SymbolKind.Variable),
                    location=lsp.Location(from_fs_path(str(folder.root / row["path"])), to_range(place, ls.encoding)),
                    container_name=row["qualname"].rsplit(".", 1)[0] if "." in row["qualname"] else None))
        return out
    return await asyncio.get_running_loop().run_in_executor(ls.read_pool, search)


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
@index_errors
def definition(ls: CodeintelServer, params: lsp.DefinitionParams):
    doc, store, line, col = ls.at(params)
    if doc is None:
        return None
    syms = navigation.definitions(store, doc.buffer, line, col)
    places = navigation.definition_places(store, doc.buffer, syms)
    return [lsp.Location(ls.uri_of(doc.folder, doc, p.path), to_range(p, ls.encoding)) for p in places] or None


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
@index_errors
async def references(ls: CodeintelServer, params: lsp.ReferenceParams):
    """Every use, as JSON text written directly (see ``positions.hit_locations``); streamed as
    $/progress batches when the client sent a partialResultToken (the response is then empty);
    at most ``references.maxResults`` locations when that setting is given."""
    if (doc := ls.document(params.text_document.uri)) is not None:
        await ls.whole_index([doc.folder], "references")   # the first index: wait, or say the answer is partial
    doc, store, line, col = ls.at(params)
    if doc is None:
        return None
    include = params.context.include_declaration if params.context else True
    token = params.partial_result_token
    limit = ls.settings_for(doc.folder).references_limit
    encoding, loop, cancelled = ls.encoding, asyncio.get_running_loop(), threading.Event()

    def send(batch: list[str]) -> None:
        post(loop, ls.protocol.send_progress_raw, token, RawJson.array(batch))

    def find():
        out: list[str] = []
        sent, first = 0, True
        for hits in navigation.reference_hits(store, doc.buffer, line, col, include, cancelled=cancelled.is_set):
            out += hit_locations(ls.uri_of(doc.folder, doc, hits.path), hits, encoding)
            if limit and sent + len(out) >= limit:
                del out[limit - sent:]
                break
            if token is not None and (first or len(out) >= PARTIAL_BATCH):
                send(out)     # the first file's at once (the definitions), then in batches
                sent, out, first = sent + len(out), [], False
        if token is not None:
            if out:
                send(out)
            return RawJson("[]") if sent or out else None
        return RawJson.array(out) if out else None
    try:
        return await loop.run_in_executor(ls.read_pool, find)
    except asyncio.CancelledError:
        cancelled.set()
        raise


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
@index_errors
def hover(ls: CodeintelServer, params: lsp.HoverParams):
    doc, store, line, col = ls.at(params)
    if doc is None:
        return None
    word = navigation.word_at(doc.buffer, line, col)
    text = navigation.hover_markdown(navigation.definitions(store, doc.buffer, line, col))
    if word is None or text is None:
        return None
    raw = doc.buffer.line_bytes(line)
    place = navigation.Place(doc.rel, line, word.col, line, word.end_col, raw, raw)
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text),
                     range=to_range(place, ls.encoding))


# -------------------------------------------------------------------- completion
async def _candidates(ls: CodeintelServer, uri: str, position: lsp.Position, identifiers: bool):
    doc, store, line, col = ls.at(lsp.TextDocumentPositionParams(lsp.TextDocumentIdentifier(uri), position))
    if doc is None:
        return None, None, []
    # a newer request of the same kind supersedes an older one; a list completion and the inline
    # request that follows it (VS Code sends both after a ".") are not the same kind
    key = f"{uri}#{'list' if identifiers else 'inline'}"
    event = ls.cancellation.start(key)
    settings = ls.settings_for(doc.folder)
    root = doc.folder.root if doc.folder else None
    try:
        found = await asyncio.get_running_loop().run_in_executor(
            ls.model_pool, lambda: candidates(store, doc.buffer, line, col, root, doc.rel, settings.completion,
                                              event.is_set, identifiers=identifiers))
    except asyncio.CancelledError:
        event.set()
        raise
    finally:
        ls.cancellation.finish(key, event)
    if event.is_set():   # a newer request for this document took over
        raise JsonRpcException("superseded by a newer completion request", -32800)
    return doc, (line, col), found


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION,
                lsp.CompletionOptions(trigger_characters=["."], resolve_provider=False))
@index_errors
async def completion(ls: CodeintelServer, params: lsp.CompletionParams):
    doc, where, found = await _candidates(ls, params.text_document.uri, params.position, identifiers=True)
    if doc is None:
        return None
    line, col = where
    prefix = navigation.prefix_at(doc.buffer, line, col)
    raw = doc.buffer.line_bytes(line)
    start = navigation.Place(doc.rel, line, col - len(prefix.encode()), line, col, raw, raw)
    here = navigation.Place(doc.rel, line, col, line, col, raw, raw)
    items = []
    for rank, cand in enumerate(c for c in found if worth_listing(c.text)):
        rng = to_range(start if cand.replaces_prefix else here, ls.encoding)
        items.append(lsp.CompletionItem(
            label=cand.label if cand.replaces_prefix else (prefix + cand.label)[:120],
            kind=_COMPLETION_KINDS.get(cand.kind, lsp.CompletionItemKind.Text if not cand.replaces_prefix
                                       else lsp.CompletionItemKind.Variable),
            detail=f"codeintel: {cand.source}",
            sort_text=f"{rank:04d}",
            filter_text=cand.text if cand.replaces_prefix else prefix + cand.text,
            text_edit=lsp.TextEdit(rng, cand.text),
            data={"source": cand.source}))
    return lsp.CompletionList(is_incomplete=True, items=items)


@server.feature(lsp.TEXT_DOCUMENT_INLINE_COMPLETION, lsp.InlineCompletionOptions())
@index_errors
async def inline_completion(ls: CodeintelServer, params: lsp.InlineCompletionParams):
    doc, where, found = await _candidates(ls, params.text_document.uri, params.position, identifiers=False)
    if doc is None:
        return None
    line, col = where
    raw = doc.buffer.line_bytes(line)
    rng = to_range(navigation.Place(doc.rel, line, col, line, col, raw, raw), ls.encoding)
    return lsp.InlineCompletionList(items=[
        lsp.InlineCompletionItem(insert_text=c.text, range=rng,
                                 command=None, filter_text=None) for c in found if c.text])


# -------------------------------------------------------------------- merge conflicts
async def _resolution(ls: CodeintelServer, doc: OpenDocument):
    from codeintel.models.registry import model_stamp

    root = doc.folder.root if doc.folder else None
    threshold = ls.settings_for(doc.folder).merge_threshold
    # a newly trained model, or another threshold, resolves again
    key = (doc.uri, doc.version, model_stamp(root, "merge"), threshold)
    if key in ls._resolutions:
        return ls._resolutions[key]
    text = doc.data.decode("utf-8", "surrogateescape")
    event = threading.Event()
    try:
        result = await asyncio.get_running_loop().run_in_executor(
            ls.model_pool, lambda: resolve_document(doc.uri, text, doc.path, root, ls.resolvers, threshold,
                                                    ls.encoding, event.is_set))
    except asyncio.CancelledError:
        event.set()
        raise
    if doc.version is not None:
        ls._resolutions = {k: v for k, v in ls._resolutions.items() if k[0] != doc.uri}
        ls._resolutions[key] = result
    return result


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION,
                lsp.CodeActionOptions(code_action_kinds=[lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.RefactorRewrite],
                                      resolve_provider=True))
async def code_action(ls: CodeintelServer, params: lsp.CodeActionParams):
    doc = ls.document(params.text_document.uri)
    if doc is None:
        return None
    actions = finding_actions(doc.findings, params.range.start.line, params.range.end.line)
    actions += generate_actions(ls, doc, params.range.start.line)
    if b"<<<<<<<" not in doc.data:
        return actions or None
    conflicts = conflict_diagnostics(doc.data.decode("utf-8", "surrogateescape"), ls.encoding)
    touched = [d for d in conflicts if d.range.start.line <= params.range.end.line
               and params.range.start.line <= d.range.end.line]
    if not touched:
        return actions or None
    result = await _resolution(ls, doc)
    if result.edit is None:
        # enabled, so that the editor shows it (VS Code hides a disabled quick fix), and its title
        # says why; no command (lsprotocol's clients would read an action with one as a Command)
        why = result.reason(conflicts.index(touched[0]))
        action = lsp.CodeAction(title=f"{RESOLVE_TITLE}: not resolved, {why}", kind=lsp.CodeActionKind.QuickFix,
                                diagnostics=touched, is_preferred=False)
    else:
        action = lsp.CodeAction(title=f"{RESOLVE_TITLE} ({result.resolved} of {result.resolved + result.left})",
                                kind=lsp.CodeActionKind.QuickFix, diagnostics=touched, is_preferred=True,
                                edit=result.edit)
    return [action] + actions


# -------------------------------------------------------------------- commands
def _folder_of_args(ls: CodeintelServer) -> Folder:
    if not ls.folders:
        raise JsonRpcException("codeintel: no workspace folder is open", REQUEST_FAILED)
    return ls.folders[0]


@server.command("codeintel.index")
async def cmd_index(ls: CodeintelServer, *args):
    results = []
    for folder in list(ls.folders):
        if folder.reader is None and folder.open() is not None:
            raise JsonRpcException(f"codeintel: {folder.problem}", REQUEST_FAILED)
        results.append(await ls.index_with_progress(folder, f"Indexing {folder.root.name}", history=True))
    if not results:
        raise JsonRpcException("codeintel: no workspace folder is open", REQUEST_FAILED)
    total = {key: sum(r[key] for r in results) for key in ("files", "parsed", "unchanged", "deleted", "skipped")}
    return {**total, "folders": results}


@server.command("codeintel.train")
async def cmd_train(ls: CodeintelServer, *args):
    folder = _folder_of_args(ls)
    feature = args[0] if args else None
    progress = ls.progress(f"Training the {feature} model")
    await progress.begin()
    result = await commands.train(folder.root, feature, progress.report)
    progress.end(result["message"].splitlines()[-1] if result["message"] else "")
    return result


@server.command("codeintel.report")
async def cmd_report(ls: CodeintelServer, *args):
    folder = _folder_of_args(ls)
    return await asyncio.get_running_loop().run_in_executor(
        ls.read_pool, lambda: commands.report(folder.root, args[0] if args else {}))


@server.command(SHOW_LOCATION)
async def cmd_show_location(ls: CodeintelServer, *args):
    """Open a location in the editor (the near-duplicate's code action): window/showDocument."""
    if len(args) < 1 or not isinstance(args[0], str):
        raise JsonRpcInvalidParams(f"{SHOW_LOCATION} needs a uri and optionally a range")
    selection = None
    if len(args) > 1 and isinstance(args[1], dict):
        try:
            start, end = args[1]["start"], args[1]["end"]
            selection = lsp.Range(lsp.Position(int(start["line"]), int(start["character"])),
                                  lsp.Position(int(end["line"]), int(end["character"])))
        except (KeyError, TypeError, ValueError):
            raise JsonRpcInvalidParams(f"{SHOW_LOCATION}: the range is not an LSP range") from None
    answer = await ls.window_show_document_async(
        lsp.ShowDocumentParams(uri=args[0], take_focus=True, selection=selection))
    return {"shown": bool(answer and answer.success)}


@server.command("codeintel.installMergeDriver")
def cmd_install_merge_driver(ls: CodeintelServer, *args):
    return commands.install_merge_driver(_folder_of_args(ls).root)


@server.command("codeintel.resolveConflicts")
async def cmd_resolve_conflicts(ls: CodeintelServer, *args):
    uri = args[0] if args else None
    if not isinstance(uri, str):
        raise JsonRpcInvalidParams("codeintel.resolveConflicts needs the document's uri")
    doc = ls.document(uri)
    if doc is None:
        raise JsonRpcException(f"codeintel: no such document: {uri}", REQUEST_FAILED)
    result = await _resolution(ls, doc)
    ls.window_show_message(lsp.ShowMessageParams(lsp.MessageType.Info, f"codeintel: {result.message}"))
    if result.edit is None:
        return lsp.WorkspaceEdit(changes={})
    answer = await ls.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(edit=result.edit, label=RESOLVE_TITLE))
    if not answer.applied:
        log.warning("the client did not apply the edit: %s", answer.failure_reason)
    return result.edit


