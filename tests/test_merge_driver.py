"""The merge feature as users meet it: `git merge` with the installed driver, `codeintel
resolve` after a plain merge, training and evaluating from JSONL, and the never-lose-work
properties of the driver on generated inputs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT, cli, commit_all, diverge, git, init_repo, write_corpus

from codeintel import trust
from codeintel.merge.driver import merge_bytes
from codeintel.merge.markers import has_markers


# ------------------------------------------------------------------------- a tiny trained model
def _scenario(i: int) -> dict:
    """Both sides rewrite the same call; the developer always kept ours (pattern A)."""
    head = f"import os\n\n\ndef handler_{i}(request):\n    value = request.get('k{i}')\n"
    tail = f"    return value\n\n\ndef other_{i}():\n    return {i}\n"
    base = head + f"    result = compute(value, {i})\n" + tail
    ours = head + f"    result = compute_fast(value, {i}, cache=True)\n" + tail
    theirs = head + f"    result = compute(value, {i} + 1)\n" + tail
    return {"repo": f"example/r{i % 3}", "path": f"pkg/m{i}.py", "language": "Python", "base": base,
            "ours": ours, "theirs": theirs, "resolved": ours}


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("merge-model")
    corpus = write_corpus(folder / "corpus.jsonl.gz", (_scenario(i) for i in range(120)))
    out = folder / "model"
    proc = cli("train", "merge", "--model", "transformer", "--corpus", corpus, "--size", "tiny", "--epochs", "12", "--max-len", "48",
               "--vocab-size", "400", "--batch-size", "16", "--test-repos", "example/r0", "--threshold", "0.5",
               "--output", out, "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["test"]["metrics"]["regions"] == 40
    (folder / "merge").symlink_to(out)  # folder is a built-in models root with this as its merge model
    listed = cli("models", "--repo", folder, env={"CODEINTEL_BUILTIN_MODELS": str(folder)}, check=0).stdout
    merge_line = next(line for line in listed.splitlines() if line.split()[:1] == ["merge"])
    assert "test.accuracy" in merge_line and "test.precision" in merge_line, listed  # the headline, not baselines
    return out


def test_training_keeps_ours_and_theirs_apart_unless_asked_to_mirror(tmp_path):
    """git's ours is the branch merged into: by default each conflict is learned as it happened;
    --mirror adds the copy with the sides exchanged (and the label swapped)."""
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(_scenario(i)) + "\n" for i in range(24)))
    counts = {}
    for flag in ("--no-mirror", "--mirror"):
        out = tmp_path / flag.strip("-")
        proc = cli("train", "merge", "--model", "transformer", "--corpus", corpus, "--size", "tiny", "--epochs", "1", "--max-len", "32",
                   "--vocab-size", "300", "--batch-size", "8", "--output", out, flag, "--json", timeout=300)
        assert proc.returncode == 0, proc.stderr
        meta = json.loads((out / "meta.json").read_text())
        assert meta["settings"]["mirror"] is (flag == "--mirror")
        counts[flag] = meta["training"]["instances"]
    assert counts["--mirror"] == 2 * counts["--no-mirror"] > 0


@pytest.fixture
def merge_repo(tmp_path, model_dir):
    """A repository with the driver installed and the tiny model as its built-in model."""
    repo = init_repo(tmp_path / "repo")
    env = {"CODEINTEL_BUILTIN_MODELS": str(model_dir.parent)}
    proc = cli("install-merge-driver", "--repo", repo, env=env)
    assert proc.returncode == 0, proc.stderr
    return repo, env


def _branch_merge(repo: Path, base: bytes, ours: bytes, theirs: bytes, name: str = "f.py", env=None):
    diverge(repo, name, base, ours, theirs)
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.update({"GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x", "GIT_COMMITTER_NAME": "A",
                     "GIT_COMMITTER_EMAIL": "a@x"})
    return subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True,
                          text=True, env=full_env)


def test_install_writes_config_and_attributes_once(merge_repo):
    repo, env = merge_repo
    driver = git(repo, "config", "merge.codeintel.driver").strip()
    assert driver.endswith("-m codeintel merge-driver %O %A %B %L %P")
    cli("install-merge-driver", "--repo", repo, env=env, check=0)
    assert (repo / ".gitattributes").read_text().splitlines().count("*.py merge=codeintel") == 1


def test_clean_merge_through_the_driver(merge_repo):
    repo, env = merge_repo
    base = b"a = 1\nb = 2\nc = 3\nd = 4\ne = 5\n"
    ours = b"a = 10\nb = 2\nc = 3\nd = 4\ne = 5\n"
    theirs = b"a = 1\nb = 2\nc = 3\nd = 4\ne = 50\n"
    proc = _branch_merge(repo, base, ours, theirs, env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / "f.py").read_bytes() == b"a = 10\nb = 2\nc = 3\nd = 4\ne = 50\n"


def test_a_learned_resolution_is_applied_and_recorded(merge_repo):
    repo, env = merge_repo
    (repo / ".codeintel").mkdir(exist_ok=True)
    (repo / ".codeintel" / "config.toml").write_text("[merge]\nthreshold = 0.3\n")
    trust.trust(repo)      # the user's own repository: its threshold applies
    s = _scenario(7)
    cli("index", repo, "--quiet", check=0)
    proc = _branch_merge(repo, s["base"].encode(), s["ours"].encode(), s["theirs"].encode(), "pkg.py", env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # resolved: git made the merge commit
    assert (repo / "pkg.py").read_text() == s["ours"]
    import sqlite3
    rows = sqlite3.connect(repo / ".codeintel" / "index.db").execute(
        "SELECT path, resolved, patterns, via FROM merge_decisions").fetchall()
    assert rows == [("pkg.py", 1, "A", "merge-driver")]
    stats = json.loads(cli("stats", "--repo", repo, "--json", check=0).stdout)
    assert stats["merge_decisions"]["resolved"] == 1 and stats["merge_decisions"]["left"] == 0


def test_unresolved_conflict_keeps_every_line_and_honours_style_and_marker_size(merge_repo):
    repo, env = merge_repo
    git(repo, "config", "merge.conflictStyle", "diff3")
    (repo / ".gitattributes").write_text("* merge=codeintel conflict-marker-size=9\n")
    (repo / ".codeintel").mkdir(exist_ok=True)
    (repo / ".codeintel" / "config.toml").write_text("[merge]\nthreshold = 1.0\n")  # never that sure
    base = b"x = 1\ny = 2\n"
    ours = b"x = 'left side entirely different'\ny = 2\n"
    theirs = b"x = ['right', 'side']\ny = 2\n"
    proc = _branch_merge(repo, base, ours, theirs, env=env)
    assert proc.returncode != 0
    text = (repo / "f.py").read_text()
    assert "<<<<<<<<< ours" in text and "||||||||| base" in text and ">>>>>>>>> theirs" in text
    for line in (ours + theirs + base).decode().splitlines():
        assert line in text


@pytest.mark.parametrize("kind", ["crlf", "no-final-newline", "latin-1", "binary", "add/add", "markers-inside"])
def test_odd_files_never_lose_work(merge_repo, kind):
    repo, env = merge_repo
    base, ours, theirs = b"one\ntwo\nthree\n", b"one\nTWO-ours\nthree\n", b"one\nTWO-theirs\nthree\n"
    if kind == "crlf":
        base, ours, theirs = (x.replace(b"\n", b"\r\n") for x in (base, ours, theirs))
    elif kind == "no-final-newline":
        base, ours, theirs = (x.rstrip(b"\n") for x in (base, ours, theirs))
    elif kind == "latin-1":
        ours = ours.replace(b"ours", b"\xe9t\xe9")
    elif kind == "binary":
        base, ours, theirs = (b"\x00\x01" + x for x in (base, ours, theirs))
    elif kind == "markers-inside":
        base = b"<<<<<<< old\n" + base
        ours, theirs = b"<<<<<<< old\n" + ours, b"<<<<<<< old\n" + theirs
    if kind == "add/add":
        commit_all(repo, "empty")
        git(repo, "checkout", "-q", "-b", "theirs")
        (repo / "f.py").write_bytes(theirs)
        commit_all(repo, "theirs")
        git(repo, "checkout", "-q", "main")
        (repo / "f.py").write_bytes(ours)
        commit_all(repo, "ours")
        proc = subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    else:
        proc = _branch_merge(repo, base, ours, theirs, env=env)
    result = (repo / "f.py").read_bytes()
    if kind == "binary":
        assert proc.returncode != 0
        assert result == ours  # git's rule for binary files: ours stays, the conflict is reported
        return
    if proc.returncode == 0:  # the model resolved it: one side's line, no markers
        assert not has_markers(result.decode("utf-8", "surrogateescape"))
        assert (b"TWO-" in result or b"\xe9t\xe9" in result) and b"one" in result
    else:
        for side in (ours, theirs):
            for line in side.splitlines():
                assert line in result
    if kind == "crlf":
        assert b"\r\n" in result and b"\n" not in result.replace(b"\r\n", b"")


def test_resolve_after_a_plain_merge(tmp_path, model_dir):
    env = {"CODEINTEL_BUILTIN_MODELS": str(model_dir.parent)}
    repo = init_repo(tmp_path / "plain")
    git(repo, "config", "merge.conflictStyle", "diff3")
    s = _scenario(11)
    proc = _branch_merge(repo, s["base"].encode(), s["ours"].encode(), s["theirs"].encode(), "m.py")
    assert proc.returncode != 0 and has_markers((repo / "m.py").read_text())
    before = (repo / "m.py").read_bytes()
    dry = cli("resolve", repo / "m.py", "--dry-run", "--threshold", "0.3", env=env, cwd=repo)
    assert dry.returncode == 0, dry.stderr
    assert "conflict 1: resolved (A" in dry.stdout and "+" in dry.stdout
    assert (repo / "m.py").read_bytes() == before  # a dry run writes nothing
    done = cli("resolve", repo / "m.py", "--threshold", "0.3", env=env, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert (repo / "m.py").read_text() == s["ours"]
    # a high threshold leaves it, byte for byte, and says why
    (repo / "m.py").write_bytes(before)
    kept = cli("resolve", repo / "m.py", "--threshold", "1.0", "--explain", env=env, cwd=repo)
    assert kept.returncode == 1 and "below the threshold" in kept.stdout
    assert (repo / "m.py").read_bytes() == before


def test_clean_merge_does_not_import_torch(tmp_path):
    for name, text in (("o", "a\nb\nc\nd\n"), ("a", "A\nb\nc\nd\n"), ("b", "a\nb\nc\nD\n")):
        (tmp_path / name).write_text(text)
    script = ("import sys; from codeintel.cli import run; code = run(['merge-driver', 'o', 'a', 'b', '7', 'f.py']);"
              "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "a").read_text() == "A\nb\nc\nD\n"


def test_eval_merge_reports_model_and_baselines(tmp_path, model_dir):
    data = tmp_path / "held_out.jsonl"
    data.write_text("\n".join(json.dumps(_scenario(i)) for i in range(200, 230)) + "\n")
    proc = cli("eval", "merge", "--data", data, "--model", model_dir)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["metrics"]["regions"] == 30
    assert {"git diff3 alone", "token-level diff3 alone", "always ours", "always theirs"} <= set(report["baselines"])
    assert report["baselines"]["always ours"]["accuracy"] == 1.0


def test_bad_input_is_one_line(tmp_path):
    proc = cli("merge-driver", tmp_path / "nope", tmp_path / "nope2", tmp_path / "nope3")
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("eval", "merge", "--data", tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


# ------------------------------------------------------------------------- properties
class _RandomResolver:
    """Decides hunks with a pattern drawn from the data: exercises every path of assembly."""
    available = True
    name = "random"
    default_threshold = 0.5

    def __init__(self, seed):
        import random
        self.rng = random.Random(seed)

    def decide(self, plan, threshold, budget=None):
        from codeintel.merge.patterns import PATTERNS
        from codeintel.merge.resolver import HunkDecision
        out = []
        for i in plan.conflict_hunks:
            hp = plan.hunk_plans[i]
            choice = self.rng.choice(PATTERNS + (None,))
            text = hp.resolve([choice] * len(hp.conflicts)) if choice and hp.conflicts else None
            out.append(HunkDecision(i, text, [choice or "OTHER"], 0.99, "random"))
        return out


_line = st.sampled_from(["a\n", "b\n", "c\n", "x = 1\n", "y = 2\n", "def f():\n", "    pass\n", "\n"])
_text = st.lists(_line, max_size=8).map("".join)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base=_text, ours=_text, theirs=_text, seed=st.integers(0, 1000))
def test_driver_never_loses_work(base, ours, theirs, seed):
    from codeintel.merge.markers import parse_conflicts
    from indexer.gitmerge import git_merge_file

    out = merge_bytes(base.encode(), ours.encode(), theirs.encode(), "f.txt", _RandomResolver(seed), 0.5,
                      style="diff3")
    text = out.text.decode()
    git_text = git_merge_file(ours.encode(), base.encode(), theirs.encode(), style="diff3")[0].decode()
    left = [(s.ours, s.base, s.theirs) for s in parse_conflicts(text) if s.conflict]
    git_conflicts = [(s.ours, s.base, s.theirs) for s in parse_conflicts(git_text) if s.conflict]
    assert len(left) == out.conflicts
    # whatever is left is one of git's own conflicts, whole: every line of both sides is there
    assert all(conflict in git_conflicts for conflict in left)
    if out.conflicts == 0:
        assert not has_markers(text)


def test_delete_modify_is_left_to_git(merge_repo):
    repo, env = merge_repo
    (repo / "gone.py").write_text("def f():\n    return 1\n")
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "theirs")
    (repo / "gone.py").write_text("def f():\n    return 2\n")
    commit_all(repo, "theirs modifies")
    git(repo, "checkout", "-q", "main")
    (repo / "gone.py").unlink()
    commit_all(repo, "ours deletes")
    proc = subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **env})
    assert proc.returncode != 0 and "modify/delete" in proc.stdout + proc.stderr
    assert (repo / "gone.py").read_text() == "def f():\n    return 2\n"  # theirs kept for the user to decide


def test_numpy_inference_matches_the_torch_model_and_needs_no_torch(model_dir, tmp_path):
    import numpy as np
    import torch

    from codeintel.merge.inference import NumpyMergeClassifier
    from codeintel.merge.model import MergeClassifier
    from codeintel.models.builders import model_from_config
    from codeintel.models.registry import load_state, read_model_dir

    info = read_model_dir(model_dir, "merge", "given")
    model = MergeClassifier(model_from_config(info.config["encoder"]), info.config["encoder"]["hidden"])
    model.load_state_dict(load_state(model_dir))
    model.eval()
    ids = np.random.default_rng(0).integers(4, 400, (2, 4, 48))
    ids[1, :, 30:] = 0
    types = np.random.default_rng(1).integers(1, 6, (2, 4, 48))
    types[1, :, 30:] = 0
    with torch.no_grad():
        want = model(torch.tensor(ids), torch.tensor(types)).numpy()
    got = NumpyMergeClassifier.load(model_dir, info.config)(ids, types)
    assert np.abs(want - got).max() < 1e-4

    # a conflicted merge, decided by the model, in a process that never imports torch
    s = _scenario(3)
    work = init_repo(tmp_path / "work")
    (work / ".codeintel").mkdir()
    (work / ".codeintel" / "config.toml").write_text("[merge]\nthreshold = 0.3\n")
    trust.trust(work)      # the user's own repository: its threshold applies
    for name, text in (("o", s["base"]), ("a", s["ours"]), ("b", s["theirs"])):
        (work / name).write_text(text)
    script = ("import sys; from codeintel.cli import run; code = run(['merge-driver', 'o', 'a', 'b', '7', 'p.py']);"
              "assert 'torch' not in sys.modules, 'torch imported'; sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", script], cwd=work, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "CODEINTEL_BUILTIN_MODELS": str(model_dir.parent)})
    assert proc.returncode == 0, proc.stderr  # resolved by the model (threshold 0.3 in the config)
    assert (work / "a").read_text() == s["ours"]
