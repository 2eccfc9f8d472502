"""The learned merge chooser: candidates and their features, the numpy trees against the library
that trained them, abstention, and a real `git merge` resolved by a chooser trained here."""
from __future__ import annotations

import json
import os
import subprocess

import numpy as np
import pytest

from conftest import ROOT, cli, diverge, init_repo, write_corpus

from codeintel.merge.candidates import GENERATORS, Region, candidates
from codeintel.merge.chooser import Chooser, TreeEnsemble, pick
from codeintel.merge.chooser_features import FEATURES, feature_rows
from codeintel.merge.conflicts import plan_hunk, plan_merge


def _region(ours: str, base: str, theirs: str, path: str = "m.py") -> Region:
    sides = [s.splitlines(keepends=True) for s in (ours, base, theirs)]
    plan, _ = plan_hunk(*sides, path=path)
    return Region(*sides, plan, path)


def test_candidates_cover_the_generators_and_merge_equal_texts():
    region = _region("x = f(a, 1)\n", "x = f(a)\n", "y = f(a)\n")
    cands = candidates(region)
    texts = {c.text for c in cands}
    assert "y = f(a, 1)\n" in texts                       # token-level diff3's clean merge
    assert {"x = f(a, 1)\n", "y = f(a)\n", "x = f(a)\n"} <= texts     # ours, theirs, base
    assert len({c.key for c in cands}) == len(cands)       # no two equal ignoring whitespace
    ours = next(c for c in cands if c.text == "x = f(a, 1)\n")
    assert "line:A" in ours.generators and len(ours.generators) > 1   # e.g. line:A and line:REM-BASE-A agree
    rows = feature_rows(region, cands)
    assert rows.shape == (len(cands), len(FEATURES))
    gen = {g: FEATURES.index(f"gen_{g}") for g in GENERATORS}
    agreement = FEATURES.index("agreement")
    for cand, row in zip(cands, rows):
        assert {g for g in GENERATORS if row[gen[g]] == 1.0} == set(cand.generators)
        assert row[agreement] == len(cand.generators)
    assert rows[:, FEATURES.index("token_clean")].tolist() == [1.0] * len(cands)


def test_a_candidate_that_does_not_parse_is_marked():
    region = _region("else:\n    a = 1\n", "else:\n    a = 0\n", "else:\n    a = 2\n")
    region.context_before = "if c:\n    pass\n"
    cands = candidates(region)
    rows = feature_rows(region, cands)
    err = FEATURES.index("cand_error")
    both = next(i for i, c in enumerate(cands) if c.generators[0] == "line:AB")
    ours = next(i for i, c in enumerate(cands) if "line:A" in c.generators)
    assert rows[ours, err] == 0.0 and rows[both, err] == 1.0     # two `else:` in a row: an error
    no_grammar = feature_rows(_region("a\n", "b\n", "c\n", "notes.txt"), candidates(_region("a\n", "b\n", "c\n")))
    assert set(no_grammar[:, err]) == {-1.0}


def test_numpy_trees_give_the_training_librarys_probabilities():
    sklearn = pytest.importorskip("sklearn.ensemble")
    from codeintel.merge.chooser_training import export

    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, len(FEATURES)))
    x[rng.random(x.shape) < 0.05] = np.nan                 # missing values take their learned side
    y = ((x[:, 0] > 0.2) ^ (np.nan_to_num(x[:, 5]) < -0.5)).astype(int)
    model = sklearn.HistGradientBoostingClassifier(max_iter=40, max_leaf_nodes=15, random_state=0).fit(x, y)
    arrays, baseline = export(model)
    trees = TreeEnsemble(arrays, baseline, len(FEATURES))
    probe = rng.normal(size=(300, len(FEATURES)))
    probe[rng.random(probe.shape) < 0.05] = np.nan
    assert np.allclose(trees.predict(probe), model.predict_proba(probe)[:, 1], rtol=0, atol=1e-9)
    with pytest.raises(ValueError):
        trees.predict(probe[:, :10])                        # rows of another layout are refused
    bad = dict(arrays, left=arrays["left"] + 10_000)
    with pytest.raises(ValueError):
        TreeEnsemble(bad, baseline, len(FEATURES))          # malformed weights do not load


def test_the_chooser_abstains_below_its_threshold():
    region = _region("x = 1\n", "x = 0\n", "x = 2\n")
    cands = candidates(region)
    scores = np.linspace(0.2, 0.6, len(cands))
    taken = pick(cands, scores, 0.5)
    assert taken.text == cands[-1].text and taken.score == pytest.approx(0.6)
    left = pick(cands, scores, 0.7)
    assert left.text is None and left.generators == cands[-1].generators
    assert pick([], np.zeros(0), 0.0).text is None


# ------------------------------------------------------------------ trained here, used by git merge
def _scenario(i: int) -> dict:
    """Both sides append to the same list; the developer keeps both (ours first)."""
    base = f"import os\n\nNAMES = [\n    'a{i}',\n]\n\n\ndef f_{i}():\n    return NAMES\n"
    ours = base.replace(f"    'a{i}',\n", f"    'a{i}',\n    'b{i}',\n")
    theirs = base.replace(f"    'a{i}',\n", f"    'a{i}',\n    'c{i}',\n")
    resolved = base.replace(f"    'a{i}',\n", f"    'a{i}',\n    'b{i}',\n    'c{i}',\n")
    if i % 4 == 3:          # now and then the developer took ours: not every region is both
        ours = base.replace(f"return NAMES", f"return list(NAMES)")
        theirs = base.replace(f"return NAMES", f"return tuple(NAMES)")
        resolved = ours
    return {"repo": f"example/r{i % 4}", "path": f"pkg/m{i}.py", "language": "Python", "base": base,
            "ours": ours, "theirs": theirs, "resolved": resolved}


@pytest.fixture(scope="module")
def chooser_dir(tmp_path_factory):
    pytest.importorskip("sklearn")
    folder = tmp_path_factory.mktemp("chooser")
    corpus = write_corpus(folder / "corpus.jsonl.gz", (_scenario(i) for i in range(160)))
    out = folder / "merge"
    proc = cli("train", "merge", "--corpus", corpus, "--test-repos", "example/r0", "--val-repos", "example/r1",
               "--output", out, "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["counts"]["test_regions"] == 40 and summary["numpy_vs_library_max_gap"] < 1e-6
    assert summary["test"]["threshold_0"]["accuracy"] == 1.0
    config = json.loads((out / "config.json").read_text())
    meta = json.loads((out / "meta.json").read_text())
    assert config["architecture"] == "candidate-chooser" and config["features"] == list(FEATURES)
    assert meta["split"]["test_repos"] == ["example/r0"] and meta["corpora"][0]["sha256"]
    return out


def test_chooser_resolves_a_real_git_merge(tmp_path, chooser_dir):
    repo = init_repo(tmp_path / "repo")
    env = {"CODEINTEL_BUILTIN_MODELS": str(chooser_dir.parent)}
    assert cli("install-merge-driver", "--repo", repo, env=env).returncode == 0
    s = _scenario(1001)
    diverge(repo, "names.py", s["base"].encode(), s["ours"].encode(), s["theirs"].encode())
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x",
            "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x"}
    proc = subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True,
                          text=True, env=full)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / "names.py").read_text() == s["resolved"]


def test_resolver_uses_the_chooser_and_can_abstain(chooser_dir, monkeypatch):
    from codeintel.merge.resolver import Resolver

    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", str(chooser_dir.parent))
    resolver = Resolver(None)
    assert resolver.is_chooser and isinstance(resolver.predictor(), Chooser)
    s = _scenario(2001)
    plan = plan_merge(s["base"], s["ours"], s["theirs"], path="pkg/x.py")
    [taken] = resolver.decide(plan, 0.0)
    merged = plan.assemble({}, use_token_merge=False, overrides={taken.hunk: taken.text}).text
    assert merged == s["resolved"]
    assert taken.reason.startswith("confident")
    [left] = resolver.decide(plan, 1.01 if taken.confidence >= 1.0 else min(1.0, taken.confidence + 1e-9))
    assert left.text is None and "below the threshold" in left.reason


def test_eval_merge_reports_the_chooser_per_repository_and_language(tmp_path, chooser_dir):
    data = tmp_path / "held_out.jsonl"
    data.write_text("\n".join(json.dumps(_scenario(i)) for i in range(300, 320)) + "\n")
    proc = cli("eval", "merge", "--data", data, "--model", chooser_dir, "--no-transformer", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["metrics"]["regions"] == 20 and report["threshold_0"]["accuracy"] == 1.0
    assert set(report["metrics"]["by_repo"]) == {"example/r0", "example/r1", "example/r2", "example/r3"}
    assert set(report["metrics"]["by_language"]) == {"Python"}
    assert {"always ours", "always theirs", "token-level diff3 alone", "syntax-aware merge alone"} \
        <= set(report["baselines"])
    assert report["baselines"]["always ours"]["accuracy"] == 0.25
