"""The language server over stdio (pytest-lsp): the "Generate from docstring/comment" code
action (resolved into a WorkspaceEdit) and the codeintel.generate command, on a real indexed
repository, with no sketch model (the copy fallback) so the expected code is known."""
from __future__ import annotations

import ast
import os
import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from lsp_support import apply_text_edit as _apply, decode_code_actions_as_such as _decode_code_actions_as_such
from lsp_support import lsp_session, open_doc, record_applied_edits
from sketch_repo import FILES, make_sketch_repo

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]


async def _actions(client, doc: str, line: int):
    return await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(doc), range=lsp.Range(lsp.Position(line, 0), lsp.Position(line, 0)),
        context=lsp.CodeActionContext(diagnostics=[])))


@pytest.fixture
def no_models(tmp_path):
    empty = tmp_path / "no-models"
    empty.mkdir()
    os.environ["CODEINTEL_BUILTIN_MODELS"] = str(empty)
    yield
    del os.environ["CODEINTEL_BUILTIN_MODELS"]


async def test_generate_code_action_and_command(tmp_path, no_models):
    repo = make_sketch_repo(tmp_path)
    text = FILES["app/main.py"]
    lines = text.splitlines()
    stub_line = lines.index("    ...")
    async with lsp_session(repo) as client:
        _decode_code_actions_as_such(client)
        doc = open_doc(client, repo / "app" / "main.py")
        caps = client.init_result.capabilities
        assert "codeintel.generate" in caps.execute_command_provider.commands
        assert caps.code_action_provider.resolve_provider
        actions = await _actions(client, doc, stub_line)
        (action,) = [a for a in actions if a.title.startswith("Generate")]
        assert action.title == "Generate from docstring (codeintel)" and action.kind == lsp.CodeActionKind.RefactorRewrite
        assert action.edit is None and action.command is None      # this client resolves the edit lazily
        resolved = await client.code_action_resolve_async(action)
        (edit,) = resolved.edit.changes[doc]
        assert (edit.range.start.line, edit.range.end.line) == (stub_line, stub_line + 1)
        assert edit.new_text.startswith("    ") and "..." not in edit.new_text
        new = _apply(text, edit)
        ast.parse(new)
        assert 'def load_lines(path):\n    """Return the lines of the file at path, without blank ones."""\n' in new

        # a comment line: the whole function is written after the comment block
        comment_line = lines.index("# count the lines of the file at path")
        (action,) = [a for a in await _actions(client, doc, comment_line) if a.title.startswith("Generate")]
        assert action.title == "Generate from comment (codeintel)"
        edit = (await client.code_action_resolve_async(action)).edit.changes[doc][0]
        assert edit.range.start.line == comment_line + 1 and edit.new_text.startswith("def ")
        ast.parse(_apply(text, edit))

        # nothing to generate on an ordinary line
        assert not [a for a in (await _actions(client, doc, 1)) or [] if a.title.startswith("Generate")]

        # the command: the server asks the client to apply the same edit
        applied = record_applied_edits(client)

        result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="codeintel.generate", arguments=[doc, stub_line]))
        new_text = result["changes"][doc][0]["newText"]
        assert applied and applied[0].changes[doc][0].new_text == new_text
        assert new_text.startswith("    ")
        with pytest.raises(JsonRpcException, match="needs \\[uri, line\\]"):
            await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
                command="codeintel.generate", arguments=[doc]))
        with pytest.raises(JsonRpcException, match="not a function stub"):
            await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
                command="codeintel.generate", arguments=[doc, 1]))


async def test_clients_without_resolve_get_the_command(tmp_path, no_models):
    repo = make_sketch_repo(tmp_path)
    async with lsp_session(repo, spec="emacs") as client:      # emacs 29 cannot resolve code actions
        _decode_code_actions_as_such(client)
        doc = open_doc(client, repo / "app" / "main.py")
        stub_line = FILES["app/main.py"].splitlines().index("    ...")
        actions = [a for a in await _actions(client, doc, stub_line) if a.title.startswith("Generate")]
        assert actions and actions[0].command.command == "codeintel.generate"
        assert list(actions[0].command.arguments) == [doc, stub_line]
