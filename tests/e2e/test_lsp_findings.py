"""The learned features' findings in the editor, over stdio: near-duplicate hints with the other
copy as related information, the code action that opens it (window/showDocument), and the
setting that turns them off."""
from __future__ import annotations

import asyncio

import pytest
from lsprotocol import types as lsp

from conftest import cli, commit_all, init_repo
from lsp_support import decode_code_actions_as_such, indexed_repo, lsp_session, open_doc, until, uri

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

ORIGINAL = '''def mean_and_spread(values):
    """Mean and standard deviation of a list of numbers."""
    total = 0.0
    for value in values:
        total += value
    mean = total / len(values)
    squares = 0.0
    for value in values:
        squares += (value - mean) ** 2
    spread = (squares / len(values)) ** 0.5
    if spread > mean:
        print("spread exceeds mean", mean, spread)
    return mean, spread
'''

# the same function with every name changed: a clone that text search would not find
RENAMED = '''import os


def summary(numbers):
    acc = 0.0
    for n in numbers:
        acc += n
    avg = acc / len(numbers)
    sq = 0.0
    for n in numbers:
        sq += (n - avg) ** 2
    dev = (sq / len(numbers)) ** 0.5
    if dev > avg:
        print("spread exceeds mean", avg, dev)
    return avg, dev


def unrelated(path):
    return os.path.basename(path).upper()
'''


def _repo(tmp_path):
    return indexed_repo(tmp_path / "repo", {"stats.py": ORIGINAL, "report.py": RENAMED})


async def test_near_duplicate_hint_related_information_and_open_action(tmp_path):
    repo = _repo(tmp_path)
    async with lsp_session(repo) as client:
        decode_code_actions_as_such(client)
        doc = open_doc(client, repo / "report.py")
        hints = await until(lambda: [d for d in client.diagnostics.get(doc, []) if d.code == "near-duplicate"])
        assert len(hints) == 1, hints        # `unrelated` has no copy
        hint = hints[0]
        assert hint.severity == lsp.DiagnosticSeverity.Hint and hint.source == "codeintel"
        assert hint.range.start.line == RENAMED.splitlines().index("def summary(numbers):")
        assert "near-duplicate of mean_and_spread in stats.py:1" in hint.message
        similarity = float(hint.message.rsplit("(", 1)[1].rstrip(")"))
        assert 0.5 <= similarity <= 1.0
        related = hint.related_information[0].location
        assert related.uri == uri(repo / "stats.py") and related.range.start.line == 0

        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(doc), range=hint.range,
            context=lsp.CodeActionContext(diagnostics=[hint])))
        opening = [a for a in actions if a.title.startswith("Open the near-duplicate mean_and_spread")]
        assert len(opening) == 1 and isinstance(opening[0], lsp.CodeAction)
        assert opening[0].kind == lsp.CodeActionKind.QuickFix and opening[0].diagnostics[0].code == "near-duplicate"
        command = opening[0].command
        answer = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
            command=command.command, arguments=command.arguments))
        assert answer == {"shown": True}
        shown = client.shown_documents[-1]
        assert shown.uri == uri(repo / "stats.py") and shown.selection.start.line == 0
        assert shown.selection.end.line == len(ORIGINAL.splitlines())

        # no action on a line without a finding
        none = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(doc), range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
            context=lsp.CodeActionContext(diagnostics=[])))
        assert not none


async def test_near_duplicate_hints_can_be_turned_off(tmp_path):
    repo = _repo(tmp_path)
    settings = {"codeintel": {"diagnostics": {"nearDuplicates": False}}}
    async with lsp_session(repo, configuration=settings) as client:
        doc = open_doc(client, repo / "report.py")
        # a document with conflict markers proves diagnostics are flowing; the hint never comes
        marked = repo / "marked.py"
        marked.write_text("x = 1\n<<<<<<< HEAD\ny = 2\n=======\ny = 3\n>>>>>>> theirs\n")
        other = open_doc(client, marked)
        await until(lambda: client.diagnostics.get(other))
        await asyncio.sleep(1.0)
        assert not [d for d in client.diagnostics.get(doc, []) if d.code == "near-duplicate"]


# ------------------------------------------------------------------------------ learned edits
FETCH = '''def get(url):
    data = fetch(url)
    return data


def load_all(urls):
    return [fetch(u) for u in urls]
'''
JOBS = "def run(job):\n    page = fetch(job.url)\n    return page\n"


async def test_the_users_edit_is_offered_where_it_fits_too_and_everywhere(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / "api.py").write_text(FETCH)
    (repo / "jobs.py").write_text(JOBS)
    commit_all(repo, "first")
    cli("index", repo, "--quiet", check=0)
    # the user's uncommitted edit: a timeout on one call of fetch
    (repo / "api.py").write_text(FETCH.replace("data = fetch(url)", "data = fetch(url, timeout=10)"))
    async with lsp_session(repo) as client:
        decode_code_actions_as_such(client)
        doc = open_doc(client, repo / "jobs.py")
        hints = await until(lambda: [d for d in client.diagnostics.get(doc, []) if d.code == "propagated-edit"])
        assert len(hints) == 1
        hint = hints[0]
        assert hint.severity == lsp.DiagnosticSeverity.Hint and hint.range.start.line == 0
        assert "api.py:get" in hint.message and "fits here too" in hint.message
        actions = await client.text_document_code_action_async(lsp.CodeActionParams(
            text_document=lsp.TextDocumentIdentifier(doc), range=hint.range,
            context=lsp.CodeActionContext(diagnostics=[hint])))
        by_title = {a.title.split(" (")[0]: a for a in actions}
        here = by_title["Apply your edit here"]
        assert here.is_preferred and list(here.edit.changes) == [doc]
        (edit,) = here.edit.changes[doc]
        assert "page = fetch(job.url, timeout=10)" in edit.new_text
        assert edit.range.start == lsp.Position(0, 0) and edit.range.end.line == 2
        everywhere = by_title["Apply this edit everywhere"]
        assert "2 places" in everywhere.title
        api = uri(repo / "api.py")
        assert set(everywhere.edit.changes) == {doc, api}
        (api_edit,) = everywhere.edit.changes[api]
        assert api_edit.new_text == "def load_all(urls):\n    return [fetch(u, timeout=10) for u in urls]"
        assert api_edit.range.start.line == 5


async def test_opening_many_documents_runs_the_propagation_once_per_work_tree_state(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / "api.py").write_text(FETCH)
    workers = {f"worker_{i}.py": f"def run_{i}(job):\n    page = fetch(job.url_{i})\n    return page\n"
               for i in range(4)}
    for name, text in workers.items():
        (repo / name).write_text(text)
    commit_all(repo, "first")
    cli("index", repo, "--quiet", check=0)
    (repo / "api.py").write_text(FETCH.replace("data = fetch(url)", "data = fetch(url, timeout=10)"))

    def runs() -> list[str]:
        return [m.message for m in client.log_messages if "edit propagation" in m.message]

    def hints(doc) -> list:
        return [d for d in client.diagnostics.get(doc, []) if d.code == "propagated-edit"]

    async with lsp_session(repo) as client:
        # the start-up refresh re-indexes api.py (edited since it was indexed): a new index version
        await until(lambda: any(isinstance(v, lsp.WorkDoneProgressEnd)
                                for values in client.progress_reports.values() for v in values))
        docs = [open_doc(client, repo / name) for name in workers]
        for doc in docs:     # every document got its hint...
            await until(lambda: hints(doc))
        assert len(runs()) == 1, runs()      # ...from one run of the propagation
        assert "5 place(s)" in runs()[0], runs()     # load_all and the four workers

        # the user changes the edit and saves: the work tree's diff differs, so it runs again
        api = open_doc(client, repo / "api.py")
        changed = FETCH.replace("data = fetch(url)", "data = fetch(url, retries=3)")
        (repo / "api.py").write_text(changed)
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=api, version=2), [lsp.TextDocumentContentChangeWholeDocument(changed)]))
        client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(api)))
        await until(lambda: len(runs()) >= 2)
        client.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(docs[0])))
        again = open_doc(client, repo / "worker_0.py", version=3)
        await until(lambda: any("retries=3" in str(d.data) for d in hints(again)))
        # once the saved buffer is in the index too, reopening with nothing changed runs nothing
        await asyncio.sleep(1.0)
        settled = len(runs())
        client.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(docs[1])))
        reopened = open_doc(client, repo / "worker_1.py", version=3)
        await until(lambda: any("retries=3" in str(d.data) for d in hints(reopened)))
        await asyncio.sleep(0.5)
        assert len(runs()) == settled, runs()
