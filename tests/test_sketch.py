"""Sketch-based generation: the shared metrics and LCS labels, stub finding, retrieval, the
copy fallback, `codeintel train sketch` (tiny), `codeintel generate` and `codeintel eval sketch`
as real subprocesses on a real indexed git repository."""
from __future__ import annotations

import json

import pytest

from conftest import cli
from sketch_repo import make_sketch_repo

from codeintel.models.lcs import lcs_keep
from codeintel.models.metrics import bleu, codebleu, dataflow_edges, exact_match, parses
from codeintel.sketch.pysource import assemble, rename, split_function
from codeintel.sketch.stubs import replacement, request_at


# ------------------------------------------------------------------------------- units
def test_lcs_keep_marks_one_longest_common_subsequence():
    keep = lcs_keep(list("abcbdab"), list("bdcaba"))
    assert sum(keep) == 4
    kept = [c for c, k in zip("abcbdab", keep) if k]
    assert "".join(kept) in ("bcba", "bdab", "bcab")
    assert lcs_keep([], [1]) == [] and lcs_keep([1, 2], []) == [False, False]


def test_bleu_and_codebleu_parts():
    code = "total = 0\nfor x in xs:\n    total += x\nreturn total\n"
    assert bleu([code], [code]) == pytest.approx(1.0)
    assert bleu(["return 1\n"], [code]) < 0.2
    same = codebleu([code], [code])
    assert same["syntax_match"] == pytest.approx(1.0) and same["dataflow_match"] == pytest.approx(1.0)
    renamed = code.replace("total", "acc").replace("xs", "items")
    parts = codebleu([renamed], [code])
    assert parts["dataflow_match"] == pytest.approx(1.0)       # names are normalised
    assert parts["bleu"] < 0.5 and parts["syntax_match"] == pytest.approx(1.0)
    assert exact_match("return  x", "return x") == 1.0
    assert dataflow_edges("y = f(a)\n")[("var_2", "computedFrom", ("var_0", "var_1"))] == 1


def test_split_function_and_assemble():
    parts = split_function('@d\ndef f(a, b=1):\n    """Add.\n\n    More."""\n    x = a + b\n    return x\n')
    assert parts.header == "@d\ndef f(a, b=1):" and parts.doc == "Add.\n\nMore."
    assert parts.body == "x = a + b\nreturn x\n"
    code = assemble(rename("def f(a)", "g"), parts.body)
    assert code.startswith("def g(a):\n    x = a + b") and parses(code)
    assert not parses("def f(:\n    pass\n")


def test_request_at_stub_and_comment():
    text = ('class A:\n    def area(self, r):\n        """Area of a circle."""\n        ...\n\n'
            '    # read the lines of a file\n    x = 1\n')
    stub = request_at(text, 1)
    assert stub.kind == "stub" and stub.signature == "def area(self, r)" and stub.requirement == "Area of a circle."
    assert (stub.start, stub.end) == (3, 4) and stub.indent == "        "
    assert replacement(stub, "", "return r\n") == "        return r\n"
    comment = request_at(text, 5)
    assert comment.kind == "comment" and comment.requirement == "read the lines of a file"
    assert comment.start == comment.end == 6
    assert request_at(text, 6) is None and request_at(text, 0) is None


# ------------------------------------------------------------------------------- store and retrieval
def test_documented_functions_and_retrieval_exclude_own_file(tmp_path):
    from codeintel.sketch.api import dense_index
    from codeintel.sketch.retrieve import retrieve
    from codeintel.store import Store, store_path

    repo = make_sketch_repo(tmp_path)
    with Store.open(store_path(repo), create=False) as store:
        names = {row["qualname"] for row in store.documented_functions()}
        assert {"read_lines", "mean", "circle_area", "load_lines"} <= names
        assert store.function_at("maths/stats.py", 7)["name"] == "mean"
        query = "def area_of_circle(r)\nReturn the area of a circle of radius r."
        hits = retrieve(store, query, k=3, dense=dense_index(store))
        assert hits[0].qualname == "circle_area" and hits[0].parts.body.startswith("return 3.14159")
        hits = retrieve(store, query, k=3, dense=dense_index(store), exclude_paths=["maths/geometry.py"])
        assert all(h.path != "maths/geometry.py" for h in hits)


# ------------------------------------------------------------------------------- CLI
@pytest.fixture
def no_builtin(tmp_path):
    empty = tmp_path / "no-builtin-models"
    empty.mkdir()
    return {"CODEINTEL_BUILTIN_MODELS": str(empty)}


def test_generate_without_a_model_copies_the_retrieved_function(tmp_path, no_builtin):
    repo = make_sketch_repo(tmp_path)
    out = cli("generate", "Return the area of a circle of radius r.", "--signature", "def disc_area(r)",
              "--json", cwd=repo, env=no_builtin, check=0)
    data = json.loads(out.stdout)
    assert data["source"] == "fallback:retrieved-copy" and data["parses"]
    assert data["code"].startswith("def disc_area(r):\n    return 3.14159 * radius ** 2")
    assert data["retrieved"][0]["qualname"] == "circle_area"
    # a bare name is the retrieved header renamed
    out = cli("generate", "Return the area of a circle of radius r.", "--signature", "disc", "--json",
              cwd=repo, env=no_builtin, check=0)
    assert json.loads(out.stdout)["code"].startswith("def disc(radius):")


def test_generate_bad_input_is_one_line_and_exit_2(tmp_path, no_builtin):
    repo = make_sketch_repo(tmp_path)
    for args in (("",), ("--line", "3"), ("x", "--file", "missing.py"), ("--file", "app/main.py", "--line", "1")):
        out = cli("generate", *args, cwd=repo, env=no_builtin)
        assert out.returncode == 2, (args, out.stderr)
        assert out.stderr.startswith("codeintel: ") and len(out.stderr.strip().splitlines()) == 1, out.stderr
    bare = tmp_path / "bare"
    bare.mkdir()
    out = cli("generate", "anything", cwd=bare, env=no_builtin)
    assert out.returncode == 3 and "codeintel index" in out.stderr


def test_generate_from_a_stub_in_a_file(tmp_path, no_builtin):
    repo = make_sketch_repo(tmp_path)
    out = cli("generate", "--file", "app/main.py", "--line", "5", "--json", cwd=repo, env=no_builtin, check=0)
    data = json.loads(out.stdout)
    assert data["code"].startswith("def load_lines(path):")
    assert all(r["qualname"] != "load_lines" for r in data["retrieved"])    # the stub itself is never retrieved


def test_train_tiny_model_then_generate_and_eval_cases(tmp_path, no_builtin):
    repo = make_sketch_repo(tmp_path)
    out = cli("train", "sketch", "--size", "tiny", "--vocab-size", "400", "--sketcher-epochs", "1",
              "--editor-epochs", "1", "--max-steps", "2", "--batch-size", "4", "--json", cwd=repo, env=no_builtin,
              check=0, timeout=300)
    summary = json.loads(out.stdout)
    model_dir = repo / ".codeintel" / "models" / "sketch"
    assert summary["model"] == str(model_dir) and summary["counts"]["train"] >= 2
    assert (model_dir / "model.safetensors").is_file() and not list(model_dir.glob("*.bin"))
    meta = json.loads((model_dir / "meta.json").read_text())
    assert meta["counts"]["documented_functions"] >= 8 and "sketcher_val_loss" in meta["metrics"]

    out = cli("generate", "Return the mean of the numbers.", "--signature", "def average(numbers)", "--json",
              "--beams", "2", cwd=repo, env=no_builtin, check=0)
    data = json.loads(out.stdout)
    assert data["source"] == "repo-model" and data["code"].startswith("def average(numbers):")
    assert data["candidates"] == 2 and data["sketch"] and all(isinstance(k, bool) for _, k in data["sketch"])

    out = cli("generate", "Return the mean of the numbers.", "--explain", cwd=repo, env=no_builtin, check=0)
    assert "retrieved" in out.stdout and "sketch" in out.stdout and "generated (repo-model" in out.stdout

    case = {"path": "extra/shapes.py", "requirement": "Return the area of a rectangle.",
            "signature": "def rectangle_area(width, height)", "prefix": '"""Shapes."""\n\n\n',
            "target": 'def rectangle_area(width, height):\n    """Return the area of a rectangle."""\n'
                      '    return width * height\n'}
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(case) + "\n" + json.dumps({**case, "id": "two"}) + "\n")
    out = cli("eval", "sketch", "--cases", cases, "--repo", repo, "--beams", "1", cwd=repo, env=no_builtin,
              check=0, timeout=300)
    report = json.loads(out.stdout)
    assert report["cases"] == 2
    assert set(report["metrics"]) == {"copy_retrieved", "oracle_best_body", "editor_no_sketch", "editor_full_code",
                                      "skcoder"}
    for metrics in report["metrics"].values():
        assert {"exact_match", "bleu4", "codebleu", "syntax_match", "dataflow_match", "edit_similarity",
                "parse_share"} <= set(metrics)
    assert report["metrics"]["copy_retrieved"]["parse_share"] == 100.0


def test_eval_sketch_repo_mode_and_bad_cases(tmp_path, no_builtin):
    repo = make_sketch_repo(tmp_path)
    out = cli("eval", "sketch", "--repo", repo, "--holdout", "0.3", "--no-model", "--predictions",
              "--write-cases", tmp_path / "held.jsonl", env=no_builtin, check=0, timeout=300)
    report = json.loads(out.stdout)
    assert report["cases"] >= 1 and set(report["metrics"]) == {"copy_retrieved", "oracle_best_body"}
    oracle, copy = report["metrics"]["oracle_best_body"], report["metrics"]["copy_retrieved"]
    assert oracle["edit_similarity"] >= copy["edit_similarity"]
    written = [json.loads(l) for l in (tmp_path / "held.jsonl").read_text().splitlines()]
    assert len(written) == report["cases"] and {"path", "requirement", "signature", "prefix", "target"} <= set(written[0])
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"path": "a.py"}\n')
    out = cli("eval", "sketch", "--cases", bad, "--repo", repo, "--no-model", env=no_builtin)
    assert out.returncode == 2 and "bad.jsonl:1: not a sketch case" in out.stderr


def test_a_model_that_cannot_load_falls_back_and_says_why(tmp_path):
    from safetensors.numpy import save_file
    import numpy as np

    repo = make_sketch_repo(tmp_path)
    builtin = tmp_path / "builtin"
    model = builtin / "sketch"
    model.mkdir(parents=True)
    save_file({"x": np.zeros(2, dtype=np.float32)}, str(model / "model.safetensors"))
    (model / "config.json").write_text(json.dumps({"kind": "something-else"}))
    (model / "meta.json").write_text("{}")
    (model / "tokenizer.json").write_text("{}")
    out = cli("generate", "Return the area of a circle of radius r.", "--json", cwd=repo,
              env={"CODEINTEL_BUILTIN_MODELS": str(builtin)}, check=0)
    data = json.loads(out.stdout)
    assert data["source"] == "fallback:retrieved-copy" and "cannot be used" in data["detail"]
