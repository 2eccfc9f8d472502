"""`codeintel install-merge-driver` claims only the file types the driver can judge (the
indexer's languages, plus what the user adds with --also); every other file keeps git's own
merge. Real repositories, real `git merge`, the real CLI."""
from __future__ import annotations

import os
import shlex
import subprocess
import sys

from conftest import ROOT, cli, commit_all, git, init_repo

BASE = b"one\ntwo\nthree\n"
OURS = b"one\nTWO ours\nthree\n"
THEIRS = b"one\nTWO theirs\nthree\n"
FILES = ("config.yaml", "notes.md", "app.py", "main.go")


def _conflicting_branches(repo):
    for name in FILES:
        (repo / name).write_bytes(BASE)
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "theirs")
    for name in FILES:
        (repo / name).write_bytes(THEIRS)
    commit_all(repo, "theirs")
    git(repo, "checkout", "-q", "main")
    for name in FILES:
        (repo / name).write_bytes(OURS)
    commit_all(repo, "ours")


def _log_driver_calls(repo, log):
    """Wrap the installed driver so that each file git hands it is written to ``log`` first."""
    real = git(repo, "config", "merge.codeintel.driver").strip()
    git(repo, "config", "merge.codeintel.driver", f"echo %P >> {shlex.quote(str(log))}; {real}")


def _merge(repo):
    """`git merge theirs`, with no merge model (the driver leaves git's markers at once)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CODEINTEL_BUILTIN_MODELS": str(repo.parent / "no-models"),
           "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x"}
    return subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True, text=True,
                          env=env)


def test_yaml_and_markdown_keep_gits_merge_while_code_goes_to_the_driver(tmp_path):
    repo = init_repo(tmp_path / "repo")
    cli("install-merge-driver", "--repo", repo, check=0)
    commit_all(repo, "driver installed")
    _conflicting_branches(repo)
    log = tmp_path / "driver-calls.log"
    _log_driver_calls(repo, log)
    proc = _merge(repo)
    assert proc.returncode != 0          # the conflicts stay: nothing here is for a model to decide
    called = sorted(log.read_text().split()) if log.exists() else []
    assert called == ["app.py", "main.go"]
    for name in FILES:                   # every file keeps both sides with git's markers
        text = (repo / name).read_text()
        assert "<<<<<<<" in text and "TWO ours" in text and "TWO theirs" in text
    attrs = git(repo, "check-attr", "merge", "--", *FILES)
    assert "config.yaml: merge: unspecified" in attrs and "notes.md: merge: unspecified" in attrs
    assert "app.py: merge: codeintel" in attrs


def test_also_adds_the_users_file_types_and_replaces_the_old_catch_all_line(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / ".gitattributes").write_text("*.png binary\n* merge=codeintel\n")
    proc = cli("install-merge-driver", "--repo", repo, "--also", "*.yaml", check=0)
    assert "replaced '* merge=codeintel'" in proc.stdout
    lines = (repo / ".gitattributes").read_text().splitlines()
    assert lines[0] == "*.png binary" and "* merge=codeintel" not in lines
    assert lines.count("*.py merge=codeintel") == 1 and lines.count("*.yaml merge=codeintel") == 1
    assert "*.md merge=codeintel" not in lines
    commit_all(repo, "driver installed")
    _conflicting_branches(repo)
    log = tmp_path / "driver-calls.log"
    _log_driver_calls(repo, log)
    _merge(repo)
    assert sorted(log.read_text().split()) == ["app.py", "config.yaml", "main.go"]
    before = (repo / ".gitattributes").read_bytes()
    cli("install-merge-driver", "--repo", repo, "--also", "*.yaml", check=0)   # once is enough
    assert (repo / ".gitattributes").read_bytes() == before


def test_a_pattern_git_would_misread_is_refused_in_one_line(tmp_path):
    repo = init_repo(tmp_path / "repo")
    for bad in ("*", "a b", "!*.py", '"*.c"'):
        proc = cli("install-merge-driver", "--repo", repo, "--also", bad, check=2)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not (repo / ".gitattributes").exists()


def test_a_clean_file_through_the_installed_command_skips_the_cli(tmp_path):
    """git runs the driver once per file both sides changed: the command install writes
    (`python -m codeintel merge-driver %O %A %B %L %P`) merges a clean file without importing
    the CLI, click or numpy, and the result is git's own."""
    (tmp_path / "O").write_bytes(b"a\nb\nc\nd\ne\n")
    (tmp_path / "A").write_bytes(b"A\nb\nc\nd\ne\n")
    (tmp_path / "B").write_bytes(b"a\nb\nc\nd\nE\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "codeintel", "merge-driver", "O", "A", "B", "7",
                           "f.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0
    assert (tmp_path / "A").read_bytes() == b"A\nb\nc\nd\nE\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "codeintel.merge.driver" in imported
    assert not imported & {"codeintel.cli", "click", "numpy", "torch"}
