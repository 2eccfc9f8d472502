"""The language server over stdio (pytest-lsp): symbols, definition, references, hover,
with non-ASCII text before the names (UTF-16 columns), and the index kept fresh from
unsaved buffers, saves and watched-file events."""
from __future__ import annotations


import pytest
from lsprotocol import types as lsp

from conftest import cli_json
from lsp_support import symbols_named, APP, SHAPES, lsp_session, make_repo, open_doc, position_of, uri

pytestmark = [pytest.mark.asyncio, pytest.mark.timeout(90)]


async def test_document_symbols_are_hierarchical(tmp_path):
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        doc = open_doc(client, repo / "pkg" / "shapes.py")
        symbols = await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(doc)))
        names = [(s.name, s.kind) for s in symbols]
        assert names == [("Shape", lsp.SymbolKind.Class), ("Circle", lsp.SymbolKind.Class),
                         ("make_shape", lsp.SymbolKind.Function)]
        circle = symbols[1]
        assert [(c.name, c.kind) for c in circle.children] == [("__init__", lsp.SymbolKind.Method),
                                                               ("area", lsp.SymbolKind.Method)]
        assert circle.selection_range.start == position_of(SHAPES, "Circle")
        assert circle.range.start.line == circle.selection_range.start.line
        assert circle.range.end.line == SHAPES[:SHAPES.index("def make_shape")].rstrip().count("\n")


async def test_workspace_symbol(tmp_path):
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="area"))
        names = sorted(s.name for s in found)
        assert names == ["Circle.area", "Shape.area"]
        assert all(s.location.uri == uri(repo / "pkg" / "shapes.py") for s in found)
        assert {s.container_name for s in found} == {"Circle", "Shape"}


async def test_definition_prefers_the_imported_module_and_counts_utf16(tmp_path):
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        doc = open_doc(client, repo / "app.py")
        # after "é😀": byte, code-point and UTF-16 columns all differ
        at = position_of(APP, "make_shape(", offset=3)
        found = await client.text_document_definition_async(
            lsp.DefinitionParams(lsp.TextDocumentIdentifier(doc), at))
        # pkg/util.py also defines make_shape; app.py imports it from pkg.shapes
        assert [loc.uri for loc in found] == [uri(repo / "pkg" / "shapes.py")]
        assert found[0].range.start == position_of(SHAPES, "make_shape")
        # a method: the qualified name decides (ring.area is ambiguous, Circle.area is not)
        methods = await client.text_document_definition_async(lsp.DefinitionParams(
            lsp.TextDocumentIdentifier(doc), position_of(APP, "area()", nth=0)))
        assert {loc.range.start.line for loc in methods} == {
            position_of(SHAPES, "def area", 4).line, position_of(SHAPES, "def area", 4, nth=1).line}


async def test_references_and_hover(tmp_path):
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        doc = open_doc(client, repo / "app.py")
        at = position_of(APP, "Circle(2.0)")
        refs = await client.text_document_references_async(lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(doc), position=at,
            context=lsp.ReferenceContext(include_declaration=True)))
        got = sorted((r.uri.rsplit("/", 1)[-1], r.range.start.line, r.range.start.character) for r in refs)
        shapes_lines = [i for i, line in enumerate(SHAPES.splitlines()) if "Circle" in line]
        expected = sorted([("app.py", 0, APP.splitlines()[0].index("Circle")),
                           ("app.py", position_of(APP, "Circle(2.0)").line, position_of(APP, "Circle(2.0)").character)]
                          + [("shapes.py", position_of(SHAPES, "Circle", nth=n).line,
                              position_of(SHAPES, "Circle", nth=n).character) for n in range(len(shapes_lines))])
        assert got == expected
        without = await client.text_document_references_async(lsp.ReferenceParams(
            text_document=lsp.TextDocumentIdentifier(doc), position=at,
            context=lsp.ReferenceContext(include_declaration=False)))
        assert len(without) == len(refs) - 1

        hover = await client.text_document_hover_async(lsp.HoverParams(
            lsp.TextDocumentIdentifier(doc), position_of(APP, "make_shape(", offset=1)))
        assert hover.contents.kind == lsp.MarkupKind.Markdown
        assert "def make_shape(kind: str) -> Shape" in hover.contents.value
        assert "Build a shape by name." in hover.contents.value
        start = position_of(APP, "make_shape(")
        assert hover.range.start == start and hover.range.end.character == start.character + len("make_shape")


async def test_unsaved_edits_are_indexed_and_visible(tmp_path):
    repo = make_repo(tmp_path)
    async with lsp_session(repo) as client:
        doc = open_doc(client, repo / "app.py")
        # an incremental edit: a new function after "é😀" text, not saved
        end_line = APP.count("\n")
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=doc, version=2),
            [lsp.TextDocumentContentChangePartial(
                range=lsp.Range(lsp.Position(end_line, 0), lsp.Position(end_line, 0)),
                text='\n\ndef café_total(x):\n    """Sum with ünïcode."""\n    return main() + x\n')]))
        new_text = APP + '\n\ndef café_total(x):\n    """Sum with ünïcode."""\n    return main() + x\n'
        symbols = await client.text_document_document_symbol_async(
            lsp.DocumentSymbolParams(lsp.TextDocumentIdentifier(doc)))
        assert [s.name for s in symbols] == ["main", "café_total"]
        # the index has it too (after the debounced write), for other files and the CLI
        found = await symbols_named(client, "café")
        assert [s.name for s in found] == ["café_total"]
        assert found[0].location.range.start == position_of(new_text, "café_total")
        assert cli_json("symbols", "café", "--repo", repo)[0]["qualname"] == "café_total"
        # a file changed on disk behind the editor's back, announced by the client
        (repo / "pkg" / "util.py").write_text("def brand_new():\n    return 1\n")
        client.workspace_did_change_watched_files(lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent(uri=uri(repo / "pkg" / "util.py"), type=lsp.FileChangeType.Changed)]))
        found = await symbols_named(client, "brand_new")
        assert [s.name for s in found] == ["brand_new"]
