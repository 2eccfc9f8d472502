"""Real processes: an index run killed with SIGKILL or SIGINT leaves a consistent store that the
next run completes; two indexers at once and a reader during indexing never fail."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, cli, cli_json

N_FILES = 600


def _make_tree(root: Path, n: int = N_FILES) -> None:
    for i in range(n):
        folder = root / f"pkg{i % 20}"
        folder.mkdir(parents=True, exist_ok=True)
        body = "\n".join(
            f"def func_{i}_{j}(a, b):\n    '''Function {j} of module {i}.'''\n    total = a + b * {j}\n"
            f"    return helper_{j % 7}(total)\n" for j in range(40))
        (folder / f"mod{i}.py").write_text(f"import os\n\nclass Model{i}:\n    pass\n\n{body}\n")


def _start_index(root: Path, *extra) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "codeintel", "index", str(root), "--quiet", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def _indexed_files(db: Path) -> int:
    try:
        conn = sqlite3.connect(db, timeout=30)
        try:
            return conn.execute("SELECT count(*) FROM files").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return 0


def _wait_for_progress(db: Path, proc: subprocess.Popen, at_least: int = 1) -> int:
    deadline = time.time() + 60
    while time.time() < deadline:
        if db.exists():
            n = _indexed_files(db)
            if n >= at_least:
                return n
        assert proc.poll() is None, "the run ended before it could be interrupted"
        time.sleep(0.02)
    raise AssertionError("no progress within 60 s")


def _expected_symbols(n: int = N_FILES) -> int:
    return n * 41


def _check_complete(root: Path) -> None:
    db = root / ".codeintel" / "index.db"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    stats = cli_json("stats", "--repo", root)
    assert stats["files"] == {"ok": N_FILES}
    assert sum(stats["symbols"].values()) == _expected_symbols()
    assert stats["chunks"] == N_FILES * 42  # 40 functions + 1 class + 1 window per file


def test_kill_9_mid_run_then_rerun_completes(tmp_path):
    _make_tree(tmp_path)
    db = tmp_path / ".codeintel" / "index.db"
    proc = _start_index(tmp_path, "--workers", "1")
    done = _wait_for_progress(db, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert 0 < done < N_FILES
    # what was written before the kill is consistent and readable
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    files = conn.execute("SELECT count(*) FROM files").fetchone()[0]
    per_file = conn.execute("SELECT count(DISTINCT file_id) FROM symbols").fetchone()[0]
    assert per_file == files  # no file without its symbols: each batch is all or nothing
    conn.close()
    out = cli_json("index", tmp_path)
    assert out["parsed"] + out["unchanged"] == N_FILES and out["unchanged"] >= files
    _check_complete(tmp_path)


def test_ctrl_c_mid_run_exits_130_with_one_line(tmp_path):
    _make_tree(tmp_path)
    db = tmp_path / ".codeintel" / "index.db"
    proc = _start_index(tmp_path)
    _wait_for_progress(db, proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    cli("index", tmp_path, "--quiet", check=0)
    _check_complete(tmp_path)


def test_two_indexers_and_a_reader_at_once(tmp_path):
    _make_tree(tmp_path)
    first = _start_index(tmp_path)
    second = _start_index(tmp_path, "--workers", "1")
    db = tmp_path / ".codeintel" / "index.db"
    _wait_for_progress(db, first)
    reads = 0
    while first.poll() is None or second.poll() is None:
        proc = cli("symbols", "func_1_1", "--repo", tmp_path, "--json")
        assert proc.returncode in (0, 1), proc.stderr  # 1: not indexed yet
        assert "locked" not in proc.stderr
        reads += 1
    for p in (first, second):
        out, err = p.communicate()
        assert p.returncode == 0, err
        assert "locked" not in err
    assert reads >= 1
    _check_complete(tmp_path)
    assert json.loads(cli("symbols", "func_1_1", "--repo", tmp_path, "--json", check=0).stdout)
