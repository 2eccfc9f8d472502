"""Learned clone embeddings: the ANN index (usearch against exact numpy), the encoder contract,
the store's embedding table (incremental, per model, stale rows dropped), and both scores in
`codeintel clones` and `codeintel plagiarism` (real CLI subprocesses, real temp repositories
and folders), the archive's submission vectors and its ANN candidates.

A clones model is made active by pointing CODEINTEL_BUILTIN_MODELS at a temporary folder
(fixture ``clones_model``): it holds a copy of the package's built-in clones model when there
is one, else an untrained tiny model written by the registry. The assertions
hold for any encoder that honours the contract (renamed copies embed close together)."""
from __future__ import annotations

import csv
import io
import json
import shutil
import sqlite3
import sys
from pathlib import Path

import numpy as np
import pytest

from codeintel.retrieval.ann import VectorIndex, unit_rows
from conftest import cli, cli_json, run_on_pty
from test_clones import DISGUISED, ORIGINAL, UNRELATED

PACKAGE_MODEL = Path(__file__).resolve().parents[1] / "codeintel" / "models" / "builtin" / "clones"


def write_model_dir(folder: Path, seed: int = 0) -> Path:
    """A real (untrained, tiny) clones model directory, written by the registry; another seed
    gives other weights, so another model id."""
    import torch

    from codeintel.models.bag_module import BagEncoder
    from codeintel.models.registry import save_model

    torch.manual_seed(seed)
    encoder = BagEncoder(buckets=2048, dim=32, ngrams=3)
    config = {"feature": "clones", "encoder": encoder.config, "representation": "tokens", "max_words": 512}
    return save_model(folder, encoder, config, {"metrics": {}})


@pytest.fixture
def clones_model(tmp_path, monkeypatch):
    """The environment that makes a clones model active (also set for this process)."""
    root = tmp_path / "builtin-models"
    if (PACKAGE_MODEL / "model.safetensors").is_file():
        shutil.copytree(PACKAGE_MODEL, root / "clones")
    else:
        write_model_dir(root / "clones")
    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", str(root))
    return {"CODEINTEL_BUILTIN_MODELS": str(root)}


@pytest.fixture
def no_model(tmp_path, monkeypatch):
    root = tmp_path / "no-models"
    root.mkdir()
    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", str(root))
    return {"CODEINTEL_BUILTIN_MODELS": str(root)}


# ------------------------------------------------------------------------------------ ANN index
def _clustered(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n // 20, dim))
    return unit_rows(centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, dim)))


def test_usearch_recall_at_10_against_exact_search(tmp_path):
    vectors = _clustered(6000, 64, 0)
    keys = np.arange(6000, dtype=np.int64) * 7 - 100          # negative keys too
    index = VectorIndex.build(keys, vectors, exact_below=1000)
    assert index.backend == "usearch" and len(index) == 6000
    queries = unit_rows(vectors[:300] + 0.05 * np.random.default_rng(1).standard_normal((300, 64)))
    got, scores = index.search(queries, 10)
    want, want_scores = index.exact_search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got.tolist(), want.tolist())])
    assert recall >= 0.95, recall
    by_key = dict(zip(keys.tolist(), vectors))
    exact = np.array([[q @ by_key[key] for key in row] for q, row in zip(queries, got.tolist())])
    assert np.allclose(scores, exact, atol=1e-4)                # every score is the key's true cosine
    assert np.all(np.diff(scores, axis=1) <= 1e-6)             # best first
    path = tmp_path / "functions.ann"
    index.save(path)
    again = VectorIndex.load(path)
    assert again.backend == "usearch" and np.array_equal(again.search(queries, 10)[0], got)
    assert [p.name for p in tmp_path.iterdir()] == ["functions.ann"]   # no temporary file left


def test_exact_index_below_the_threshold_add_save_load(tmp_path):
    vectors = _clustered(200, 16, 2)
    index = VectorIndex.build(np.arange(100), vectors[:100])
    assert index.backend == "exact"
    index.add(np.arange(100, 200), vectors[100:])
    keys, scores = index.search(vectors[:3], 5)
    assert keys[:, 0].tolist() == [0, 1, 2] and np.allclose(scores[:, 0], 1.0, atol=1e-5)
    few, few_scores = VectorIndex.build([5, 9], vectors[:2]).search(vectors[0], 4)
    assert few.tolist() == [[5, 9, -1, -1]] and np.isinf(few_scores[0, 2:]).all()
    with pytest.raises(ValueError):
        index.add([3], vectors[:1])                             # duplicate key
    with pytest.raises(ValueError):
        index.search(np.zeros((1, 8), np.float32), 3)           # wrong dimension
    index.save(tmp_path / "x.ann")
    assert np.array_equal(VectorIndex.load(tmp_path / "x.ann").search(vectors[:3], 5)[0], keys)
    (tmp_path / "bad.ann").write_bytes(b"not an index")
    with pytest.raises(ValueError):
        VectorIndex.load(tmp_path / "bad.ann")


def test_a_cached_index_is_extended_and_rebuilt_when_stale(tmp_path):
    from codeintel.retrieval.ann import cached_index

    vectors = _clustered(700, 16, 3)
    path = tmp_path / "f.ann"
    small, stale = cached_index(path, np.arange(50), vectors[:50], exact_below=100)
    assert small.backend == "exact" and not path.exists() and stale == set()
    first, stale = cached_index(path, np.arange(500), vectors[:500], exact_below=100)
    assert first.backend == "usearch" and path.exists() and stale == set()
    keys = np.arange(10, 520)                                     # 10 gone, 20 new
    again, stale = cached_index(path, keys, vectors[keys], exact_below=100)
    assert stale == set(range(10)) and len(again) == 520
    assert VectorIndex.load(path).keys.shape[0] == 520
    found, _ = again.search(vectors[515:516], 1)
    assert found[0, 0] == 515
    keys = np.arange(400, 700)                                    # most gone: built anew
    rebuilt, stale = cached_index(path, keys, vectors[keys], exact_below=100)
    assert stale == set() and len(rebuilt) == 300


# ------------------------------------------------------------------------------------ encoder
def test_no_model_directory_means_no_encoder(no_model, repo):
    from codeintel.clones.encoder import active_encoder

    assert active_encoder(repo) is None


def test_the_active_encoder_honours_the_contract(clones_model, repo):
    from codeintel.clones.encoder import active_encoder

    encoder = active_encoder(repo)
    assert encoder is not None and len(encoder.model_id) == 16 and int(encoder.model_id, 16) >= 0
    v = encoder.embed([ORIGINAL.encode(), DISGUISED.encode(), b"def broken(:\n  ((", b""],
                      ["python", "python", "python", None])
    assert v.dtype == np.float32 and v.shape == (4, encoder.dim)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(v, encoder.embed([ORIGINAL.encode(), DISGUISED.encode(), b"def broken(:\n  ((", b""],
                                           ["python", "python", "python", None]))


# ------------------------------------------------------------------------------------ clones
def _index(repo: Path, env: dict) -> None:
    cli("index", repo, "--no-history", "-q", check=0, env=env)


def _rows(repo: Path) -> list[tuple]:
    conn = sqlite3.connect(repo / ".codeintel" / "index.db")
    try:
        return conn.execute("SELECT model, blob, start_byte, end_byte, length(vector) FROM clone_embeddings").fetchall()
    finally:
        conn.close()


def test_clones_with_a_model_reports_both_scores_and_fills_the_store_incrementally(repo, clones_model):
    (repo / "stats.py").write_text(ORIGINAL)
    (repo / "copy.py").write_text(DISGUISED)
    (repo / "other.py").write_text(UNRELATED)
    _index(repo, clones_model)
    assert _rows(repo) == []                                    # indexing never embeds
    data = cli_json("clones", repo, env=clones_model)
    assert data["learned_model"] and data["embedded"] == data["compared"] + 2   # functions, and their files
    pair = next(p for g in data["groups"] for p in g["pairs"]
                if {p["a"]["qualname"], p["b"]["qualname"]} == {"variance", "spread"})
    assert pair["similarity"] > 0.9 and pair["learned_similarity"] > 0.8 and pair["fragments"]
    assert "fragments" in pair["signals"]
    rows = _rows(repo)
    assert len(rows) == data["embedded"] and {r[0] for r in rows} == {data["learned_model"]}
    assert len({r[4] for r in rows}) == 1 and rows[0][4] > 0    # float16 vectors, one length
    assert cli_json("clones", repo, env=clones_model)["embedded"] == 0   # all cached
    text = cli("clones", repo, check=0, env=clones_model).stdout
    assert "learned" in text and "variance" in text
    # change one file: only its functions (and the file) are embedded again; its old rows go
    from indexer.files import git_blob_id

    old_blob = git_blob_id(DISGUISED.encode())
    copy_rows = [r for r in rows if r[1] == old_blob]
    (repo / "copy.py").write_text(DISGUISED + "\n# the end\n")
    _index(repo, clones_model)
    again = cli_json("clones", repo, env=clones_model)
    assert again["embedded"] == len(copy_rows) >= 2             # its functions and the file, nothing else
    after = _rows(repo)
    assert old_blob not in {r[1] for r in after} and len(after) == len(rows)
    # another model: every row of the old one is dropped
    write_model_dir(Path(clones_model["CODEINTEL_BUILTIN_MODELS"]) / "clones", seed=1)
    other = cli_json("clones", repo, env=clones_model)
    assert other["learned_model"] != data["learned_model"] and other["embedded"] == len(rows)
    assert {r[0] for r in _rows(repo)} == {other["learned_model"]}


def test_a_pair_is_reported_on_the_learned_signal_alone(repo, clones_model, no_model):
    (repo / "stats.py").write_text(ORIGINAL)
    (repo / "copy.py").write_text(DISGUISED.replace("    return total / len(xs)",
                                                    "    print(total)\n    return total / len(xs)"))
    (repo / "twin.py").write_text(ORIGINAL)          # same content: same blob, same embedding keys
    _index(repo, clones_model)
    data = cli_json("clones", repo, "--threshold", "1", "--learned-threshold", "0.8", env=clones_model)
    twins = [p for g in data["groups"] for p in g["pairs"] if {p["a"]["path"], p["b"]["path"]} == {"stats.py", "twin.py"}
             and p["a"]["qualname"] == p["b"]["qualname"] == "variance"]
    assert twins and twins[0]["learned_similarity"] > 0.99
    pair = next(p for g in data["groups"] for p in g["pairs"]
                if {p["a"]["qualname"], p["b"]["qualname"]} == {"variance", "spread"})
    assert pair["signals"] == ["learned"] and pair["similarity"] < 1 and pair["fragments"]
    fragments_only = cli_json("clones", repo, "--threshold", "1", "--no-learned", env=clones_model)
    assert fragments_only["learned_model"] is None
    assert not any({p["a"]["qualname"], p["b"]["qualname"]} == {"variance", "spread"}
                   for g in fragments_only["groups"] for p in g["pairs"])
    plain = cli_json("clones", repo, env=no_model)              # no model: fragments only, as before
    assert plain["learned_model"] is None and plain["embedded"] == 0
    assert all(p["learned_similarity"] is None and p["signals"] == ["fragments"]
               for g in plain["groups"] for p in g["pairs"])


def test_the_embedding_progress_bar_shows_on_a_terminal(repo, clones_model):
    (repo / "stats.py").write_text(ORIGINAL)
    (repo / "copy.py").write_text(DISGUISED)
    _index(repo, clones_model)
    out = run_on_pty([sys.executable, "-m", "codeintel", "clones", str(repo)], env=clones_model)
    assert "embed" in out and "variance" in out


def test_editor_hints_and_the_report_carry_the_learned_score(repo, clones_model):
    from codeintel.clones.repo import near_duplicates

    (repo / "stats.py").write_text(ORIGINAL)
    (repo / "other.py").write_text(UNRELATED)
    _index(repo, clones_model)
    before = {d.name: d for d in near_duplicates(repo, "editing.py", DISGUISED)}
    assert before["spread"].other_name == "variance" and before["spread"].learned is None   # nothing stored yet
    cli("clones", repo, "--json", check=0, env=clones_model)                                  # fills the store
    found = {d.name: d for d in near_duplicates(repo, "editing.py", DISGUISED)}
    assert found["spread"].other_name == "variance" and found["spread"].learned > 0.8
    assert near_duplicates(repo, "editing.py", DISGUISED, learned=False)[0].learned is None
    (repo / "copy.py").write_text(DISGUISED)
    _index(repo, clones_model)
    report = json.loads(cli("report", repo, "--section", "clones", "--json", check=0,
                            env=clones_model).stdout)["sections"]["clones"]
    assert report["learned_model"] and report["groups"][0]["learned_similarity"] is not None
    assert "learned" in cli("report", repo, "--section", "clones", check=0, env=clones_model).stdout


# ------------------------------------------------------------------------------------ plagiarism
def _class(root: Path) -> Path:
    subs = root / "subs"
    (subs / "alice").mkdir(parents=True)
    (subs / "alice" / "stats.py").write_text(ORIGINAL)
    (subs / "alice" / "util.py").write_text("def helper(x):\n    return x + 1\n")
    (subs / "bob.py").write_text(DISGUISED)
    (subs / "carol.py").write_text(UNRELATED)
    return subs


def test_plagiarism_ranks_by_both_scores_in_every_output(tmp_path, clones_model):
    subs = _class(tmp_path)
    data = cli_json("plagiarism", subs, env=clones_model)
    assert data["learned_model"] and data["ranking"].startswith("combined")
    pairs = data["pairs"]
    assert len(pairs) == 3                                      # carol shares nothing but is a neighbour
    assert [p["combined"] for p in pairs] == sorted((p["combined"] for p in pairs), reverse=True)
    top = pairs[0]
    assert {top["a"], top["b"]} == {"subs/alice", "subs/bob.py"} and top["learned_similarity"] > 0.8
    assert abs(top["combined"] - (top["similarity"] + top["learned_similarity"]) / 2) < 1e-3
    assert all(p["learned_similarity"] is not None for p in pairs)
    html_file, csv_file = tmp_path / "r.html", tmp_path / "r.csv"
    out = cli("plagiarism", subs, "--html", html_file, "--csv", csv_file, "--learned-threshold", "0.8", check=0,
              env=clones_model).stdout
    assert "learned" in out and "combined" in out
    rows = list(csv.DictReader(io.StringIO(csv_file.read_text())))
    assert rows[0]["learned_similarity"] and rows[0]["combined"] and "learned" in rows[0]["signals"]
    assert "<th>learned</th><th>combined</th>" in html_file.read_text()


def test_the_archive_keeps_vectors_and_finds_candidates_through_them(tmp_path, clones_model, no_model):
    from codeintel.store import Store

    old = tmp_path / "2023"
    old.mkdir()
    (old / "x.py").write_text(ORIGINAL)
    (old / "y.py").write_text(UNRELATED)
    archive = tmp_path / "archive.db"
    cli("plagiarism", old, "--keep", archive, "--json", check=0, env=no_model)   # kept without a model
    new = tmp_path / "2024"
    new.mkdir()
    (new / "w.py").write_text("def tiny(n):\n    return n * 2\n")                 # shares no fingerprint
    plain = cli_json("plagiarism", new, "--against", archive, env=no_model)
    assert plain["pairs"] == []
    data = cli_json("plagiarism", new, "--against", archive, env=clones_model)
    assert {frozenset((p["a"], p["b"])) for p in data["pairs"]} == {frozenset(("2024/w.py", "2023/x.py")),
                                                                     frozenset(("2024/w.py", "2023/y.py"))}
    assert all(p["similarity"] == 0 and p["learned_similarity"] is not None for p in data["pairs"])
    with Store.open(archive, create=False) as store:               # filled lazily for the model
        assert set(store.archive_vectors(data["learned_model"])) == {"2023/x.py", "2023/y.py"}
    (new / "z.py").write_text(DISGUISED)
    kept = cli_json("plagiarism", new, "--against", archive, "--keep", archive, "--learned-threshold", "0.8",
                    env=clones_model)
    top = kept["pairs"][0]
    assert {top["a"], top["b"]} == {"2024/z.py", "2023/x.py"} and set(top["signals"]) == {"fragments", "learned"}
    with Store.open(archive, create=False) as store:
        assert set(store.archive_vectors(data["learned_model"])) == {"2023/x.py", "2023/y.py", "2024/w.py",
                                                                     "2024/z.py"}


def test_bad_learned_options_are_one_line_and_exit_2(tmp_path, repo, clones_model):
    subs = _class(tmp_path)
    proc = cli("plagiarism", subs, "--learned-threshold", "2", env=clones_model)
    assert proc.returncode == 2 and "learned-threshold" in proc.stderr and "Traceback" not in proc.stderr
    (repo / "stats.py").write_text(ORIGINAL)
    _index(repo, clones_model)
    proc = cli("clones", repo, "--learned-threshold", "x", env=clones_model)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
