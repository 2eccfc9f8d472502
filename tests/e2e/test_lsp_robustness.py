"""The language server under bad input: malformed JSON-RPC, malformed params, unknown methods and
documents, huge files, a locked index, $/cancelRequest. It must answer (an error or a degraded
result), never crash or hang."""
from __future__ import annotations

import asyncio
import sqlite3
import time

import psutil
import pytest
from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException

from lsp_support import symbols_named, APP, RawClient, lsp_session, make_repo, open_doc, position_of, uri

pytestmark = pytest.mark.timeout(120)


def test_malformed_messages_get_errors_and_the_server_keeps_answering(tmp_path):
    repo = make_repo(tmp_path)
    client = RawClient(repo)
    try:
        assert "capabilities" in client.initialize()["result"]
        client.send_bytes(b'{"jsonrpc": "2.0", "id": 2, "method": "textDocument/hover", ')   # cut short
        client.send_bytes(b"\xff\xfe not json at all")
        client.send_bytes(b"[1, 2, 3]")
        # well-formed JSON, params of the wrong shape: an InvalidParams answer to that id
        client.request(3, "textDocument/hover", {"textDocument": 5, "position": "here"})
        assert client.response(3)["error"]["code"] == -32602
        client.request(4, "no/such/method", {})
        assert client.response(4)["error"]["code"] == -32601
        # a document the client never opened and that does not exist: a null answer
        missing = {"textDocument": {"uri": uri(repo / "nope.py")}, "position": {"line": 0, "character": 0}}
        client.request(5, "textDocument/definition", missing)
        assert client.response(5)["result"] is None
        client.notify("textDocument/didChange", {"textDocument": {"uri": uri(repo / "nope.py"), "version": 2},
                                                 "contentChanges": [{"text": "x"}]})
        client.request(6, "textDocument/hover", {"textDocument": {"uri": "untitled:Untitled-1"},
                                                 "position": {"line": 0, "character": 0}})
        assert client.response(6)["result"] is None
        # after all that, real answers: a file not opened is read from disk
        at = position_of(APP, "make_shape(")
        client.request(7, "textDocument/definition", {"textDocument": {"uri": uri(repo / "app.py")},
                                                      "position": {"line": at.line, "character": at.character}})
        (loc,) = client.response(7)["result"]
        assert loc["uri"] == uri(repo / "pkg" / "shapes.py")
        # navigation never loads the heavy libraries
        maps = [m.path for m in psutil.Process(client.proc.pid).memory_maps()]
        assert not any("torch" in path or "transformers" in path for path in maps)
        assert client.close() == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()


def _training(server: psutil.Process) -> bool:
    for child in server.children(recursive=True):
        try:
            if "train" in child.cmdline():
                return True
        except psutil.Error:
            pass
    return False


def test_cancel_request_stops_the_work(tmp_path):
    repo = make_repo(tmp_path)
    client = RawClient(repo)
    try:
        client.initialize()
        server = psutil.Process(client.proc.pid)
        client.request(10, "workspace/executeCommand", {"command": "codeintel.train", "arguments": ["merge"]})
        for _ in range(100):   # the training subprocess has started
            if _training(server):
                break
            time.sleep(0.05)
        client.notify("$/cancelRequest", {"id": 10})
        assert client.response(10)["error"]["code"] == -32800
        for _ in range(100):
            if not _training(server):
                break
            time.sleep(0.05)
        assert not _training(server)
        client.request(11, "workspace/symbol", {"query": "Circle"})
        assert [s["name"] for s in client.response(11)["result"]][0] == "Circle"
        assert client.close() == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()


@pytest.mark.asyncio
async def test_huge_files_degrade_without_parsing(tmp_path):
    repo = make_repo(tmp_path)
    big = repo / "big.py"
    big.write_text("".join(f"def f{i}():\n    return {i}\n" for i in range(200)))   # ~4 KB
    async with lsp_session(repo, configuration={"codeintel": {"index": {"maxFileSize": "2K"}}}) as client:
        doc = open_doc(client, big)
        for _ in range(50):
            symbols = await client.text_document_document_symbol_async(
                lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(doc)))
            if not symbols:
                break
            await asyncio.sleep(0.1)   # the configuration arrives just after initialize
        assert symbols == []
        hover = await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(doc), lsp.Position(0, 5)))
        assert hover is None
        # a 30 MB buffer: opened, edited, asked about, all answered at once
        huge = "x = 1\n" * 5_000_000
        doc2 = open_doc(client, repo / "huge.py", huge)
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            text_document=lsp.VersionedTextDocumentIdentifier(uri=doc2, version=2),
            content_changes=[lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)), text="y = 2\n")]))
        started = time.monotonic()
        assert await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(doc2))) == []
        assert time.monotonic() - started < 10
        # other files are still served normally
        app = open_doc(client, repo / "app.py")
        found = await client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(app), position_of(APP, "make_shape(")))
        assert found[0].uri == uri(repo / "pkg" / "shapes.py")


@pytest.mark.asyncio
async def test_a_locked_index_delays_writes_but_not_answers(tmp_path):
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        await asyncio.sleep(1.0)   # let the start-up refresh finish
        lock = sqlite3.connect(str(repo / ".codeintel" / "index.db"), isolation_level=None)
        lock.execute("BEGIN IMMEDIATE")   # another process holds the write lock
        try:
            doc = open_doc(client, repo / "app.py")
            text = APP + "\n\ndef locked_out():\n    return main()\n"
            client.text_document_did_change(lsp.DidChangeTextDocumentParams(
                text_document=lsp.VersionedTextDocumentIdentifier(uri=doc, version=2),
                content_changes=[lsp.TextDocumentContentChangeWholeDocument(text=text)]))
            started = time.monotonic()
            found = await client.text_document_definition_async(lsp.DefinitionParams(
                lsp.TextDocumentIdentifier(doc), position_of(text, "main()")))
            assert found[0].range.start == position_of(text, "main")   # from the unsaved buffer
            refs = await client.text_document_references_async(lsp.ReferenceParams(
                text_document=lsp.TextDocumentIdentifier(doc), position=position_of(text, "Circle(2"),
                context=lsp.ReferenceContext(include_declaration=False)))
            assert {r.uri for r in refs} == {doc, uri(repo / "pkg" / "shapes.py")}
            assert time.monotonic() - started < 5   # not the 60 s a writer would wait for the lock
            with pytest.raises(JsonRpcException, match="cannot be written"):
                await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command="codeintel.index"))
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        # once the lock is gone the buffer reaches the index (the write is retried)
        found = await symbols_named(client, "locked_out", tries=150)
        assert [s.name for s in found] == ["locked_out"]


def test_tcp_transport_and_a_bad_address(tmp_path):
    import socket

    from conftest import cli
    from lsp_support import initialize_message, stop_listener, tcp_exchange, tcp_listener

    bad = cli("lsp", "--tcp", "no-port-here")
    assert bad.returncode == 2 and "expected HOST:PORT" in bad.stderr and "Traceback" not in bad.stderr

    repo = make_repo(tmp_path)
    proc, port = tcp_listener(env={"CODEINTEL_LSP_TOKEN": "s3cret"})
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
            answer = tcp_exchange(conn, initialize_message(repo, token="s3cret"))
        assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "codeintel"
        assert answer["result"]["capabilities"]["definitionProvider"]
    finally:
        stop_listener(proc)


def test_shutdown_during_the_first_index_exits_promptly_and_leaves_a_usable_index(tmp_path):
    from conftest import cli, cli_json

    repo = make_repo(tmp_path, index=False)
    for i in range(300):   # enough files for the indexer to want its worker pool
        (repo / "pkg" / f"gen_{i}.py").write_text("".join(f"def f_{i}_{j}(x):\n    return x + {j}\n"
                                                          for j in range(40)))
    client = RawClient(repo)
    try:
        client.initialize()
        for _ in range(300):     # until the server reports progress on building the index
            if any(m.get("method") == "$/progress" and m["params"]["value"].get("kind") == "report"
                   for m in list(client.messages)):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("no indexing progress reported")
        started = time.monotonic()
        assert client.close() == 0
        assert time.monotonic() - started < 15
    finally:
        if client.proc.poll() is None:
            client.proc.kill()
    stats = cli_json("stats", "--repo", repo)                   # consistent, whatever was done
    assert stats["files"].get("ok", 0) < 304                    # it really stopped half-way
    cli("index", repo, "--quiet", check=0)                      # and the next run finishes the job
    assert cli_json("symbols", "f_299_39", "--repo", repo)[0]["path"] == "pkg/gen_299.py"
