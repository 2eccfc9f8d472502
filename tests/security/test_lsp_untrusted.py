"""Issue #23, the language server: it answers only for documents inside its workspace folders
(a buffer opened from elsewhere is a lone file, never a way into another project's index), its
TCP mode takes LSP frames from a client that knows the token and nothing else, a slow
documentSymbol does not hold up other requests, and nothing of it ends in a traceback."""
from __future__ import annotations

import asyncio
import hashlib
import sys
import time
from pathlib import Path

import pytest
from lsprotocol import types as lsp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))

from lsp_support import indexed_repo, lsp_session, make_repo, open_doc, position_of, symbols_named, uri  # noqa: E402

pytestmark = [pytest.mark.timeout(120)]

SECRET_LIB = '''def secret_fn():
    """TOP SECRET: the other project's docstring."""
    return 42
'''
SECRET_USE = '''from lib import secret_fn


def caller():
    return secret_fn()
'''


def other_project(tmp_path: Path) -> Path:
    """Another indexed repository beside the workspace, not one of its folders."""
    return indexed_repo(tmp_path / "other", {"lib.py": SECRET_LIB, "use.py": SECRET_USE})


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.asyncio
async def test_files_outside_the_workspace_do_not_reach_another_index(tmp_path):
    repo = make_repo(tmp_path)
    other = other_project(tmp_path)
    index = other / ".codeintel" / "index.db"
    before = digest(index)
    use = other / "use.py"
    at = position_of(SECRET_USE, "secret_fn", 1, nth=1)
    async with lsp_session(repo) as client:
        # a file outside every folder, never opened: no answer at all
        hover = await client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(uri(use)), at))
        assert hover is None
        refs = await client.text_document_references_async(lsp.ReferenceParams(
            context=lsp.ReferenceContext(include_declaration=True),
            text_document=lsp.TextDocumentIdentifier(uri(use)), position=at))
        assert refs is None
        syms = await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(uri(other / "lib.py"))))
        assert not syms
        # opened (an unsaved buffer): a lone file, answered from its own text only
        text = SECRET_USE + "\n\ndef local_helper():\n    \"\"\"Only in this buffer.\"\"\"\n    return caller()\n"
        doc = open_doc(client, use, text)
        syms = await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(doc)))
        assert [s.name for s in syms] == ["caller", "local_helper"]
        hover = await client.text_document_hover_async(lsp.HoverParams(lsp.TextDocumentIdentifier(doc), at))
        assert hover is None or "TOP SECRET" not in hover.contents.value
        local = await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(doc), position_of(text, "caller", 1, nth=1)))
        assert local is not None and "caller" in local.contents.value
        definition = await client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(doc), at))
        assert not definition or all(loc.uri == doc for loc in definition)
        refs = await client.text_document_references_async(lsp.ReferenceParams(
            context=lsp.ReferenceContext(include_declaration=True),
            text_document=lsp.TextDocumentIdentifier(doc), position=at))
        assert all(loc.uri == doc for loc in refs or [])
        # the other project's index was neither searched nor written
        assert await symbols_named(client, "secret", tries=5) == []
        assert (await symbols_named(client, "Circle"))   # the workspace's own index still answers
        await asyncio.sleep(1.0)    # the debounced write of the buffer would have happened by now
    assert digest(index) == before


def huge_module(classes: int = 2000, methods: int = 8) -> str:
    """About 700 KB of Python (under the 1 MB default limit): seconds of symbol extraction."""
    return "\n".join(f"class C{i}:\n" + "".join(f"    def m{j}(self, x):\n        return x + {j}\n"
                                                for j in range(methods)) for i in range(classes))


@pytest.mark.asyncio
async def test_a_slow_document_symbol_does_not_hold_up_other_requests(tmp_path):
    repo = make_repo(tmp_path)
    big = repo / "big.py"
    text = huge_module()
    async with lsp_session(repo) as client:
        doc = open_doc(client, big, text)
        app = uri(repo / "app.py")
        hover_at = lsp.HoverParams(lsp.TextDocumentIdentifier(app), position_of((repo / "app.py").read_text(), "make_shape", 1, nth=1))
        assert await client.text_document_hover_async(hover_at) is not None   # the open is handled
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(version=2, uri=doc), [lsp.TextDocumentContentChangeWholeDocument(text + "\n")]))
        started = time.monotonic()
        symbols = asyncio.ensure_future(client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(doc))))
        await asyncio.sleep(0.05)
        hover = await client.text_document_hover_async(hover_at)
        answered = time.monotonic() - started
        assert hover is not None and "Build a shape" in hover.contents.value
        assert not symbols.done(), f"hover waited for documentSymbol ({answered:.2f} s)"
        assert len(await symbols) == 2000


def test_tcp_takes_only_lsp_frames_from_a_client_with_the_token_and_outlives_it(tmp_path):
    import json
    import socket

    from conftest import cli
    from lsp_support import initialize_message, stop_listener, tcp_exchange, tcp_listener

    no_token = cli("lsp", "--tcp", "127.0.0.1:0", timeout=30)
    assert no_token.returncode == 2 and "token" in no_token.stderr and "Traceback" not in no_token.stderr

    repo = make_repo(tmp_path, index=False)
    proc, port = tcp_listener(env={"CODEINTEL_LSP_TOKEN": "s3cret"})
    try:
        # what a web page's form can send to 127.0.0.1: an HTTP POST whose body is JSON-RPC
        body = json.dumps(initialize_message(repo, token="s3cret")).encode()
        post = (b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                b"Content-Length: %d\r\n\r\n" % len(body) + body)
        with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
            assert tcp_exchange(conn, raw=post) is None          # closed, nothing answered
        # LSP framing but no token, or a wrong one: refused
        for options in ({}, {"token": "guess"}):
            with socket.create_connection(("127.0.0.1", port), timeout=20) as conn:
                answer = tcp_exchange(conn, initialize_message(repo, **options))
                assert answer["error"]["message"].startswith("codeintel: refused") and "result" not in answer
                assert tcp_exchange(conn, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"}) is None
        assert not (repo / ".codeintel").exists()       # no server ever ran on that workspace
        # the client with the token is served, and the next one too after it leaves
        for _ in range(2):
            with socket.create_connection(("127.0.0.1", port), timeout=60) as conn:
                answer = tcp_exchange(conn, initialize_message(repo, token="s3cret"))
                assert answer["result"]["serverInfo"]["name"] == "codeintel"
                assert tcp_exchange(conn, {"jsonrpc": "2.0", "id": 2, "method": "shutdown"})["id"] == 2
                assert tcp_exchange(conn, {"jsonrpc": "2.0", "method": "exit"}) is None
            assert proc.poll() is None, "the listener exited when its client left"
    finally:
        stop_listener(proc)
