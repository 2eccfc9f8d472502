"""Completion: proposals from the store, retrieval, the model-free predictor, complete(), the CLI."""
from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from codeintel import trust
from codeintel.completion import BadPosition, Cursor, complete
from codeintel.completion.matching import continuations, identifier_completions
from codeintel.completion.proposals import buffer_facts, make_proposals, module_candidates, related_files
from codeintel.config import CompletionSettings, ConfigError, load_completion_settings
from codeintel.retrieval.dense import CACHE_NAME, DenseIndex, embed_texts
from codeintel.retrieval.lexical import bm25_chunks
from codeintel.retrieval.text import count_tokens, cut_head, cut_tail
from codeintel.store import Store, store_path

from completion_repo import write_repo
from completion_server import RecordingCompletionServer
from conftest import cli, cli_json

CIRCLE = '''\
from pkg.shapes import Shape, area_of_square


class Circle(Shape):
    def __init__(self, radius):
        super().__init__("circle")
        self.radius = radius

    def area(self):
        return area_of_sq
'''


@pytest.fixture(scope="module")
def indexed(tmp_path_factory) -> Path:
    root = write_repo(tmp_path_factory.mktemp("completion") / "repo")
    (root / "pkg" / "circle.py").write_text(CIRCLE)
    cli("index", root, "--no-history", "-q", check=0)
    return root


def _store(root: Path) -> Store:
    return Store.open(store_path(root), create=False)


# ------------------------------------------------------------------------------- cursor
def test_cursor_splits_the_buffer_and_rejects_bad_positions():
    text = "a = 1\nbé = foo(\nc\n"
    cur = Cursor.at("x.py", text, 2, 5)
    assert cur.prefix == "a = 1\nbé = " and cur.rest == "foo(" and cur.suffix == "\nc\n"
    assert cur.line_prefix == "bé = " and cur.line_number == 2 and cur.buffer == text
    assert Cursor.at("x.py", text, 4, 0).prefix == text
    with pytest.raises(BadPosition, match="line 5"):
        Cursor.at("x.py", text, 5, 0)
    with pytest.raises(BadPosition, match="column 10"):
        Cursor.at("x.py", text, 2, 10)
    with pytest.raises(BadPosition):
        Cursor.at("x.py", text, 0, 0)


def test_suggestions_fit_the_text_after_the_cursor():
    from codeintel.completion.api import Suggestion, fit_to_rest

    found = [Suggestion("x", 0.5, "ranker", ""), Suggestion("name)", 0.3, "ranker", ""),
             Suggestion(")", 0.1, "ranker", ""), Suggestion("f(a))  ", 0.05, "ranker", "")]
    # the editor typed the closing bracket: what ends with it is offered without it, first
    assert [s.text for s in fit_to_rest(found, ")")] == ["name", "f(a)", "x"]
    assert fit_to_rest(found, ")")[0].score == 0.3
    assert fit_to_rest(found, "") == found and fit_to_rest(found, "  ") == found
    assert [s.text for s in fit_to_rest(found, ", b)")] == ["x", "name)", ")", "f(a))  "]


def test_budgets_cut_at_token_counts():
    text = "\n".join(f"value_{i} = compute({i})" for i in range(50))
    head, tail = cut_head(text, 20), cut_tail(text, 20)
    assert count_tokens(head) <= 20 and text.startswith(head) and head.endswith("\n")
    assert count_tokens(tail) <= 20 and text.endswith(tail)
    assert cut_head("short", 20) == "short" and cut_head("x y", 0) == ""


# ------------------------------------------------------------------------------- matching
def test_continuation_prefers_the_longest_match_and_completes_partial_words():
    ctx = "def f(x):\n    result = compute(x, y=2)\n    return result\n"
    best = continuations("    result = comp", [ctx])[0]
    assert best.text == "ute(x, y=2)" and best.matched >= 3
    assert continuations("    result = ", [ctx])[0].text == "compute(x, y=2)"
    assert continuations("    return", [ctx])[0].text == " result"
    # an earlier context wins a tie
    assert continuations("z = ", ["z = first()", "z = second()"])[0].text == "first()"
    assert continuations("nothing matches ~~", [ctx]) == []
    assert identifier_completions("    res", [ctx]) == ["ult"]


# ------------------------------------------------------------------------------- retrieval
def test_module_candidates_resolve_absolute_relative_and_submodule_imports():
    assert module_candidates("pkg/a.py", "pkg.shapes", "Shape") == [
        "pkg/shapes.py", "pkg/shapes/__init__.py", "pkg/shapes/Shape.py", "pkg/shapes/Shape/__init__.py"]
    assert module_candidates("pkg/sub/a.py", "..shapes", None) == ["pkg/shapes.py", "pkg/shapes/__init__.py"]
    assert module_candidates("pkg/a.py", ".", "colors")[-2:] == ["pkg/colors.py", "pkg/colors/__init__.py"]


def test_bm25_and_dense_find_the_related_chunk(indexed):
    with _store(indexed) as store:
        hits = bm25_chunks(store, "color_name PALETTE rgb", limit=3, exclude_paths=["pkg/square.py"])
        assert hits and hits[0].path == "pkg/colors.py" and hits[0].retriever == "bm25"
        assert all(h.path != "pkg/colors.py" for h in bm25_chunks(store, "color_name PALETTE",
                                                                 exclude_paths=["pkg/colors.py"]))
        dense = DenseIndex.build(store, store.path.parent)
        cache = store.path.parent / CACHE_NAME
        assert cache.is_file() and len(dense) == len(list(store.chunk_rows()))
        found = dense.search(store, "name of a colour from its rgb value: palette items", limit=2)
        assert found[0].path == "pkg/colors.py" and found[0].retriever == "dense"
        stamp = cache.stat().st_mtime_ns
        again = DenseIndex.build(store, store.path.parent)       # nothing changed: cache not rewritten
        assert cache.stat().st_mtime_ns == stamp
        assert (again.vectors - dense.vectors).max() < 1e-2


def test_dense_vectors_match_partial_names():
    a, b, c = embed_texts(["def read_config(path): ...", "class ConfigReader: pass", "x = 1 + 2"])
    assert float(a @ b) > 0.2 and float(a @ c) == 0.0


def test_proposals_cover_the_rlpg_sources_within_budget(indexed):
    cur = Cursor.at("pkg/circle.py", CIRCLE, 7, len("        self.rad"))
    with _store(indexed) as store:
        dense = DenseIndex.build(store, store.path.parent)
        props = make_proposals(store, cur, budget=40, limit=100, dense=dense)
        by_source = {}
        for p in props:
            by_source.setdefault(p.source, set()).add(p.path)
            assert count_tokens(p.text) <= 40, p
        assert [p.source for p in props[:2]] == ["in_file_prior", "in_file_post"]
        assert "pkg/shapes.py" in by_source["parent_class"]
        # a file is listed under its first source only
        related = related_files(store, cur, buffer_facts(cur), set())
        assert related["parent_class"] == ["pkg/shapes.py"] and "pkg/shapes.py" not in related.get("imported", [])
        assert "pkg/__init__.py" not in related["sibling"]     # empty files give nothing
        assert "pkg/square.py" in by_source["sibling"]
        assert "bm25" in by_source and "dense" in by_source
        forms = {p.form for p in props if p.path == "pkg/shapes.py"}
        assert {"method_bodies", "identifiers", "type_identifiers", "string_literals",
                "field_declarations"} <= forms
        ranked = [p.score for p in props[2:]]
        assert ranked == sorted(ranked, reverse=True)

        # the other direction: shapes.py is imported by square.py / report_shapes.py, Square derives from Shape
        shapes = (indexed / "pkg/shapes.py").read_text()
        cur = Cursor.at("pkg/shapes.py", shapes, 8, 8)
        props = make_proposals(store, cur, limit=100)
        sources = {(p.source, p.path) for p in props}
        assert ("child_class", "pkg/square.py") in sources
        assert ("importer", "tools/report_shapes.py") in sources       # `from pkg import shapes`
        test_file = (indexed / "tests/test_square.py").read_text()
        test_cursor = Cursor.at("tests/test_square.py", test_file, 5, 4)
        assert "pkg/square.py" in related_files(store, test_cursor, buffer_facts(test_cursor), set())["imported"]
        # without its import, the file is still found by its name
        assert related_files(store, test_cursor, None, set())["similar_name"] == ["pkg/square.py"]
    assert [p.source for p in make_proposals(None, cur)] == ["in_file_prior", "in_file_post"]


# ------------------------------------------------------------------------------- complete()
def test_complete_falls_back_to_retrieval_and_says_so(indexed, monkeypatch, tmp_path):
    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", str(tmp_path / "no-builtin"))
    found = complete(indexed, "pkg/circle.py", CIRCLE, 10, len("        return area_of_sq"))
    assert found and found[0].text.startswith("uare(") and found[0].source == "fallback:retrieval"
    assert "no completion model" in found[0].detail
    with pytest.raises(BadPosition):
        complete(indexed, "pkg/circle.py", CIRCLE, 99, 0)
    assert complete(indexed, "pkg/circle.py", CIRCLE, 10, 4, cancelled=lambda: True) == []
    # an unindexed folder still completes from the buffer
    assert complete(tmp_path, "x.py", "value = 1\nval", 2, 3)[0].text == "ue = 1"


def test_complete_is_safe_from_many_threads(indexed, monkeypatch, tmp_path):
    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", str(tmp_path / "no-builtin"))
    expected = complete(indexed, "pkg/circle.py", CIRCLE, 7, len("        self.rad"))
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                results.append(complete(indexed, "pkg/circle.py", CIRCLE, 7, len("        self.rad")))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 20
    assert all([s.text for s in r] == [s.text for s in expected] for r in results)


def test_settings_from_config_and_overrides(tmp_path):
    (tmp_path / ".codeintel").mkdir()
    assert load_completion_settings(tmp_path) == CompletionSettings()
    (tmp_path / ".codeintel" / "config.toml").write_text(
        '[completion]\nbackend = "http"\nurl = "http://127.0.0.1:1/v1"\nmax_new_tokens = 20\n')
    s = load_completion_settings(tmp_path)        # not trusted: where code goes is not the repository's call
    assert (s.backend, s.url, s.max_new_tokens) == ("builtin", None, 20) and "not trusted" in s.ignored
    trust.trust(tmp_path)
    s = load_completion_settings(tmp_path)
    assert (s.backend, s.url, s.max_new_tokens, s.ignored) == ("http", "http://127.0.0.1:1/v1", 20, None)
    assert s.updated({"modelPath": "/m", "backend": "hf"}).model_path == "/m"
    for bad in ({"backend": "gpt"}, {"n": 0}, {"maxNewTokens": "many"}, {"colour": 1}):
        with pytest.raises(ConfigError):
            s.updated(bad)
    (tmp_path / ".codeintel" / "config.toml").write_text('[completion]\nbackend = "nope"\n')
    with pytest.raises(ConfigError, match="config.toml"):
        load_completion_settings(tmp_path)


# ------------------------------------------------------------------------------- CLI
def test_cli_complete_prints_suggestions_and_one_line_errors(indexed, tmp_path):
    env = {"CODEINTEL_BUILTIN_MODELS": str(tmp_path / "none")}
    data = cli_json("complete", f"{indexed}/pkg/circle.py:10:26", "--n", "2", env=env)
    assert data["file"] == "pkg/circle.py" and 1 <= len(data["suggestions"]) <= 2
    assert data["suggestions"][0]["text"].startswith("uare(")
    plain = cli("complete", f"{indexed}/pkg/circle.py:10:26", env=env, check=0)
    assert "uare(" in plain.stdout and "fallback:retrieval" in plain.stdout
    for location, message in ((f"{indexed}/pkg/circle.py:40:1", "line 40"),
                              (f"{indexed}/pkg/circle.py:10:99", "column 98"),
                              (f"{indexed}/pkg/missing.py:1:1", "no such file"),
                              (f"{indexed}/pkg/circle.py:ten", "FILE:LINE:COL"),
                              (f"{indexed}/pkg/circle.py:0:1", "count from 1")):
        proc = cli("complete", location, env=env)
        assert proc.returncode == 2, proc
        assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


# ------------------------------------------------------------------------------- backends
def _tiny_gpt2(directory: Path) -> Path:
    """A randomly initialised GPT-2 with the project's BPE tokenizer, saved as a Hugging Face
    checkpoint (safetensors). Tokens holding a line break, and </s>, get zero embeddings so the
    untrained model writes something on the line instead of ending it."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    from codeintel.models.tokenizer import train_tokenizer

    texts = [t for t in (Path(__file__).parent / "completion_repo.py").read_text().split("\n\n") if t] * 3
    tok = train_tokenizer(texts, vocab_size=400, min_frequency=1)
    hf_tok = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                     unk_token="<unk>")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(vocab_size=tok.get_vocab_size(), n_embd=32, n_layer=1, n_head=2,
                                       n_positions=256, bos_token_id=2, eos_token_id=3, pad_token_id=0))
    with torch.no_grad():
        for token, idx in tok.get_vocab().items():
            if "Ċ" in token or idx <= 5:
                model.transformer.wte.weight[idx] = 0
    model.save_pretrained(directory)
    hf_tok.save_pretrained(directory)
    assert (directory / "model.safetensors").is_file()
    return directory


def test_hf_backend_generates_from_a_local_checkpoint(indexed, tmp_path):
    path = _tiny_gpt2(tmp_path / "gpt2")
    settings = CompletionSettings(backend="hf", model_path=str(path), max_new_tokens=6)
    found = complete(indexed, "pkg/circle.py", CIRCLE, 10, len("        return area_of_sq"), n=2, settings=settings)
    assert found and all(s.source == "hf" and s.text and "\n" not in s.text for s in found)
    # a folder that is not a checkpoint: the fallback answers and says why
    bad = CompletionSettings(backend="hf", model_path=str(tmp_path))
    found = complete(indexed, "pkg/circle.py", CIRCLE, 10, len("        return area_of_sq"), settings=bad)
    assert found[0].source != "hf" and "not a Hugging Face checkpoint" in found[0].detail


def test_http_backend_sends_the_packed_prompt(indexed, tmp_path, monkeypatch):
    server = RecordingCompletionServer("uare(self.radius) * 3.14\nignored")
    seen = server.seen
    try:
        monkeypatch.setenv("TEST_COMPLETION_KEY", "sekrit")
        url = server.url
        settings = CompletionSettings(backend="http", url=url, model="tiny", api_key_env="TEST_COMPLETION_KEY")
        found = complete(indexed, "pkg/circle.py", CIRCLE, 10, len("        return area_of_sq"), settings=settings)
        assert [(s.text, s.source) for s in found] == [("uare(self.radius) * 3.14", "http")]
        path, auth, body = seen[0]
        assert path == "/v1/completions" and auth == "Bearer sekrit" and body["model"] == "tiny"
        assert body["prompt"].endswith("        return area_of_sq") and "pkg/shapes.py" in body["prompt"]
        assert body["stop"] == ["\n"]
    finally:
        server.close()
    # the server gone: the fallback answers and names the problem
    settings = CompletionSettings(backend="http", url=url, timeout=2)
    found = complete(indexed, "pkg/circle.py", CIRCLE, 10, len("        return area_of_sq"), settings=settings)
    assert found[0].source != "http" and "unreachable" in found[0].detail


def test_buffer_facts_read_imports_and_the_enclosing_classes():
    text = ('import os, numpy as np\nfrom .models import (Alpha,\n    Beta as B)\n\n'
            'class Outer(Base, pkg.Mixin):\n    x = 1\n\n    class Inner(Alpha):\n        def f(self):\n'
            '            return 1\n\n    def g(self):\n        pass\n\nclass Other(Gamma):\n    pass\n')
    facts = buffer_facts(Cursor.at("a.py", text, 10, 12))
    assert ("os", None, None) in facts.imports and ("numpy", None, "np") in facts.imports
    assert (".models", "Alpha", None) in facts.imports and (".models", "Beta", "B") in facts.imports
    assert facts.enclosing_bases == ["Alpha", "Base", "Mixin"]
    assert buffer_facts(Cursor.at("a.py", text, 13, 8)).enclosing_bases == ["Base", "Mixin"]
    assert buffer_facts(Cursor.at("a.py", text, 16, 4)).enclosing_bases == ["Gamma"]
    assert facts.classes == ["Outer", "Inner", "Other"]
    assert buffer_facts(Cursor.at("a.js", "import x from 'y'", 1, 0)) is None


def test_a_large_index_gets_its_dense_vectors_in_the_background(tmp_path, monkeypatch):
    import time

    from codeintel.completion import api

    root = write_repo(tmp_path / "big")
    cli("index", root, "--no-history", "-q", check=0)
    monkeypatch.setattr(api, "DENSE_SYNC_CHUNKS", 0)
    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", str(tmp_path / "none"))
    text = (root / "pkg/colors.py").read_text()
    assert complete(root, "pkg/colors.py", text, 5, 8)          # answers without waiting for the vectors
    cache = root / ".codeintel" / CACHE_NAME
    deadline = time.time() + 60
    while not cache.is_file() and time.time() < deadline:
        time.sleep(0.1)
    assert cache.is_file()
    session = api.session_for(root)
    while "dense" in session.building and time.time() < deadline:
        time.sleep(0.1)
    dense, _ = session.built["dense"]
    assert dense is not None and len(dense) > 0
