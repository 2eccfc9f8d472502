"""Every built-in model runs on the default install (issue #25): a venv made by the README's
`pip install -e .` (no extras, so no torch, no transformers) completes with the built-in ranker,
resolves a conflict with the built-in merge model and finds clones with the learned encoder;
and a merge driver whose model cannot run says why in one line instead of leaving the conflict
to git in silence."""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, commit_all, git, init_repo

# a conflict the built-in merge model decides: both sides rewrite the same call
HEAD = "import os\n\n\ndef handler(request):\n    value = request.get('k3')\n"
TAIL = "    return value\n\n\ndef other():\n    return 3\n"
BASE = HEAD + "    result = compute(value, 3)\n" + TAIL
OURS = HEAD + "    result = compute_fast(value, 3, cache=True)\n" + TAIL
THEIRS = HEAD + "    result = compute(value, 3 + 1)\n" + TAIL

CLOCK = '''import time


class Clock:
    def __init__(self):
        self.start = time.time()
        self.ticks = 0

    def tick(self):
        self.ticks += 1
        return self.ticks


def total(values):
    result = 0
    for value in values:
        if value > 0:
            result += value
    return result


def total_positive(items):
    acc = 0
    for item in items:
        if item > 0:
            acc += item
    return acc
'''


def _write_sides(folder: Path) -> None:
    for name, text in (("o", BASE), ("a", OURS), ("b", THEIRS)):
        (folder / name).write_text(text)


def test_the_driver_says_why_when_the_model_cannot_run(tmp_path):
    """A default install missing a package the merge model needs (safetensors, which loads the
    chooser's weights): the model's import fails."""
    _write_sides(tmp_path)
    script = ("import sys; sys.modules['safetensors'] = None\n"
              "from codeintel.cli import run; sys.exit(run(['merge-driver', 'o', 'a', 'b', '7', 'p.py']))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "merge model could not run" in lines[0] and "safetensors" in lines[0] and "p.py" in lines[0]
    assert "<<<<<<<" in (tmp_path / "a").read_text()      # git's markers, nothing lost


@pytest.fixture(scope="session")
def plain_venv(tmp_path_factory):
    """A venv holding `pip install -e ROOT` and nothing else (pip's cache makes it quick)."""
    folder = tmp_path_factory.mktemp("plain-install") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(folder)], check=True, timeout=120)
    python = folder / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_REQUIRE_VIRTUALENV")}
    try:
        proc = subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(ROOT)], capture_output=True,
                              text=True, timeout=540, env=env)
    except subprocess.TimeoutExpired:
        pytest.skip("pip could not install the package in 9 minutes (no network or package index?)")
    if proc.returncode != 0:
        tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
        pytest.skip(f"pip could not install the plain package (no network or package index?): {tail}")
    return python


def _run(python: Path, *args, cwd: Path, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([str(python), *map(str, args)], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.timeout(900)
def test_every_builtin_model_runs_on_the_plain_install(plain_venv, tmp_path):
    python = plain_venv
    for heavy in ("torch", "transformers"):
        probe = _run(python, "-c", f"import {heavy}", cwd=tmp_path)
        assert probe.returncode != 0 and "ModuleNotFoundError" in probe.stderr, f"{heavy} is installed"
    builtin = ROOT / "codeintel" / "models" / "builtin"
    assert sorted(p.name for p in builtin.iterdir() if p.is_dir()) == ["clones", "completion-ranker", "merge",
                                                                     "merge-transformer"], \
        "a new built-in model: add its inference to this test"
    # merge-transformer is the MergeBERT classifier `codeintel eval merge` compares the chooser with
    # (numpy inference: tests/test_merge_driver.py); the driver's model is the chooser in merge/

    repo = init_repo(tmp_path / "repo")
    git(repo, "config", "merge.conflictStyle", "diff3")   # what `codeintel resolve` needs: the base
    (repo / "pkg").mkdir()
    (repo / "pkg" / "clock.py").write_text(CLOCK)
    (repo / "pkg" / "use.py").write_text("from pkg.clock import Clock\n\nclock = Clock()\nclock.\n")
    (repo / "conflict.py").write_text(BASE)
    commit_all(repo, "base")
    codeintel = (python, "-m", "codeintel")
    indexed = _run(*codeintel, "index", repo, "--quiet", cwd=repo)
    assert indexed.returncode == 0, indexed.stderr

    # completion: the built-in ranker ranks the candidates
    done = _run(*codeintel, "complete", "pkg/use.py:4:6", "--json", cwd=repo)
    assert done.returncode == 0, done.stderr
    suggestions = json.loads(done.stdout)["suggestions"]
    assert suggestions and all(s["source"] == "ranker" and "built-in ranker" in s["detail"] for s in suggestions)

    # clones: the learned encoder embeds the functions and scores the pair
    found = _run(*codeintel, "clones", "--json", "--min-tokens", "5", cwd=repo)
    assert found.returncode == 0, found.stderr
    clones = json.loads(found.stdout)
    assert clones["learned_model"] and clones["embedded"] > 0
    assert any(g.get("learned_similarity") is not None for g in clones["groups"]), clones["groups"]

    # merge: the driver on a real conflict consults the built-in model and records its decision
    _write_sides(tmp_path)
    merged = _run(*codeintel, "merge-driver", tmp_path / "o", tmp_path / "a", tmp_path / "b", "7", "conflict.py",
                  cwd=repo)
    assert merged.returncode in (0, 1), merged.stderr
    assert "could not run" not in merged.stderr and "Traceback" not in merged.stderr, merged.stderr
    rows = sqlite3.connect(repo / ".codeintel" / "index.db").execute(
        "SELECT path, model, confidence FROM merge_decisions").fetchall()
    assert rows and rows[0][0] == "conflict.py" and rows[0][1] and rows[0][2] > 0, rows
    # ... and `codeintel resolve` says what the model decided
    _write_sides(tmp_path)            # the driver may have resolved it: git's own markers this time
    marked = subprocess.run(["git", "merge-file", "-p", "--diff3", "a", "o", "b"], cwd=tmp_path,
                            capture_output=True, text=True)
    (repo / "conflict.py").write_text(marked.stdout)
    explained = _run(*codeintel, "resolve", "conflict.py", "--dry-run", "--explain", "--threshold", "0", cwd=repo)
    assert explained.returncode == 0, explained.stderr
    assert "conflict 1: resolved" in explained.stdout and "confidence" in explained.stdout, explained.stdout
