"""Indexing through the real CLI: what lands in the store, incremental runs, and the queries."""
from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from conftest import ROOT, cli, cli_json, commit_all, git, run_on_pty

FIXTURES = ROOT / "fixtures" / "languages"


def _languages() -> list[Path]:
    return sorted(p.parent for p in FIXTURES.glob("*/expected.json"))


def _populate(repo: Path) -> None:
    for lang_dir in _languages():
        expected = json.loads((lang_dir / "expected.json").read_text())
        dest = repo / lang_dir.name
        dest.mkdir()
        shutil.copy(lang_dir / expected["file"], dest / expected["file"])


def test_index_and_query_a_multi_language_repo(repo):
    _populate(repo)
    commit_all(repo, "initial")
    out = cli_json("index", repo, "--no-history")
    languages = {p.name for p in _languages()}
    assert out["parsed"] == len(languages) and out["skipped"] == 0 and out["git"] is True

    stats = cli_json("stats", "--repo", repo)
    assert set(stats["languages"]) == {json.loads((FIXTURES / l / "expected.json").read_text())["language"]
                                       for l in languages}
    assert stats["symbols"]["class"] >= 1 and stats["references"] > 50 and stats["chunks"] > 10

    syms = cli_json("symbols", "Shape", "--repo", repo)
    assert any(s["qualname"] == "Shape" and s["path"] == "python/sample.py" and s["line"] == 11 for s in syms)
    methods = cli_json("symbols", "Shape.*", "--kind", "method", "--repo", repo)
    assert {"Shape.area", "Shape.name"} <= {s["qualname"] for s in methods}

    refs = cli_json("refs", "make_shape", "--repo", repo, check=1)  # defined, never used: nothing found
    assert refs == []
    refs = cli_json("refs", "Shape", "--repo", repo)
    assert {"path": "python/sample.py", "line": 25, "col": 12, "text": "shape = Shape()"} in refs

    hits = cli_json("search", "make", "shape", "--repo", repo)
    by_name = {h["name"]: h for h in hits[:6]}
    assert "def make_shape" in by_name["make_shape"]["text"]
    assert "makeShape" in by_name  # camelCase pieces are searchable too
    assert all(h["score"] >= hits[i + 1]["score"] for i, h in enumerate(hits[:-1]))  # ranked
    assert cli("search", "zzzqqq", "--repo", repo).returncode == 1


def test_queries_find_the_nearest_index_from_a_subfolder(repo):
    _populate(repo)
    cli("index", repo, "--quiet", check=0)
    proc = cli("symbols", "make_shape", cwd=repo / "python", check=0)
    assert "python/sample.py:23:" in proc.stdout
    proc = cli("symbols", "x", cwd=repo.parent, check=3)
    assert proc.stderr.count("\n") == 1 and "codeintel index" in proc.stderr


def test_incremental_runs_parse_only_what_changed(repo):
    (repo / "a.py").write_text("def alpha():\n    return 1\n")
    (repo / "b.py").write_text("def beta():\n    return alpha()\n")
    (repo / "c.py").write_text("def gamma():\n    pass\n")
    commit_all(repo, "three files")
    first = cli_json("index", repo)
    assert first["parsed"] == 3
    again = cli_json("index", repo)
    assert again["parsed"] == 0 and again["unchanged"] == 3 and again["history"]["new_commits"] == 0

    (repo / "a.py").write_text("def alpha2():\n    return 2\n")
    (repo / "c.py").unlink()
    git(repo, "mv", "b.py", "renamed.py")
    out = cli_json("index", repo)
    assert out["parsed"] == 2 and out["deleted"] == 2  # a.py changed, renamed.py new; b.py and c.py gone
    names = {s["qualname"]: s["path"] for s in cli_json("symbols", "--repo", repo)}
    assert names == {"alpha2": "a.py", "beta": "renamed.py"}
    assert cli("refs", "gamma", "--repo", repo).returncode == 1

    # touching a file without changing it costs a hash, not a parse
    (repo / "a.py").write_text("def alpha2():\n    return 2\n")
    out = cli_json("index", repo)
    assert out["parsed"] == 0 and out["unchanged"] == 2


def test_gitignore_is_respected_in_git_and_plain_folders(tmp_path, repo):
    for root in (repo, tmp_path / "plain"):
        (root / "build").mkdir(parents=True)
        (root / "build" / "gen.py").write_text("def generated(): pass\n")
        (root / "keep.py").write_text("def kept(): pass\n")
        (root / "secret.py").write_text("def hidden(): pass\n")
        (root / ".gitignore").write_text("build/\nsecret.py\n")
        out = cli_json("index", root)
        assert out["git"] is (root == repo)
        names = {s["qualname"] for s in cli_json("symbols", "--repo", root)}
        assert names == {"kept"}, root


def test_history_is_mined_incrementally(repo):
    (repo / "m.py").write_text("def f():\n    return 1\n")
    commit_all(repo, "one")
    (repo / "m.py").write_text("def f():\n    return 2\n")
    commit_all(repo, "two")
    assert cli_json("index", repo)["history"]["new_commits"] == 2
    (repo / "m.py").write_text("def f():\n    return 3\n")
    commit_all(repo, "three")
    out = cli_json("index", repo)
    assert out["history"]["new_commits"] == 1 and out["parsed"] == 1
    stats = cli_json("stats", "--repo", repo)
    assert stats["history"]["commits"] == 3 and stats["history"]["function_changes"] >= 2
    assert cli_json("index", repo, "--no-history")["history"] is None


def test_store_rows_are_replaced_not_duplicated(repo):
    (repo / "x.py").write_text("class K:\n    def m(self):\n        return K(oldword)\n")
    cli("index", repo, "--quiet", check=0)
    assert [h["name"] for h in cli_json("search", "oldword", "--repo", repo)] == ["K.m"]
    (repo / "x.py").write_text("class K:\n    def m(self):\n        return K()\n    def n(self): pass\n")
    cli("index", repo, "--quiet", check=0)
    db = sqlite3.connect(repo / ".codeintel" / "index.db")
    assert db.execute("SELECT count(*) FROM files").fetchone()[0] == 1
    assert db.execute("SELECT count(*) FROM symbols").fetchone()[0] == 3
    # the full-text index holds exactly the words of the chunks there are now (the old
    # version's words were taken out when its chunks were deleted)
    db.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
    assert cli("search", "oldword", "--repo", repo).returncode == 1
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the index keeps itself out of git
    assert (repo / ".codeintel" / ".gitignore").read_text().strip().endswith("*")


def test_the_full_text_index_matches_its_chunks_through_edits_of_any_bytes(repo):
    """The index is given each chunk's bytes as they are (invalid UTF-8 and all) and reads
    them back through the chunk_terms view when a chunk is deleted: FTS5's own check, which
    compares the index with the view, passes after a first run and after an edit."""
    source = ("class Caf\u00e9Menu:\n    \"\"\"men\u00fc du jour\"\"\"\n    def parseHTTPOrder(self):\n"
              "        return 'ok'\n").encode() + b"x = b'\xff\xfe\xc3'  # bad bytes: \xe9t\xe9\n"
    (repo / "m.py").write_bytes(source)
    cli("index", repo, "--quiet", check=0)
    db = sqlite3.connect(repo / ".codeintel" / "index.db", isolation_level=None)  # no open transaction
    db.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
    assert [h["name"] for h in cli_json("search", "men\u00fc", "--repo", repo)] == ["Caf\u00e9Menu"]
    assert [h["name"] for h in cli_json("search", "http", "order", "--repo", repo)][0] == "Caf\u00e9Menu.parseHTTPOrder"
    (repo / "m.py").write_bytes(source.replace(b"HTTP", b"FTP") + b"\xf0\x28\n")
    cli("index", repo, "--quiet", check=0)
    db.execute("INSERT INTO chunks_fts(chunks_fts, rank) VALUES ('integrity-check', 1)")
    assert cli("search", "http", "--repo", repo).returncode == 1
    assert [h["name"] for h in cli_json("search", "ftp", "--repo", repo)][0] == "Caf\u00e9Menu.parseFTPOrder"


def test_progress_bar_on_a_terminal_and_quiet_when_piped(tmp_path):
    import sys

    for i in range(40):
        (tmp_path / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n")
    piped = cli("index", tmp_path, "--rebuild", check=0)
    assert "files" not in piped.stderr and "━" not in piped.stderr + piped.stdout

    screen = run_on_pty([sys.executable, "-m", "codeintel", "index", str(tmp_path), "--rebuild"])
    assert "files" in screen and "/40" in screen and "━" in screen  # the bar, counting files
    assert "indexed" in screen


def _index_names(db: Path) -> set[str]:
    conn = sqlite3.connect(db)
    try:
        return {name for (name,) in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")}
    finally:
        conn.close()


def test_a_first_run_builds_the_indexes_at_the_end_even_after_a_kill(tmp_path):
    import subprocess
    import sys

    from codeintel.store import Store

    (tmp_path / "m.py").write_text("def f():\n    return g()\n")
    db = tmp_path / ".codeintel" / "index.db"
    Store.open(db).close()
    schema_indexes = _index_names(db)
    assert {"symbols_name", "refs_name", "chunks_file"} <= schema_indexes

    # a first run dies while its rows go in without the secondary indexes
    script = ("import os, sys; from codeintel.store import Store\n"
              "s = Store.open(sys.argv[1])\n"
              "with s.bulk_writes():\n"
              "    os._exit(9)\n")
    proc = subprocess.run([sys.executable, "-c", script, str(db)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 9, proc.stderr
    assert not {"symbols_name", "refs_name"} & _index_names(db)
    # the next run builds them (and queries work all along)
    out = cli_json("index", tmp_path)
    assert out["parsed"] == 1
    assert _index_names(db) == schema_indexes
    assert cli_json("refs", "g", "--repo", tmp_path)[0]["line"] == 2
    conn = sqlite3.connect(db)
    assert conn.execute("SELECT count(*) FROM meta WHERE key = 'deferred_indexes'").fetchone()[0] == 0
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
