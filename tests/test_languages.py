"""Per-language extraction: each fixtures/languages/<lang>/expected.json lists the symbols,
imports and references that the indexer must find in its sample file."""
import json
from pathlib import Path

import pytest

from indexer.extract import extract
from indexer.languages import get_spec, language_for_path, language_for_shebang

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "languages"
CASES = sorted(p.parent.name for p in FIXTURES.glob("*/expected.json"))


def _load(lang):
    expected = json.loads((FIXTURES / lang / "expected.json").read_text())
    path = FIXTURES / lang / expected["file"]
    spec = get_spec(expected["language"])
    return expected, path, extract(path.read_bytes(), spec)


@pytest.mark.parametrize("lang", CASES)
def test_language_detected_by_extension(lang):
    expected = json.loads((FIXTURES / lang / "expected.json").read_text())
    assert language_for_path(expected["file"]).name == expected["language"]


@pytest.mark.parametrize("lang", CASES)
def test_symbols(lang):
    expected, path, facts = _load(lang)
    assert facts.error_count == 0, f"{path} should parse cleanly"
    by_qual = {s.qualname: s for s in facts.symbols}
    for want in expected["symbols"]:
        got = by_qual.get(want["qualname"])
        assert got is not None, f"{want['qualname']} missing; found {sorted(by_qual)}"
        assert got.kind == want["kind"], want["qualname"]
        assert got.name_line == want["line"], want["qualname"]
        if "doc" in want:
            assert (got.doc or "").strip() == want["doc"], want["qualname"]
        if "signature" in want:
            assert got.signature == want["signature"], want["qualname"]
        if "parent" in want:
            assert got.parent is not None and facts.symbols[got.parent].qualname == want["parent"]
        assert got.start_byte <= got.end_byte and got.start_line <= got.name_line <= got.end_line
    # nothing unexpected: every symbol found is listed in the fixture
    assert sorted(by_qual) == sorted(w["qualname"] for w in expected["symbols"])


@pytest.mark.parametrize("lang", CASES)
def test_imports(lang):
    expected, _, facts = _load(lang)
    got = {(i.module, i.name, i.alias, i.line) for i in facts.imports}
    want = {(i["module"], i["name"], i["alias"], i["line"]) for i in expected["imports"]}
    assert got == want


@pytest.mark.parametrize("lang", CASES)
def test_references(lang):
    expected, _, facts = _load(lang)
    for ref in expected["references"]:
        lines = [line for line, _ in facts.ref_positions(ref["name"])]
        assert ref["line"] in lines, f"{ref['name']} not referenced on line {ref['line']}: {lines}"
    for ref in expected.get("not_references", []):
        lines = [line for line, _ in facts.ref_positions(ref["name"])]
        assert ref["line"] not in lines, f"{ref['name']} on line {ref['line']} is a definition"


@pytest.mark.parametrize("lang", CASES)
def test_chunks_cover_functions_and_outside_code(lang):
    expected, path, facts = _load(lang)
    source = path.read_bytes()
    funcs = {c.name for c in facts.chunks if c.kind in ("function", "method")}
    assert funcs == {s.qualname for s in facts.symbols if s.kind in ("function", "method")}
    for chunk in facts.chunks:
        assert 0 <= chunk.start_byte < chunk.end_byte <= len(source)
        assert source[chunk.start_byte:chunk.end_byte].strip()


def test_shebang_detection():
    assert language_for_shebang(b"#!/usr/bin/env python3").name == "python"
    assert language_for_shebang(b"#!/usr/bin/python3.11 -u").name == "python"
    assert language_for_shebang(b"#!/bin/sh") is None
    assert language_for_shebang(b"print('x')") is None
