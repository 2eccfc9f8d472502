"""Issue #23, bounded work: a branch that brings a conflicted file the merge model cannot afford
(a few megabytes on one line, or hundreds of token conflicts) must not hold ``git merge`` for
minutes or take gigabytes. The driver hands such a file back to git's textual merge (markers
left, both sides whole, exit status: conflict) and says so in one line on stderr;
``codeintel resolve`` leaves the markers. Each test runs the real ``git merge`` with the driver
installed (the built-in model), measures the peak memory and time of git and the driver
together, and stops them (a test failure) when they run past the test's own budget."""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import GIT_ENV, ROOT, cli, commit_all, diverge, init_repo

# runs ARGS, then prints its wall time and the peak RSS of its process tree (git and the driver)
_MEASURE = """
import json, resource, subprocess, sys, time
start = time.monotonic()
proc = subprocess.run(sys.argv[1:], capture_output=True, text=True)
print(json.dumps({"rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr,
                  "seconds": time.monotonic() - start,
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""
BUDGET_S = 60          # the old driver needed minutes on these files; the bounded one a second or two
PEAK_MB = 150          # git plus the driver (Python, numpy, the model): about 40-90 MiB when bounded


def _measured(args: list, cwd: Path, env: dict | None = None) -> dict:
    full_env = {**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT), **(env or {})}
    proc = subprocess.Popen([sys.executable, "-c", _MEASURE, *map(str, args)], cwd=cwd, env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=BUDGET_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)      # the driver too, not only the waiting git
        proc.communicate()
        pytest.fail(f"{args[:2]} still ran after {BUDGET_S} s")
    assert proc.returncode == 0, err
    return json.loads(out)


def _one_line(words: int, every: int, seed: int = 1) -> tuple[str, str, str]:
    """One long line of words; ours and theirs rewrite the same words differently (every
    ``every``-th word): one line-level conflict with ``words // every`` token conflicts."""
    rng = random.Random(seed)
    base = [f"w{rng.randrange(100000)}" for _ in range(words)]
    ours = [w + "_ours" if i % every == every // 2 else w for i, w in enumerate(base)]
    theirs = [w + "_theirs" if i % every == every // 2 else w for i, w in enumerate(base)]
    return tuple(" ".join(ws) + "\n" for ws in (base, ours, theirs))


def _many_lines(lines: int, every: int) -> tuple[str, str, str]:
    """``lines`` short lines; ours and theirs rewrite every ``every``-th line differently: one
    line-level conflict each (``lines // every`` regions)."""
    base = [f"value_{i} = compute({i})\n" for i in range(lines)]
    ours = [f"value_{i} = compute({i}, fast=True)\n" if i % every == 1 else b for i, b in enumerate(base)]
    theirs = [f"value_{i} = compute_all({i})\n" if i % every == 1 else b for i, b in enumerate(base)]
    return tuple("".join(ls) for ls in (base, ours, theirs))


@pytest.fixture
def driver_repo(tmp_path):
    repo = init_repo(tmp_path / "repo")
    cli("install-merge-driver", "--repo", repo, check=0)
    commit_all(repo, "driver")
    return repo


def _branches(repo: Path, base: str, ours: str, theirs: str) -> None:
    diverge(repo, "data.py", base.encode(), ours.encode(), theirs.encode())


def _assert_gits_markers(text: str, ours: str, theirs: str) -> None:
    assert text.startswith("<<<<<<< ") and "\n=======\n" in text and "\n>>>>>>> " in text
    assert ours in text and theirs in text                    # both sides whole, as git wrote them


def test_a_large_one_line_conflict_goes_back_to_git_at_once(driver_repo):
    base, ours, theirs = _one_line(280_000, 90_000)          # about 2 MiB, 3 token conflicts
    _branches(driver_repo, base, ours, theirs)
    run = _measured(["git", "merge", "--no-edit", "theirs"], driver_repo)
    assert run["peak_mb"] < PEAK_MB and run["seconds"] < 20, run
    assert run["rc"] == 1, run                                 # git: a conflict is left
    _assert_gits_markers((driver_repo / "data.py").read_text(), ours, theirs)
    assert "data.py: too large for the merge model" in run["stderr"] + run["stdout"], run


def test_hundreds_of_token_conflicts_go_back_to_git(driver_repo):
    """25 KB, but one token conflict every ten words: each would be a classifier call."""
    base, ours, theirs = _one_line(3_600, 10)
    _branches(driver_repo, base, ours, theirs)
    run = _measured(["git", "merge", "--no-edit", "theirs"], driver_repo)
    assert run["peak_mb"] < PEAK_MB and run["seconds"] < 20, run
    assert run["rc"] == 1, run
    _assert_gits_markers((driver_repo / "data.py").read_text(), ours, theirs)
    assert "too many token conflicts for the merge model" in run["stderr"] + run["stdout"], run


def test_the_time_budget_stops_a_merge_in_the_middle(driver_repo):
    """With the conflict count bound lifted (the user's environment), the time bound stops the
    model mid-way: git's markers, and a line that says which bound. (The chooser decides the
    one-line file above in well under a second: this file has 1,500 conflicts.)"""
    base, ours, theirs = _many_lines(12_000, 8)
    _branches(driver_repo, base, ours, theirs)
    env = {"CODEINTEL_MERGE_MAX_CONFLICTS": "100000", "CODEINTEL_MERGE_MAX_SECONDS": "2"}
    run = _measured(["git", "merge", "--no-edit", "theirs"], driver_repo, env)
    assert run["seconds"] < 15, run
    assert run["rc"] == 1, run
    text = (driver_repo / "data.py").read_text()
    assert text.count("\n<<<<<<< ") == 12_000 // 8           # git's markers on every conflict
    assert all(line in text for line in ours.splitlines() + theirs.splitlines())     # nothing lost
    assert "the merge model took more than 2 s" in run["stderr"] + run["stdout"], run


def test_resolve_leaves_a_large_conflicted_file_as_it_is(tmp_path):
    repo = init_repo(tmp_path / "repo")
    base, ours, theirs = _one_line(280_000, 90_000)
    _branches(repo, base, ours, theirs)
    subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True,
                   env={**os.environ, **GIT_ENV})
    before = (repo / "data.py").read_bytes()
    _assert_gits_markers(before.decode(), ours, theirs)
    run = _measured([sys.executable, "-m", "codeintel", "resolve", repo / "data.py"], repo)
    assert run["peak_mb"] < PEAK_MB and run["seconds"] < 20, run
    assert run["rc"] == 1, run
    assert "too large for the merge model" in run["stderr"], run
    assert (repo / "data.py").read_bytes() == before
