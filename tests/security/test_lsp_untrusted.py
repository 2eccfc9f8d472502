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

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(120)]

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
