"""The language server over stdio (pytest-lsp): completion and inline completion, merge-conflict
diagnostics and the resolving code action, workspace/configuration, executeCommand."""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from conftest import git, init_repo
from lsp_support import (APP, apply_text_edit, lsp_session, make_repo, merge_conflict, open_doc, position_of,
                         record_applied_edits, until as _until)

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]


def _completion_module_present() -> bool:
    try:
        import codeintel.completion  # noqa: F401
        return True
    except ImportError:
        return False


# ------------------------------------------------------------------------------ completion
async def test_completion_offers_identifiers_from_buffer_and_index(tmp_path):
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        text = APP + "\n\ndef later():\n    return make_s"
        doc = open_doc(client, repo / "app.py", text)
        end = position_of(text, "make_s", offset=len("make_s"), nth=2)
        result = await client.text_document_completion_async(
            lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(doc), position=end))
        by_label = {item.label: item for item in result.items}
        assert "make_shape" in by_label
        item = by_label["make_shape"]
        assert item.data["source"].startswith("fallback:identifiers")
        assert item.detail == f"codeintel: {item.data['source']}"
        # the edit replaces the typed prefix (UTF-16 range on the last line)
        assert item.text_edit.new_text == "make_shape"
        assert item.text_edit.range.start.character == end.character - len("make_s")
        assert item.text_edit.range.end == end
        assert item.kind == lsp.CompletionItemKind.Function
        # names from the index that the buffer does not contain: `Shape` is only in pkg/shapes.py
        text2 = text + "\nx = Sha"
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=doc, version=2),
            content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text2)]))
        result = await client.text_document_completion_async(lsp.CompletionParams(
            text_document=lsp.TextDocumentIdentifier(doc), position=position_of(text2, "Sha", 3, nth=0)))
        shape = next(i for i in result.items if i.label == "Shape")
        assert shape.data["source"] == "fallback:identifiers (index)"
        assert shape.kind == lsp.CompletionItemKind.Class


async def test_completion_offers_the_ranked_rest_of_the_line(tmp_path):
    """Without a completion model the built-in ranker answers over the server, and says so."""
    if not _completion_module_present():
        pytest.skip("the completion feature is not installed")
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        text = APP + "\n\ndef other():\n    ring = Circ"
        doc = open_doc(client, repo / "app.py", text)
        end = position_of(text, "Circ", offset=len("Circ"), nth=2)
        result = await client.text_document_completion_async(
            lsp.CompletionParams(text_document=lsp.TextDocumentIdentifier(doc), position=end))
        ranked = [i for i in result.items if i.data and i.data["source"] == "ranker"]
        assert ranked, [(i.label, i.data) for i in result.items]
        texts = [i.text_edit.new_text if i.text_edit else i.insert_text for i in ranked]
        assert any(t.endswith("le(2.0)") for t in texts), texts
        assert all(i.detail == "codeintel: ranker" for i in ranked)
        # the editor typed ")" ahead of the cursor: the suggested rest of the line is inserted
        # without the bracket the line already has
        text = APP + "\n\ndef other():\n    ring = Circle()\n"
        doc = open_doc(client, repo / "other.py", text)
        here = position_of(text, "Circle()", offset=len("Circle("))
        texts = [i.insert_text for i in (await _inline(client, doc, here)).items]
        assert texts and texts[0] == "2.0", texts          # not "2.0)": the line reads Circle(2.0)


async def _inline(client, doc: str, position: lsp.Position):
    return await client.text_document_inline_completion_async(lsp.InlineCompletionParams(
        text_document=lsp.TextDocumentIdentifier(doc), position=position,
        context=lsp.InlineCompletionContext(trigger_kind=lsp.InlineCompletionTriggerKind.Invoked)))


async def test_inline_completion_is_advertised_and_answers(tmp_path):
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        assert client.init_result.capabilities.inline_completion_provider is not None
        text = APP + "\n\ndef later():\n    return make_s"
        doc = open_doc(client, repo / "app.py", text)
        end = position_of(text, "make_s", offset=len("make_s"), nth=2)
        result = await _inline(client, doc, end)
        assert result.items, "no inline suggestion"
        assert result.items[0].range.start == end
        if not _completion_module_present():
            assert result.items[0].insert_text == "hape"   # the rest of the identifier


# ------------------------------------------------------------------------------ merge conflicts
def _conflict_repo(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    merge_conflict(repo)
    return repo


def _merge_theirs(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x",
                               "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x"})


async def _code_actions(client, doc: str, line: int):
    return await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=lsp.TextDocumentIdentifier(doc),
        range=lsp.Range(lsp.Position(line, 0), lsp.Position(line, 0)),
        context=lsp.CodeActionContext(diagnostics=[])))


async def test_conflict_markers_diagnostics_and_resolving_code_action(tmp_path):
    repo = _conflict_repo(tmp_path)
    text = (repo / "m.py").read_text()
    # at a threshold no model reaches, the conflict is left whatever the built-in model thinks
    async with lsp_session(repo, configuration={"codeintel": {"merge": {"threshold": 1.0}}}) as client:
        doc = open_doc(client, repo / "m.py")
        diagnostics = await _until(lambda: client.diagnostics.get(doc))
        assert len(diagnostics) == 1
        d = diagnostics[0]
        lines = text.splitlines()
        assert d.range.start.line == next(i for i, l in enumerate(lines) if l.startswith("<<<<<<<"))
        assert d.range.end.line == next(i for i, l in enumerate(lines) if l.startswith(">>>>>>>"))
        assert d.severity == lsp.DiagnosticSeverity.Error and d.source == "codeintel"
        assert "'HEAD'" in d.message and "'theirs'" in d.message
        # the model is not that sure: the action is there, enabled (VS Code hides a disabled
        # quick fix), says why in its title and shows the whole answer when chosen
        actions = await _code_actions(client, doc, d.range.start.line + 1)
        assert len(actions) == 1 and actions[0].title.startswith("Resolve conflicts with codeintel: not resolved")
        assert actions[0].edit is None and actions[0].disabled is None and not actions[0].is_preferred
        assert "below the threshold 1.00" in actions[0].title, actions[0].title
        # no action away from the conflict
        assert await _code_actions(client, doc, 0) is None


async def test_threshold_from_workspace_configuration_lets_the_model_resolve(tmp_path):
    repo = _conflict_repo(tmp_path)
    text = (repo / "m.py").read_text()
    async with lsp_session(repo, configuration={"codeintel": {"merge": {"threshold": 0.0}}}) as client:
        doc = open_doc(client, repo / "m.py")
        await _until(lambda: client.diagnostics.get(doc))
        line = text.splitlines().index("=======")
        actions = await _until_value(lambda: _code_actions(client, doc, line),
                                     lambda a: a and a[0].edit is not None)
        action = actions[0]
        assert action.title == "Resolve conflicts with codeintel (1 of 1)" and action.disabled is None
        (edit,) = action.edit.changes[doc]
        resolved = apply_text_edit(text, edit)
        assert "<<<<<<<" not in resolved and ">>>>>>>" not in resolved
        assert resolved.startswith('import os\n\n\ndef handler(request):\n    value = request.get("k")\n')
        assert resolved.endswith("    return value\n")
        assert edit.range.start.line == text.splitlines().index(next(l for l in text.splitlines() if l.startswith("<<<")))
        # the same through executeCommand: the server asks the client to apply it
        applied = record_applied_edits(client)

        result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command="codeintel.resolveConflicts", arguments=[doc]))
        assert result["changes"][doc][0]["newText"] == edit.new_text
        assert applied and applied[0].changes[doc][0].new_text == edit.new_text
        # turning the diagnostics off clears them on the next change
        client.set_configuration({"codeintel": {"merge": {"threshold": 0.0},
                                                "diagnostics": {"conflictMarkers": False}}})
        client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
        await _until(lambda: doc in client.diagnostics and not client.diagnostics[doc])


async def _until_value(make, good, timeout: float = 30.0):
    value = None
    for _ in range(int(timeout / 0.2)):
        value = await make()
        if good(value):
            return value
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out; last value {value!r}")


async def test_missing_merge_model_degrades_with_a_reason(tmp_path):
    repo = _conflict_repo(tmp_path)
    empty = tmp_path / "no-models"
    empty.mkdir()
    os.environ["CODEINTEL_BUILTIN_MODELS"] = str(empty)
    try:
        async with lsp_session(repo) as client:
            doc = open_doc(client, repo / "m.py")
            await _until(lambda: client.diagnostics.get(doc))
            line = (repo / "m.py").read_text().splitlines().index("=======")
            actions = await _code_actions(client, doc, line)
            assert "no merge model" in actions[0].title and actions[0].disabled is None
            # a merge model saved in the repository while the server runs (what `codeintel train
            # merge` writes; here the built-in one) is used by the next request, without a restart
            import codeintel.models.registry as registry
            from codeintel import trust
            saved = repo / ".codeintel" / "models" / "merge"
            shutil.copytree(Path(registry.__file__).parent / "builtin" / "merge", saved)
            trust.record_own_model(saved)      # what save_model does: this user made it (no trust needed)
            actions = await _code_actions(client, doc, line)
            assert actions and "no merge model" not in actions[0].title
    finally:
        del os.environ["CODEINTEL_BUILTIN_MODELS"]


async def test_a_conflict_without_a_base_says_so_in_the_diagnostic_and_the_action(tmp_path):
    """git's default `merge` style: no base section, and once the merge is committed no stages in
    the index either, so the model cannot decide; the user reads why where they look."""
    repo = _conflict_repo(tmp_path)
    git(repo, "config", "merge.conflictStyle", "merge")
    git(repo, "merge", "--abort")
    proc = _merge_theirs(repo)
    assert proc.returncode != 0 and "|||||||" not in (repo / "m.py").read_text()
    git(repo, "add", "m.py")          # the markers committed as they are: the index has no stages
    async with lsp_session(repo, configuration={"codeintel": {"merge": {"threshold": 0.0}}}) as client:
        doc = open_doc(client, repo / "m.py")
        (d,) = await _until(lambda: client.diagnostics.get(doc))
        assert "no base section" in d.message and "diff3" in d.message, d.message
        actions = await _code_actions(client, doc, d.range.start.line + 1)
        assert len(actions) == 1 and actions[0].disabled is None and actions[0].edit is None
        assert "no base version" in actions[0].title and "diff3" in actions[0].title, actions[0].title


async def test_a_new_threshold_applies_without_a_restart(tmp_path):
    repo = _conflict_repo(tmp_path)
    line = (repo / "m.py").read_text().splitlines().index("=======")
    async with lsp_session(repo, configuration={"codeintel": {"merge": {"threshold": 1.0}}}) as client:
        doc = open_doc(client, repo / "m.py")
        await _until(lambda: client.diagnostics.get(doc))
        actions = await _code_actions(client, doc, line)
        assert actions[0].edit is None and "threshold 1.00" in actions[0].title
        client.set_configuration({"codeintel": {"merge": {"threshold": 0.0}}})
        client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
        actions = await _until_value(lambda: _code_actions(client, doc, line), lambda a: a and a[0].edit is not None,
                                     timeout=15)
        assert actions[0].title == "Resolve conflicts with codeintel (1 of 1)"


# ------------------------------------------------------------------------------ commands
async def test_execute_commands(tmp_path):
    repo = make_repo(tmp_path, index=False)
    async with lsp_session(repo) as client:
        caps = client.init_result.capabilities.execute_command_provider.commands
        assert {"codeintel.index", "codeintel.train", "codeintel.report", "codeintel.installMergeDriver",
                "codeintel.resolveConflicts"} <= set(caps)
        # no index yet: the server builds one, with work-done progress
        def ends():
            return [p for reports in client.progress_reports.values() for p in reports
                    if isinstance(p, lsp.WorkDoneProgressEnd)]
        first = await _until(ends)
        assert first[0].message == "4 files, 4 parsed"
        assert (repo / ".codeintel" / "index.db").exists()
        (repo / "extra.py").write_text("def extra_function():\n    return 1\n")
        result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="codeintel.index"))
        assert result["files"] == 5 and result["parsed"] == 1 and result["unchanged"] == 4
        assert result["folders"][0]["history"]   # the command mines the history too
        found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="extra_function"))
        assert [s.name for s in found] == ["extra_function"]
        assert len(ends()) == 2 and ends()[1].message == "5 files, 1 parsed"

        installed = await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="codeintel.installMergeDriver"))
        assert installed["ok"] and "merge=codeintel" in (repo / ".gitattributes").read_text()
        assert "codeintel" in git(repo, "config", "merge.codeintel.driver")

        trained = await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams(command="codeintel.train", arguments=["no-such-feature"]))
        assert trained["ok"] is False and "no-such-feature" in trained["message"]

        try:
            import codeintel.report  # noqa: F401
            has_report = True
        except ImportError:
            has_report = False
        if has_report:
            report = await client.workspace_execute_command_async(
                lsp.ExecuteCommandParams(command="codeintel.report", arguments=[{"format": "html"}]))
            assert Path(report["path"]).is_file()
        else:
            with pytest.raises(JsonRpcException, match="report is not available"):
                await client.workspace_execute_command_async(
                    lsp.ExecuteCommandParams(command="codeintel.report", arguments=[{"format": "html"}]))
        with pytest.raises(JsonRpcException):
            await client.workspace_execute_command_async(
                lsp.ExecuteCommandParams(command="codeintel.resolveConflicts", arguments=[42]))
