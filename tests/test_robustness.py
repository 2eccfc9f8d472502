"""Bad input never gives a traceback: each odd file is skipped or indexed in part with a
one-line reason that `codeintel stats` shows, and an unusable index is refused clearly."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess

import pytest

from conftest import cli, cli_json, commit_all, init_repo
from codeintel.store.schema import SCHEMA_VERSION


def _reasons(root):
    stats = cli_json("stats", "--repo", root)
    return {row["path"]: row["reason"] for row in stats["skipped"] + stats["partial"]}, stats


def _no_traceback(proc):
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout


def test_bad_files_are_skipped_with_reasons(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "good.py").write_text("def fine():\n    return 1\n")
    (root / "binary.py").write_bytes(b"\x7fELF\x00\x00\x01def x(): pass\n")
    (root / "latin1.py").write_bytes(b"# caf\xe9\ndef cafe():\n    return '\xe9'\n")
    (root / "big.py").write_text("x = 1\n" * 400)
    (root / "bundle.min.js").write_text("var a=" + "1+" * 8000 + "1;function f(){return a}\n")
    (root / "broken.py").write_text("def ok():\n    return 1\n\ndef broken(:\n    pass\n\nclass After:\n    pass\n")
    (root / "loop").symlink_to(root, target_is_directory=True)
    (root / "link.py").symlink_to(root / "good.py")
    (root / "dangling.py").symlink_to(root / "missing.py")
    os.mkfifo(root / "pipe.py")
    (root / "README.md").write_text("# not code\n")
    (root / "tool").write_text("#!/usr/bin/env python3\ndef from_shebang():\n    pass\n")

    proc = cli("index", root, "--max-file-size", "1K", timeout=60)
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    reasons, stats = _reasons(root)
    assert reasons["binary.py"].startswith("binary")
    assert reasons["big.py"].startswith("over the size limit")
    assert reasons["bundle.min.js"].startswith("minified") or reasons["bundle.min.js"].startswith("over the size")
    assert reasons["loop"].startswith("symbolic link")
    assert reasons["link.py"].startswith("symbolic link")
    assert reasons["dangling.py"].startswith("symbolic link")
    assert reasons["pipe.py"] == "not a regular file"
    assert reasons["latin1.py"].startswith("invalid UTF-8 at byte 5")
    assert reasons["broken.py"].startswith("1 syntax error") or "syntax error" in reasons["broken.py"]
    assert "README.md" not in reasons and stats["unsupported_files"] == 1
    names = {s["qualname"] for s in cli_json("symbols", "--repo", root)}
    # what parses is indexed: around the syntax error, in bad UTF-8, and by shebang
    assert {"fine", "ok", "After", "cafe", "from_shebang"} <= names
    assert "x" not in names
    # every reason is one line
    assert all("\n" not in r for r in reasons.values())
    # the text report shows them too
    text = cli("stats", "--repo", root, check=0).stdout
    assert "binary.py: binary" in text and "pipe.py: not a regular file" in text

    # raising the limit on a later run picks up the file that was too big
    out = cli_json("index", root, "--max-file-size", "1M")
    assert out["parsed"] >= 1
    reasons, _ = _reasons(root)
    assert "big.py" not in reasons


def test_unreadable_file_is_skipped(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "ok.py").write_text("def ok(): pass\n")
    secret = root / "secret.py"
    secret.write_text("def secret(): pass\n")
    secret.chmod(0)
    cmd_prefix = []
    if os.geteuid() == 0:  # root reads everything: drop the capabilities that let it
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv")
        cmd_prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    import sys
    from conftest import ROOT
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([*cmd_prefix, sys.executable, "-m", "codeintel", "index", str(root), "--quiet"],
                          capture_output=True, text=True, env=env, timeout=60)
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    reasons, _ = _reasons(root)
    assert reasons["secret.py"] == "unreadable: Permission denied"


def test_missing_path_and_bad_options_are_usage_errors(tmp_path):
    for args in (["index", tmp_path / "nope"], ["index", tmp_path, "--max-file-size", "lots"],
                 ["index", tmp_path, "--max-commits", "-3"]):
        proc = cli(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        _no_traceback(proc)
        assert len(proc.stderr.strip().splitlines()) <= 3
    (tmp_path / "f.py").write_text("x = 1\n")
    proc = cli("index", tmp_path / "f.py")
    assert proc.returncode == 2 and "not a directory" in proc.stderr
    bad_config = tmp_path / "cfg"
    (bad_config / ".codeintel").mkdir(parents=True)
    (bad_config / ".codeintel" / "config.toml").write_text("[index]\nmax_file_size = [1,\n")
    proc = cli("index", bad_config)
    assert proc.returncode == 2 and "config.toml" in proc.stderr
    _no_traceback(proc)


def test_corrupt_and_newer_indexes_are_refused_then_rebuilt_without_loss(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    (root / "a.py").write_text("def a(): pass\n")
    cli("index", root, "--quiet", check=0)
    db = root / ".codeintel" / "index.db"

    conn = sqlite3.connect(db)
    conn.execute("UPDATE meta SET value='99' WHERE key='schema_version'")
    conn.commit()
    conn.close()
    for args in (["stats", "--repo", root], ["index", root]):
        proc = cli(*args)
        assert proc.returncode == 3, proc.stderr
        assert "newer codeintel" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        _no_traceback(proc)

    garbage = b"this is not an sqlite database at all" * 100
    for side in ("-wal", "-shm"):
        (root / ".codeintel" / f"index.db{side}").unlink(missing_ok=True)
    db.write_bytes(garbage)
    proc = cli("symbols", "a", "--repo", root)
    assert proc.returncode == 3 and "--rebuild" in proc.stderr
    _no_traceback(proc)
    assert db.read_bytes() == garbage  # nothing was overwritten

    out = cli_json("index", root, "--rebuild")
    backup = out["moved_aside"]
    assert open(backup, "rb").read() == garbage  # the old file is kept, not deleted
    assert [s["qualname"] for s in cli_json("symbols", "--repo", root)] == ["a"]


def test_foreign_sqlite_file_is_not_taken_over(tmp_path):
    root = tmp_path / "proj"
    (root / ".codeintel").mkdir(parents=True)
    conn = sqlite3.connect(root / ".codeintel" / "index.db")
    conn.execute("CREATE TABLE precious(x)")
    conn.execute("INSERT INTO precious VALUES (42)")
    conn.commit()
    conn.close()
    proc = cli("index", root)
    assert proc.returncode == 3 and "not a codeintel index" in proc.stderr
    conn = sqlite3.connect(root / ".codeintel" / "index.db")
    assert conn.execute("SELECT x FROM precious").fetchone() == (42,)


def test_shallow_clone_and_empty_repo_index_cleanly(tmp_path):
    empty = init_repo(tmp_path / "empty")
    (empty / "a.py").write_text("def a(): pass\n")  # untracked, no commits yet
    out = cli_json("index", empty)
    assert out["parsed"] == 1 and out["history"]["new_commits"] == 0

    origin = init_repo(tmp_path / "origin")
    for i in range(4):
        (origin / "m.py").write_text(f"def f():\n    return {i}\n")
        commit_all(origin, f"c{i}")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth", "2", f"file://{origin}", str(clone)], check=True)
    proc = cli("index", clone, "--json")
    _no_traceback(proc)
    assert proc.returncode == 0, proc.stderr
    stats = cli_json("stats", "--repo", clone)
    assert stats["history"]["commits"] == 2
    assert "shallow" in (stats["history"]["note"] or "")


def test_an_older_index_is_migrated_in_place(tmp_path):
    """A schema-1 store, as that version wrote it (its full-text index kept its own copy of
    the search terms), opens in the current version: its rows stay, search finds its chunks
    through the rebuilt full-text index, and the next run re-indexes over it."""
    from codeintel.store import _split_sql
    from codeintel.store.schema import MIGRATIONS

    root = tmp_path / "proj"
    root.mkdir()
    source = b"def parse_point(): pass\n"
    (root / "a.py").write_bytes(source)
    (root / ".codeintel").mkdir()
    conn = sqlite3.connect(root / ".codeintel" / "index.db")
    for statement in _split_sql(MIGRATIONS[1]):
        conn.execute(statement)
    conn.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '1')")
    conn.execute("INSERT INTO files(id, path, language, size, status, content, line_count) VALUES"
                 " (1, 'a.py', 'python', ?, 'ok', ?, 1)", (len(source), source))
    conn.execute("INSERT INTO symbols(id, file_id, name, qualname, kind, start_byte, end_byte, start_line,"
                 " end_line) VALUES (1, 1, 'parse_point', 'parse_point', 'function', 0, ?, 1, 1)", (len(source),))
    conn.execute("INSERT INTO chunks(id, file_id, symbol_id, kind, name, start_line, end_line, start_byte,"
                 " end_byte) VALUES (1, 1, 1, 'function', 'parse_point', 1, 1, 0, ?)", (len(source),))
    conn.execute("INSERT INTO chunks_fts(rowid, name, body) VALUES (1, 'parse_point', 'def parse_point pass')")
    conn.commit()
    conn.close()
    stats = cli_json("stats", "--repo", root)
    assert stats["schema_version"] == SCHEMA_VERSION and stats["symbols"] == {"function": 1}
    conn = sqlite3.connect(root / ".codeintel" / "index.db")
    assert conn.execute("SELECT count(*) FROM merge_decisions").fetchone() == (0,)
    conn.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")  # raises if not
    conn.close()
    assert [h["name"] for h in cli_json("search", "point", "--repo", root)] == ["parse_point"]
    (root / "a.py").write_bytes(source + b"def parsePointXY(): pass\n")
    cli("index", root, "--quiet", check=0)
    assert {h["name"] for h in cli_json("search", "point", "--repo", root)} == {"parse_point", "parsePointXY"}
    assert [h["name"] for h in cli_json("search", "xy", "--repo", root)] == ["parsePointXY"]


def _open_new_store(path: str, barrier, results) -> None:
    from codeintel.store import Store

    barrier.wait()
    try:
        Store.open(path).close()
        results.put("ok")
    except Exception as exc:  # noqa: BLE001 - the test reports what went wrong
        results.put(f"{type(exc).__name__}: {exc}")


def test_processes_creating_the_same_new_store_at_once_all_open_it(tmp_path):
    """Two indexing runs (or a run and the language server) may create the store at the same
    moment; switching a new database to WAL takes a lock SQLite does not wait for."""
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    failures = []
    for round_ in range(15):
        path = str(tmp_path / f"r{round_}" / ".codeintel" / "index.db")
        barrier, results = ctx.Barrier(4), ctx.Queue()
        procs = [ctx.Process(target=_open_new_store, args=(path, barrier, results)) for _ in range(4)]
        for proc in procs:
            proc.start()
        outcomes = [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        failures += [r for r in outcomes if r != "ok"]
        conn = sqlite3.connect(path)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == str(SCHEMA_VERSION)
        conn.close()
    assert not failures, failures[:3]
