"""Shared test helpers: run the real ``codeintel`` CLI in a subprocess, build git repos."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"        # the team's corpora beside the checkout; tests using it skip without it
# the user's codeintel configuration (trusted folders, models trained here, user config.toml) of
# this test session: a fresh folder, never the real ~/.config/codeintel; subprocesses inherit it
os.environ["CODEINTEL_CONFIG_HOME"] = tempfile.mkdtemp(prefix="codeintel-user-config-")
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
    "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
    "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent-home-for-tests",
}


def cli(*args, cwd=None, check=None, timeout=120, env=None):
    """Run ``python -m codeintel ARGS``; returns CompletedProcess (text)."""
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    full_env.pop("CODEINTEL_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "codeintel", *map(str, args)], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=timeout)
    if check is not None:
        assert proc.returncode == check, f"exit {proc.returncode}\nstdout:{proc.stdout}\nstderr:{proc.stderr}"
    return proc


def cli_json(*args, **kw):
    proc = cli(*args, "--json", check=kw.pop("check", 0), **kw)
    return json.loads(proc.stdout)


def git(repo, *args, env=None):
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV, **(env or {})}).stdout


def init_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    return path


def commit_all(repo: Path, message: str, date: str | None = None) -> str:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date} if date else None
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD").strip()


def diverge(repo: Path, name: str, base: bytes, ours: bytes, theirs: bytes) -> None:
    """Commit ``base`` of file ``name``, then ``theirs`` on a new branch ``theirs`` and ``ours``
    on main (checked out): what a three-way merge of ``theirs`` starts from."""
    (repo / name).write_bytes(base)
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "theirs")
    (repo / name).write_bytes(theirs)
    commit_all(repo, "theirs")
    git(repo, "checkout", "-q", "main")
    (repo / name).write_bytes(ours)
    commit_all(repo, "ours")



def write_corpus(path: Path, records) -> Path:
    """Write ``records`` as a gzipped JSONL corpus file (the merge corpus's format)."""
    import gzip

    with gzip.open(path, "wt", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record) + "\n")
    return path


@pytest.fixture
def repo(tmp_path):
    return init_repo(tmp_path / "repo")


def run_on_pty(cmd: list[str], env: dict | None = None, timeout: int = 60) -> str:
    """Run ``cmd`` with a pseudo-terminal as stdin/stdout/stderr (as in a terminal) and
    return everything it printed; asserts it exited 0."""
    import pty

    master, slave = pty.openpty()
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm", "COLUMNS": "120", **(env or {})}
    proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=full_env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=timeout) == 0
    return b"".join(chunks).decode("utf-8", "replace")
