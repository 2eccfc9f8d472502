"""bench/bench_merge_replay.py on a small real history: it finds the merges that conflict,
replays them plainly and with the installed driver, and classifies each conflicted file."""
from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT, commit_all, git, init_repo


def _history(repo):
    """main and a branch conflict in app.py and config.yaml; the developer's merge commit keeps
    ours in both. A second merge merges cleanly and an octopus merge follows."""
    (repo / "app.py").write_text("x = 1\ny = 2\n")
    (repo / "config.yaml").write_text("a: 1\n")
    (repo / "other.txt").write_text("o\n")
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "topic")
    (repo / "app.py").write_text("x = 'theirs'\ny = 2\n")
    (repo / "config.yaml").write_text("a: 3\n")
    commit_all(repo, "theirs")
    git(repo, "checkout", "-q", "main")
    (repo / "app.py").write_text("x = 'ours'\ny = 2\n")
    (repo / "config.yaml").write_text("a: 2\n")
    commit_all(repo, "ours")
    subprocess.run(["git", "-C", str(repo), "merge", "-q", "topic"], capture_output=True)
    (repo / "app.py").write_text("x = 'ours'\ny = 2\n")
    (repo / "config.yaml").write_text("a: 2\n")
    conflicted = commit_all(repo, "merge topic")
    for name in ("b1", "b2"):
        git(repo, "checkout", "-q", "-b", name, "main")
        (repo / f"{name}.txt").write_text(name)
        commit_all(repo, name)
    git(repo, "checkout", "-q", "main")
    git(repo, "merge", "-q", "--no-ff", "--no-edit", "b1", "b2")
    return conflicted


def test_replay_classifies_the_conflicted_files_and_skips_what_it_cannot_use(tmp_path):
    repo = init_repo(tmp_path / "repo")
    _history(repo)
    merge = git(repo, "rev-parse", "HEAD~1").strip()
    out = tmp_path / "replay.json"
    env = {"PATH": __import__("os").environ["PATH"], "PYTHONPATH": str(ROOT),
           "CODEINTEL_BUILTIN_MODELS": str(tmp_path / "no-models")}
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_merge_replay.py"), str(repo), "--merges", "5",
                           "--json", str(out)], capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    row = data["repositories"][0]
    assert row["merges_replayed"] == 1 and row["conflicted_files"] == 2
    assert row["claimed_by_driver"] == 1            # app.py; config.yaml keeps git's merge
    assert row["safe"] == 2 and row["right"] == row["wrong"] == 0   # no model: markers stay
    assert row["skipped_merges"] == {"octopus merge": 1}
    assert {f["path"]: f["claimed"] for f in data["files"][row["repository"]]} == {"app.py": True, "config.yaml": False}
    assert all(f["merge"] == merge for f in data["files"][row["repository"]])
    assert row["cost_per_file"]["conflicted"]["files"] == 1
    assert "safe" in proc.stdout and "octopus" in proc.stdout
    assert git(repo, "status", "--porcelain") == ""  # the user's repository is untouched
