"""The language server's pieces in-process: column conversion at the edge, the minimal edit of a
resolution, incremental buffer edits against a full parse, and the completion wiring (model
suggestions first, the cancellation flag passed through, identifiers when the model fails)."""
from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lsprotocol import types as lsp

from codeintel.navigation import Buffer
from lsp.completion import FALLBACK_SOURCE, candidates
from lsp.documents import OpenDocument
from lsp.merge import minimal_edit
from lsp.positions import UTF8, UTF16, UTF32, from_client_col, to_client_col


def test_columns_in_each_encoding():
    line = "é😀x".encode()              # bytes: 2 + 4 + 1; UTF-16 units: 1 + 2 + 1; code points: 3
    assert [to_client_col(line, b, UTF16) for b in (0, 2, 6, 7)] == [0, 1, 3, 4]
    assert [to_client_col(line, b, UTF32) for b in (0, 2, 6, 7)] == [0, 1, 2, 3]
    assert [to_client_col(line, b, UTF8) for b in (0, 2, 6, 7)] == [0, 2, 6, 7]
    assert [from_client_col(line, c, UTF16) for c in (0, 1, 3, 4, 99)] == [0, 2, 6, 7, 7]
    assert [from_client_col(line, c, UTF32) for c in (0, 1, 2, 3)] == [0, 2, 6, 7]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), max_size=30))
def test_utf16_round_trip(text):
    raw = text.encode()
    for i in range(len(text) + 1):
        byte = len(text[:i].encode())
        assert from_client_col(raw, to_client_col(raw, byte, UTF16), UTF16) == byte


def _apply(text: str, edit: lsp.TextEdit) -> str:
    lines = text.splitlines(keepends=True)

    def offset(pos):
        line = lines[pos.line] if pos.line < len(lines) else ""
        units = 0
        for i, ch in enumerate(line):
            if units >= pos.character:
                return sum(len(l) for l in lines[:pos.line]) + i
            units += 2 if ord(ch) > 0xFFFF else 1
        return sum(len(l) for l in lines[:pos.line]) + len(line)

    return text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]


@given(st.lists(st.sampled_from(["a\n", "é😀\n", "<<<<<<< x\n", "b", "\n"]), max_size=8),
       st.lists(st.sampled_from(["a\n", "é😀\n", "c\n", "b", "\n"]), max_size=8))
def test_minimal_edit_turns_old_into_new(old, new):
    old, new = "".join(old), "".join(new)
    assert _apply(old, minimal_edit(old, new)) == new


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 30), st.integers(0, 3),
                          st.sampled_from(["x", "def f():\n    pass\n", "é😀", "\n", "", "class C:\n"])),
                max_size=6))
def test_incremental_edits_match_a_full_parse(edits):
    text = "import os\n\n\ndef main(a):\n    return os.path.join(a, 'é😀')\n"
    doc = OpenDocument("file:///t/m.py", Path("/t/m.py"), None, text, 1)
    doc.refresh(1 << 20)
    for line, char, span, new in edits:
        lines = text.split("\n")
        line = min(line, len(lines) - 1)
        # a position in UTF-16 units, inside the line; the end a few characters on
        start_char = min(char, len(lines[line]))
        end_char = min(start_char + span, len(lines[line]))
        utf16 = lambda s, n: len(s[:n].encode("utf-16-le")) // 2  # noqa: E731
        rng = lsp.Range(lsp.Position(line, utf16(lines[line], start_char)),
                        lsp.Position(line, utf16(lines[line], end_char)))
        doc.apply_changes([lsp.TextDocumentContentChangePartial(range=rng, text=new)], 2)
        lines[line] = lines[line][:start_char] + new + lines[line][end_char:]
        text = "\n".join(lines)
        assert doc.data == text.encode()
    record = doc.refresh(1 << 20)
    from indexer.pipeline import index_file
    fresh = index_file(None, "m.py", 1 << 20, data=text.encode())
    assert [(s.qualname, s.start_byte, s.end_byte) for s in record.facts.symbols] == \
        [(s.qualname, s.start_byte, s.end_byte) for s in fresh.facts.symbols]
    assert record.facts.refs == fresh.facts.refs


@pytest.fixture
def fake_completion(monkeypatch):
    """A codeintel.completion with the agreed complete() signature, recording its calls (the
    real ``codeintel.completion.api`` stays importable: the server takes ``fit_to_rest`` from it)."""
    import codeintel.completion.api  # noqa: F401 - loaded before the package is replaced

    calls = []
    module = types.ModuleType("codeintel.completion")

    class Suggestion:
        def __init__(self, text, score, source):
            self.text, self.score, self.source = text, score, source

    def complete(root, rel_path, text, line, character, n=3, *, settings=None, cancelled=None):
        calls.append({"root": root, "rel_path": rel_path, "line": line, "character": character, "n": n,
                      "cancelled": cancelled})
        if module.fail:
            raise RuntimeError("model exploded")
        return [Suggestion("hape(kind)", 0.9, "builtin-model")]

    module.complete, module.Suggestion, module.fail = complete, Suggestion, False
    monkeypatch.setitem(sys.modules, "codeintel.completion", module)
    return module, calls


def test_model_suggestions_come_first_with_their_source(fake_completion, tmp_path):
    module, calls = fake_completion
    text = "make_shape = 1\nlabel = 'é😀'; make_s"
    buffer = Buffer("app.py", text.encode())
    col = len("label = 'é😀'; make_s".encode())
    found = candidates(None, buffer, 2, col, tmp_path, "app.py", {}, lambda: False)
    assert [(c.text, c.source) for c in found[:2]] == [("hape(kind)", "builtin-model"),
                                                       ("make_shape", f"{FALLBACK_SOURCE} (buffer)")]
    # the model gets the agreed units: 1-based line, code-point column, and the cancel flag
    assert calls[0]["line"] == 2 and calls[0]["character"] == len("label = 'é😀'; make_s")
    assert callable(calls[0]["cancelled"]) and calls[0]["rel_path"] == "app.py"
    inline = candidates(None, buffer, 2, col, tmp_path, "app.py", {}, lambda: False, identifiers=False)
    assert [c.text for c in inline] == ["hape(kind)"]
    module.fail = True
    degraded = candidates(None, buffer, 2, col, tmp_path, "app.py", {}, lambda: False, identifiers=False)
    assert [(c.text, c.source) for c in degraded] == [("hape", f"{FALLBACK_SOURCE} (buffer)")]
