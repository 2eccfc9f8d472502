"""Sketch-based generation in the editor: the code action "Generate from docstring/comment"
on a function stub (a body of only a docstring, ``...`` or ``pass``) or a comment line, and
the command ``codeintel.generate`` ([uri, line]) that applies the same edit.

The code action is cheap: it only finds the stub or comment (``codeintel.sketch.stubs``). Its
WorkspaceEdit is computed when the client resolves the action (``codeAction/resolve``, for
clients that can resolve ``edit``); other clients get the command instead. Generation runs on
the server's model thread (``codeintel.sketch.generate``), never on the message loop.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Optional

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from .positions import to_client_col
from .server import REQUEST_FAILED, CodeintelServer, server

log = logging.getLogger(__name__)

GENERATE_COMMAND = "codeintel.generate"
KIND = lsp.CodeActionKind.RefactorRewrite
_TAG = "codeintel.generate"


def _title(request) -> str:
    return "Generate from docstring (codeintel)" if request.kind == "stub" else "Generate from comment (codeintel)"


def _client_resolves_edit(ls: CodeintelServer) -> bool:
    caps = ls.client_capabilities.text_document
    action = caps.code_action if caps else None
    support = action.resolve_support if action else None
    return bool(support and "edit" in (support.properties or []))


def generate_actions(ls: CodeintelServer, doc, line: int) -> list[lsp.CodeAction]:
    """The generation action at 0-based ``line`` of ``doc`` (none when it is no stub or comment)."""
    from codeintel.sketch.stubs import request_at

    if doc.folder is None or doc.rel is None or not doc.rel.endswith((".py", ".pyi")):
        return []
    request = request_at(doc.data.decode("utf-8", "surrogateescape"), line)
    if request is None:
        return []
    action = lsp.CodeAction(title=_title(request), kind=KIND,
                            data={"tag": _TAG, "uri": doc.uri, "line": line, "version": doc.version})
    if not _client_resolves_edit(ls):
        action.command = lsp.Command(title=_title(request), command=GENERATE_COMMAND, arguments=[doc.uri, line])
    return [action]


def _position(lines: list[bytes], line: int, encoding) -> lsp.Position:
    if line < len(lines):
        return lsp.Position(line, 0)
    last = lines[-1] if lines else b""
    return lsp.Position(max(0, len(lines) - 1), to_client_col(last, len(last), encoding))


async def generation_edit(ls: CodeintelServer, doc, line: int) -> tuple[Optional[lsp.WorkspaceEdit], str]:
    """The WorkspaceEdit that fills the stub (or writes the function after the comment) at
    ``line``, and a one-line message; (None, why) when there is nothing to do."""
    from codeintel.sketch import Cancelled, NothingToGenerate, generate
    from codeintel.sketch.stubs import replacement, request_at
    from codeintel.store import StoreError

    text = doc.data.decode("utf-8", "surrogateescape")
    request = request_at(text, line)
    if request is None:
        return None, f"line {line + 1} is not a function stub with a docstring or a comment"
    root = doc.folder.root
    version = doc.version

    def work():
        return generate(root, request.requirement, rel_path=doc.rel, line=request.function_line,
                        signature=request.signature, )

    try:
        result = await asyncio.get_running_loop().run_in_executor(ls.model_pool, work)
    except (NothingToGenerate, StoreError, ValueError) as exc:
        return None, str(exc)
    except Cancelled:
        return None, "cancelled"
    if doc.version != version:
        return None, "the document changed while generating; try again"
    lines = doc.data.split(b"\n")
    new_text = replacement(request, result.code, result.body)
    start, end = _position(lines, request.start, ls.encoding), _position(lines, request.end, ls.encoding)
    if request.start >= len(lines):
        new_text = "\n" + new_text
    edit = lsp.WorkspaceEdit(changes={doc.uri: [lsp.TextEdit(lsp.Range(start, end), new_text)]})
    return edit, f"generated ({result.source}{'' if result.parses else ', does not parse'})"


@server.feature(lsp.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: CodeintelServer, action: lsp.CodeAction):
    data = action.data if isinstance(action.data, dict) else {}
    if data.get("tag") != _TAG or action.edit is not None:
        return action
    doc = ls.document(str(data.get("uri")))
    if doc is None:
        raise JsonRpcException(f"codeintel: no such document: {data.get('uri')}", REQUEST_FAILED)
    edit, message = await generation_edit(ls, doc, int(data.get("line", 0)))
    if edit is None:
        raise JsonRpcException(f"codeintel: {message}", REQUEST_FAILED)
    action.edit = edit
    return action


@server.command(GENERATE_COMMAND)
async def cmd_generate(ls: CodeintelServer, *args):
    if len(args) < 2 or not isinstance(args[0], str) or not isinstance(args[1], int):
        raise JsonRpcInvalidParams(f"{GENERATE_COMMAND} needs [uri, line] (line 0-based)")
    doc = ls.document(args[0])
    if doc is None:
        raise JsonRpcException(f"codeintel: no such document: {args[0]}", REQUEST_FAILED)
    edit, message = await generation_edit(ls, doc, args[1])
    if edit is None:
        raise JsonRpcException(f"codeintel: {message}", REQUEST_FAILED)
    answer = await ls.workspace_apply_edit_async(lsp.ApplyWorkspaceEditParams(edit=edit, label="Generate (codeintel)"))
    if not answer.applied:
        log.warning("the client did not apply the edit: %s", answer.failure_reason)
    return edit
