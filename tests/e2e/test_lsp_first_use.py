"""What a new user met in a real editor (issue #25), over stdio: the first index's answers
(references wait for it, or say they are partial), a completion list and the inline request
VS Code sends right after it (neither cancels the other), a list that offers no bare quote, and
a file watcher that does not include the server's own `.codeintel/` and `.git/`."""
from __future__ import annotations

import asyncio
import os
import re
import time

import pytest
from lsprotocol import types as lsp

from conftest import commit_all
from lsp_support import APP, RawClient, lsp_session, make_repo, open_doc, position_of, uri, until

pytestmark = [pytest.mark.timeout(180)]

FILES = 300      # enough that the first index takes a while


def _many_callers(tmp_path):
    """A repository of FILES modules that each call ``call_later`` (no index yet)."""
    repo = make_repo(tmp_path, index=False)
    (repo / "pkg" / "timing.py").write_text("def call_later(delay, fn):\n    return fn\n")
    for i in range(FILES):
        (repo / "pkg" / f"user_{i}.py").write_text(
            f"from pkg.timing import call_later\n\n\ndef use_{i}(fn):\n    return call_later({i}, fn)\n")
    commit_all(repo, "callers")
    assert not (repo / ".codeintel" / "index.db").exists()
    return repo


async def _references(client, repo):
    text = (repo / "pkg" / "timing.py").read_text()
    doc = open_doc(client, repo / "pkg" / "timing.py", text)
    return await client.text_document_references_async(lsp.ReferenceParams(
        text_document=lsp.TextDocumentIdentifier(doc), position=position_of(text, "call_later", 1),
        context=lsp.ReferenceContext(include_declaration=False)))


@pytest.mark.asyncio
async def test_references_during_the_first_index_wait_for_it(tmp_path):
    repo = _many_callers(tmp_path)
    async with lsp_session(repo) as client:
        found = await _references(client, repo)
        users = {loc.uri for loc in found or [] if "/user_" in loc.uri}
        assert len(users) == FILES, f"{len(users)} of {FILES} files: a partial answer"


@pytest.mark.asyncio
async def test_references_past_the_wait_say_they_are_partial(tmp_path, monkeypatch):
    repo = _many_callers(tmp_path)
    monkeypatch.setenv("CODEINTEL_LSP_FIRST_INDEX_WAIT", "0")
    async with lsp_session(repo) as client:
        await _references(client, repo)     # answered at once, from what is indexed so far
        said = [m.message for m in client.messages if "partial" in m.message]
        assert said and "indexed for the first time" in said[0], [m.message for m in client.messages]


@pytest.mark.asyncio
async def test_a_completion_list_and_the_inline_request_after_it_both_answer(tmp_path):
    repo = make_repo(tmp_path)
    text = APP + "\n\ndef later():\n    return make_s"
    end = position_of(text, "make_s", offset=len("make_s"), nth=2)
    async with lsp_session(repo) as client:
        doc = open_doc(client, repo / "app.py", text)
        for _ in range(4):       # as VS Code does after a ".": the list, then at once the inline request
            listed, inline = await asyncio.gather(
                client.text_document_completion_async(lsp.CompletionParams(
                    text_document=lsp.TextDocumentIdentifier(doc), position=end)),
                client.text_document_inline_completion_async(lsp.InlineCompletionParams(
                    text_document=lsp.TextDocumentIdentifier(doc), position=end,
                    context=lsp.InlineCompletionContext(trigger_kind=lsp.InlineCompletionTriggerKind.Automatic))))
            assert any(item.label == "make_shape" for item in listed.items)


def test_a_list_entry_is_never_only_punctuation():
    from lsp.completion import worth_listing

    assert not any(worth_listing(t) for t in ('"', "'", "()", ")", ":", ' "', "\"'", "."))
    assert all(worth_listing(t) for t in ("clock", "_x", '"name"', "(2.0)", "tick()"))


def _glob_regex(glob: str) -> re.Pattern:
    """An LSP glob (``**``, ``*``, ``{a,b}``) as a regular expression over a relative path."""
    out, i = "", 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif glob[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif glob[i] == "{":
            end = glob.index("}", i)
            out, i = out + "(?:" + "|".join(re.escape(p) for p in glob[i + 1:end].split(",")) + ")", end + 1
        else:
            out, i = out + re.escape(glob[i]), i + 1
    return re.compile(out)


def test_the_file_watcher_leaves_out_the_servers_own_files(tmp_path):
    repo = make_repo(tmp_path)
    client = RawClient(repo)
    try:
        client.request(1, "initialize", {"processId": None, "rootUri": uri(repo), "capabilities": {
            "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}}}})
        client.response(1)
        client.notify("initialized", {})
        deadline = time.monotonic() + 30
        while not any(m.get("method") == "client/registerCapability" for m in list(client.messages)):
            assert time.monotonic() < deadline, "no registration"
            time.sleep(0.05)
        (registration,) = next(m for m in client.messages
                               if m.get("method") == "client/registerCapability")["params"]["registrations"]
        globs = [w["globPattern"] for w in registration["registerOptions"]["watchers"]]
        matches = lambda path: any(_glob_regex(g).fullmatch(path) for g in globs)   # noqa: E731
        assert matches("app.py") and matches("pkg/shapes.py") and matches("src/lib.rs") and matches("a/b/c.tsx")
        for own in (".codeintel/index.db-wal", ".codeintel/index.db", ".git/index", ".git/ORIG_HEAD"):
            assert not matches(own), (own, globs)
    finally:
        assert client.close() == 0
