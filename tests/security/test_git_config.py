"""Issue #23, how codeintel runs git: a repository's own ``.git/config`` can set
``core.fsmonitor`` to a command, which git runs whenever it reads the index (``ls-files``,
``check-ignore``, ``diff``, ``status``). A folder copied, unpacked or handed in carries its
``.git/config``; codeintel reading it must not run that command. Each test builds such a
repository (the monitor writes a marker file, then fails as a missing monitor would), checks
that plain git does run it, then runs codeintel and checks the marker never appeared."""
from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import GIT_ENV, cli, commit_all, git, init_repo

CODE = "def area(side):\n    return side * side\n"


def _armed(repo: Path, tmp: Path) -> Path:
    """Point the repository's core.fsmonitor at a script that leaves ``marker`` when run."""
    marker = tmp / "fsmonitor-ran"
    script = tmp / "monitor.sh"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> '{marker}'\nexit 1\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    git(repo, "config", "core.fsmonitor", str(script))
    git(repo, "status", "--porcelain")            # git itself runs it: the attack is real
    assert marker.exists(), "git did not run core.fsmonitor: the test proves nothing"
    marker.unlink()
    return marker


@pytest.fixture
def repo(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / "shapes.py").write_text(CODE)
    commit_all(repo, "first")
    (repo / "shapes.py").write_text(CODE + "\n\ndef perimeter(side):\n    return 4 * side\n")
    commit_all(repo, "second")
    return repo


def test_index_and_history_never_run_the_repositorys_fsmonitor(repo, tmp_path):
    marker = _armed(repo, tmp_path)
    cli("index", repo, "--quiet", check=0)
    assert not marker.exists(), marker.read_text()
    stats = json.loads(cli("stats", "--repo", repo, "--json", check=0).stdout)
    assert stats["files"] == {"ok": 1} and stats["history"]["commits"] == 2   # git listed and mined it


def test_edit_commands_never_run_the_repositorys_fsmonitor(repo, tmp_path):
    cli("index", repo, "--quiet", check=0)
    (repo / "shapes.py").write_text(CODE.replace("side * side", "side ** 2"))
    marker = _armed(repo, tmp_path)
    cli("edits", "propagate", "--repo", repo)
    cli("edits", "suggest", "--repo", repo)
    assert not marker.exists(), marker.read_text()


def test_edit_commands_never_run_the_repositorys_filters(repo, tmp_path):
    """``git diff`` against the work tree runs the clean filter (and a textconv driver) that
    ``.gitattributes`` names, with the command the folder's ``.git/config`` gives it."""
    cli("index", repo, "--quiet", check=0)
    marker = tmp_path / "filter-ran"
    script = tmp_path / "filter.sh"
    script.write_text(f"#!/bin/sh\necho \"$@\" >> '{marker}'\ncat \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    for key in ("filter.evil.clean", "diff.evil.textconv"):
        git(repo, "config", key, str(script))
    (repo / ".git" / "info" / "attributes").write_text("*.py filter=evil diff=evil\n")
    (repo / "shapes.py").write_text(CODE.replace("side * side", "side ** 2"))
    git(repo, "diff", "HEAD", "--")                   # git itself runs it: the attack is real
    assert marker.exists(), "git did not run the filter: the test proves nothing"
    marker.unlink()
    found = cli("edits", "propagate", "--repo", repo, "--json")
    cli("edits", "suggest", "--repo", repo)
    assert not marker.exists(), marker.read_text()
    assert found.returncode in (0, 1), found.stderr       # suggestions, or none: never a failed diff


def test_resolve_and_the_merge_driver_never_run_the_repositorys_fsmonitor(repo, tmp_path):
    """A plain merge leaves markers; then the folder's config is armed and codeintel resolves
    the file and runs the driver on its three versions (what git hands it)."""
    git(repo, "checkout", "-q", "-b", "theirs", "HEAD~1")
    (repo / "shapes.py").write_text(CODE.replace("side * side", "side ** 2"))
    commit_all(repo, "theirs")
    git(repo, "checkout", "-q", "main")
    subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True,
                   env={**os.environ, **GIT_ENV})
    assert "<<<<<<<" in (repo / "shapes.py").read_text()
    for name, stage in (("o", 1), ("a", 2), ("b", 3)):
        (tmp_path / name).write_text(git(repo, "show", f":{stage}:shapes.py"))
    marker = _armed(repo, tmp_path)
    cli("resolve", repo / "shapes.py", "--dry-run", cwd=repo)
    cli("merge-driver", tmp_path / "o", tmp_path / "a", tmp_path / "b", "7", "shapes.py", cwd=repo)
    assert not marker.exists(), marker.read_text()


def test_every_git_codeintel_starts_gets_the_safe_settings(repo, tmp_path):
    """The one helper (and GitPython's repository, through its environment) for what else
    runs git: ``status`` is the command that always reads the monitor."""
    import git as gitpython

    from indexer.gitcmd import guard_repo, run_git

    marker = _armed(repo, tmp_path)
    assert run_git("status", "--porcelain", cwd=repo, capture_output=True).returncode == 0
    handle = gitpython.Repo(str(repo))
    try:
        guard_repo(handle)
        handle.git.status()
        assert handle.is_dirty() in (True, False)
    finally:
        handle.close()
    assert not marker.exists(), marker.read_text()
