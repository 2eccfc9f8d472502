"""Completion's n-gram models and learned ranker: the model's counts and backoff, its cache on
disk, training the ranker with the real command on repositories built here, complete() and
eval using it."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from codeintel.completion import complete
from codeintel.completion.cursor import Cursor
from codeintel.completion.ngram import TokenLM, complete_line, repository_lm
from codeintel.completion.ranker import FEATURES, Ranker, features, gather, statement_state
from codeintel.store import Store, store_path

from conftest import cli


# ------------------------------------------------------------------------------- the n-gram model
def test_next_tokens_follow_the_longest_context_seen_and_back_off():
    lm = TokenLM.from_texts(["x = alpha(1)\ny = alpha(2)\nz = beta(1)\n", "w = alpha(3)\n"])
    after_alpha = lm.next_tokens(["alpha", "("])
    assert set(after_alpha) == {"1", "2", "3"} and abs(sum(after_alpha.values()) - 1) < 1e-9
    # "z = beta(" was seen once: its continuation dominates, the shorter context "(" still counts
    after_beta = lm.next_tokens(["beta", "("])
    assert max(after_beta, key=after_beta.get) == "1" and {"2", "3"} <= set(after_beta)
    # never seen: nothing, unless a partly typed word narrows the unigram
    assert lm.next_tokens(["never"]) == {}
    assert set(lm.next_tokens(["never"], "al")) == {"alpha"}
    # documents do not run into each other: nothing follows the last token of the first text
    assert TokenLM.from_texts(["first end", "start second"]).next_tokens(["end"]) == {}


def test_positions_are_sorted_by_their_reversed_left_context():
    from codeintel.completion.ngram import BOUNDARY, CONTEXT

    lm = TokenLM.from_texts([Path(__file__).read_text(), "def f(x):\n    return x\n"])
    positions = np.nonzero(lm.stream[CONTEXT:] != BOUNDARY)[0] + CONTEXT
    reference = positions[np.lexsort([lm.stream[positions - j] for j in range(CONTEXT, 0, -1)])]
    assert np.array_equal(lm.order, reference)
    # every position of a context's range follows that context
    (lo, hi), = lm.ranges(["return"])[:1]
    assert hi > lo and all(lm.words[lm.stream[p - 1]] == "return" for p in lm.order[lo:hi])


def test_complete_line_mixes_the_buffer_with_the_repository():
    repo = TokenLM.from_texts(["import logging\nlog = logging.getLogger(__name__)\n"] * 3)
    prefix = "import logging\n\nlogger = logging.get"
    found = complete_line([(TokenLM.from_texts([prefix]), 0.5), (repo, 0.5)], prefix)
    assert found[0][0] == "Logger(__name__)"
    assert all(score <= 0 for _, score in found) and found == sorted(found, key=lambda f: -f[1])
    # the buffer alone knows nothing of the line: no completion rather than a made-up one
    assert complete_line([(TokenLM.from_texts(["a = 1\n"]), 1.0)], "zzz = qqq.") == []


def test_the_repository_model_is_cached_for_the_index_it_was_built_from(tmp_path):
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("def handler(request):\n    return respond(request, status=200)\n")
    cli("index", root, "--no-history", "-q", check=0)
    with Store.open(store_path(root), create=False) as store:
        built = repository_lm(store, "python", cache_dir=tmp_path)
        cached = tmp_path / "ngram_python.safetensors"
        assert cached.is_file() and len(built) > 10
        again = TokenLM.load(cached, str(store.get_meta("last_indexed_at")))
        assert again is not None and again.words == built.words
        assert np.array_equal(again.order, built.order)
        assert TokenLM.load(cached, "another index") is None       # stale: rebuilt by the caller
        assert repository_lm(store, "go") is None                   # no file of that language


# ------------------------------------------------------------------------------- the ranker
def _write_repo(root: Path, seed: int) -> Path:
    """A git repository of similar modules: registries, handlers and tests with repeated shapes."""
    root.mkdir(parents=True)
    for i in range(14):
        name = f"mod_{seed}_{i}"
        body = [f'"""Module {i}."""', "import logging", "", "log = logging.getLogger(__name__)", "",
                f"REGISTRY_{i} = {{}}", ""]
        for j in range(4):
            body += [f"def handle_{j}_{i}(request, limit={j + 1}):",
                     f"    log.info(\"handling %s\", request.path)",
                     f"    items = request.fetch(limit=limit, offset={j})",
                     "    if not items:",
                     "        return respond(request, status=404)",
                     f"    REGISTRY_{i}[request.key] = items",
                     "    return respond(request, status=200, items=items)", ""]
        (root / f"{name}.py").write_text("\n".join(body) + "\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "."], check=True)
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("ranker")
    a, b = _write_repo(base / "alpha", 1), _write_repo(base / "beta", 2)
    out = base / "models" / "completion-ranker"
    result = cli("train", "completion-ranker", "--repo", a, "--repo", b, "--output", out,
                 "--max-cases", "60", "--epochs", "3", "--json", check=0)
    summary = json.loads(result.stdout)
    assert summary["counts"]["train"] > 5 and summary["counts"]["val"] > 5
    assert 0 <= summary["val"]["ranker_top1"] <= 1
    return out


def test_training_writes_a_ranker_with_its_data_card(trained):
    config = json.loads((trained / "config.json").read_text())
    meta = json.loads((trained / "meta.json").read_text())
    assert config["features"] == list(FEATURES) and (trained / "model.safetensors").is_file()
    assert [c["name"] for c in meta["corpora"]] == ["alpha", "beta"]
    assert "validated on beta" in meta["split"] and list(meta["metrics"])[0] == "val"
    assert meta["command"].startswith("codeintel train completion-ranker")
    listed = cli("models", env={"CODEINTEL_BUILTIN_MODELS": str(trained.parent)}, check=0).stdout
    assert "completion-ranker" in listed and "ranker_top1" in listed


def test_the_ranker_orders_the_candidates_of_a_cursor(trained, tmp_path):
    ranker = Ranker.load(trained)
    prefix = "import logging\nlog = logging.getLogger(__name__)\n\ndef f(request):\n    return respond(request, sta"
    cursor = Cursor.from_parts("m.py", prefix, "\n")
    found = gather(cursor, [], TokenLM.from_texts(["    return respond(request, status=200)\n"]))
    assert found.texts and features(found).shape == (len(found.texts), len(FEATURES))
    ranked = ranker.rank(found)
    assert sorted(t for t, _ in ranked) == sorted(found.texts)
    assert abs(sum(p for _, p in ranked) - 1) < 1e-5 and ranked[0][0].startswith("tus=")
    # a ranker trained on other features is refused in one line, not misused
    (tmp_path / "bad").mkdir()
    config = json.loads((trained / "config.json").read_text())
    config["features"] = config["features"][:-1]
    with pytest.raises(ValueError, match="other features"):
        Ranker({}, config)


def test_complete_and_eval_use_the_active_ranker(trained, tmp_path, monkeypatch):
    repo = _write_repo(tmp_path / "user", 3)
    cli("index", repo, "--no-history", "-q", check=0)
    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", str(trained.parent))
    text = (repo / "mod_3_0.py").read_text()
    line = text.split("\n").index("    items = request.fetch(limit=limit, offset=0)") + 1
    found = complete(repo, "mod_3_0.py", text, line, len("    items = request.fe"))
    assert found and found[0].source == "ranker" and "built-in ranker" in found[0].detail
    assert found[0].text == "tch(limit=limit, offset=0)"
    # a ranker trained on the repository while this session lives (the server's) is used by the
    # next request, and removing it brings back the built-in one
    cli("train", "completion-ranker", "--repo", repo, "--max-cases", "60", "--epochs", "2", check=0)
    found = complete(repo, "mod_3_0.py", text, line, len("    items = request.fe"))
    assert found and found[0].source == "ranker" and "repository ranker" in found[0].detail
    shutil.rmtree(repo / ".codeintel" / "models" / "completion-ranker")
    assert "built-in ranker" in complete(repo, "mod_3_0.py", text, line, len("    items = request.fe"))[0].detail
    report = json.loads(cli("eval", "completion", "--repo", repo, "--holdout", "0.2", "--max-cases", "20",
                            "--ranker", trained, "--no-model", check=0).stdout)
    assert report["ranker"] == str(trained)
    assert {"ngram", "ranked", "in_file_bm25"} <= set(report["metrics"])
    assert report["metrics"]["ranked"]["all"]["n"] == report["cases"] > 0


def test_bad_ranker_input_is_one_line_and_keeps_the_users_files(tmp_path):
    result = cli("train", "completion-ranker", "--repo", tmp_path / "missing", check=2)
    assert "missing" in result.stderr and "Traceback" not in result.stderr
    keep = tmp_path / "notes"
    keep.mkdir()
    (keep / "todo.txt").write_text("mine")
    repo = _write_repo(tmp_path / "r", 4)
    result = cli("train", "completion-ranker", "--repo", repo, "--output", keep, check=2)
    assert "not a model" in result.stderr and (keep / "todo.txt").read_text() == "mine"
    result = cli("train", "completion-ranker", "--repo", repo, "--repo", repo, check=2)
    assert "--output" in result.stderr


def test_a_repository_ranker_starts_from_the_active_one_and_is_never_worse_on_its_validation(trained, tmp_path):
    repo = _write_repo(tmp_path / "mine", 5)
    env = {"CODEINTEL_BUILTIN_MODELS": str(trained.parent)}
    summary = json.loads(cli("train", "completion-ranker", "--repo", repo, "--max-cases", "60", "--epochs", "2",
                             "--json", env=env, check=0).stdout)
    out = repo / ".codeintel" / "models" / "completion-ranker"
    assert summary["output"] == str(out) and summary["fine_tuned_from"] == str(trained)
    assert summary["val"]["ranker_top1"] >= summary["val"]["base_ranker_top1"]
    meta = json.loads((out / "meta.json").read_text())
    assert meta["fine_tuned_from"] == str(trained) and "validate" in meta["split"]
    listed = cli("models", "--repo", repo, env=env, check=0).stdout
    assert "completion-ranker" in listed and "repository" in listed
    # from scratch: no base
    scratch = json.loads(cli("train", "completion-ranker", "--repo", repo, "--max-cases", "60", "--epochs", "2",
                             "--from-scratch", "--output", tmp_path / "scratch", "--json", env=env, check=0).stdout)
    assert scratch["fine_tuned_from"] is None and "base_ranker_top1" not in scratch["val"]


@pytest.mark.parametrize("prefix, depth, start, where", [
    ("x = 1\ndef f(a,\n      b", 1, "def f(a,", ""),
    ("d = {\n  'a': [1,\n", 2, "d = {", ""),
    ('x = """doc"""\ny = f(', 1, "y = f(", ""),
    ('x = "it\'s" + "', 0, 'x = "it\'s" + "', "string"),
    ('def f():\n    """Return\n    the', 0, "    the", "docstring"),
    ("a = g(1)  # note (open", 0, "a = g(1)  # note (open", "comment"),
    ('s = ""', 0, 's = ""', ""),
])
def test_statement_state_sees_open_brackets_strings_and_comments(prefix, depth, start, where):
    state = statement_state(prefix)
    assert (state.depth, state.start_line) == (depth, start)
    assert (state.in_string, state.in_docstring, state.in_comment) == (
        where in ("string", "docstring"), where == "docstring", where == "comment")


def test_the_loss_prefers_the_nearer_candidate_when_none_is_right():
    import torch

    from codeintel.completion.train_ranker import Example, _collate, make_loss

    # two candidates, neither right; the second is closer to the real line
    example = Example("r", "p.py", np.eye(2, dtype=np.float32), np.zeros(2, np.float32),
                      np.asarray([0.1, 0.9], np.float32), False)
    batch = _collate([example])
    model = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        model.weight[:] = torch.tensor([[1.0, -1.0]])       # prefers the far one
    before = make_loss(1.0)(model, batch)
    with torch.no_grad():
        model.weight[:] = torch.tensor([[-1.0, 1.0]])       # prefers the near one
    assert make_loss(1.0)(model, batch) < before
    assert make_loss(0.0)(model, batch) == 0                # no answer among them: no cross-entropy


def test_a_merged_ensemble_scores_the_mean_of_its_members():
    import torch

    from codeintel.completion.train_ranker import merge_ensemble

    torch.manual_seed(0)
    members = [torch.nn.Sequential(torch.nn.Linear(6, h), torch.nn.ReLU(), torch.nn.Linear(h, 1)) for h in (3, 5, 4)]
    merged = merge_ensemble(members)
    x = torch.randn(50, 6)
    with torch.no_grad():
        mean = torch.stack([m(x) for m in members]).mean(0)
        assert merged[0].out_features == 12
        assert torch.allclose(merged(x), mean, atol=1e-6)
        assert not torch.allclose(merged(x), members[0](x))


def test_more_seeds_cut_more_holes_and_an_ensemble_loads_as_one_wider_ranker(trained, tmp_path):
    single = {c["name"]: c["holes"] for c in json.loads((trained / "meta.json").read_text())["corpora"]}
    a, b = _write_repo(tmp_path / "alpha", 1), _write_repo(tmp_path / "beta", 2)
    out = tmp_path / "ens"
    summary = json.loads(cli("train", "completion-ranker", "--repo", a, "--repo", b, "--output", out,
                             "--max-cases", "60", "--epochs", "2", "--hidden", "8", "--seeds", "2",
                             "--ensemble", "3", "--json", check=0).stdout)
    meta = json.loads((out / "meta.json").read_text())
    holes = {c["name"]: c["holes"] for c in meta["corpora"]}
    assert holes["alpha"] > single["alpha"] and holes["beta"] == single["beta"]   # validation is cut once
    assert summary["counts"]["val"] > 5 and meta["settings"]["ensemble"] == 3
    config = json.loads((out / "config.json").read_text())
    assert config["hidden"] == 24
    ranker = Ranker.load(out)
    assert ranker.layers[0][0].shape == (24, len(FEATURES))
