"""The store's readable views (symbols_view, references_view, merge_decisions_view), the schema-7
migration that adds them to an existing index, and looking into an index the way the README says:
the sqlite-utils CLI and Datasette (its page of a view opened in headless Chromium)."""
from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from conftest import cli, commit_all, init_repo

A_PY = "def héllo(x):\n    return x\n\n\nclass Point:\n    def move(self):\n        return héllo(self)\n"
B_PY = "from a import héllo\r\nprint(héllo(1))\r\n"


@pytest.fixture
def indexed(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / "a.py").write_text(A_PY, "utf-8")
    (repo / "b.py").write_bytes(B_PY.encode())
    commit_all(repo, "first")
    cli("index", repo, "--quiet", check=0)
    return repo, repo / ".codeintel" / "index.db"


def _rows(db, sql, *args) -> list[dict]:
    conn = sqlite3.connect(db)
    try:
        cur = conn.execute(sql, args)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur]
    finally:
        conn.close()


def test_views_agree_with_the_store(indexed):
    from codeintel.store import Store

    _repo, db = indexed
    with Store.open(db, create=False) as store:
        symbols = {(s["path"], s["qualname"], s["kind"], s["line"], s["col"]) for s in store.symbols_named("move")
                   + store.symbols_named("Point") + store.symbols_named("héllo")}
        names = {name for name in ("héllo", "self", "x", "print")}
        refs = {(r["path"], name, r["line"], r["col"], r["text"]) for name in names for r in store.references(name)}
    view = {(s["path"], s["qualname"], s["kind"], s["line"], s["col"]) for s in _rows(db, "SELECT * FROM symbols_view")}
    assert symbols and symbols <= view
    assert {s["parent"] for s in _rows(db, "SELECT parent FROM symbols_view WHERE name = 'move'")} == {"Point"}
    seen = {(r["path"], r["name"], r["line"], r["col"], r["line_text"].strip())
            for r in _rows(db, "SELECT * FROM references_view")}
    assert refs and {r for r in seen if r[1] in names} == refs
    # the text of each line as the file has it (CRLF line ends dropped), at the right byte column
    for r in _rows(db, "SELECT * FROM references_view"):
        assert r["line_text"].encode()[r["col"]:].startswith(r["name"].encode())
        assert "\r" not in r["line_text"]


def test_merge_decisions_view_groups_a_files_merge(tmp_path):
    from codeintel.store import Store

    db = tmp_path / ".codeintel" / "index.db"
    with Store.open(db) as store:
        one = {"path": "a.py", "via": "merge-driver", "ours_blob": "o1", "theirs_blob": "t1", "at": 1_700_000_000.5}
        store.record_merge_decisions([{**one, "hunk": 0, "region": 0, "resolved": 1, "confidence": 0.9},
                                      {**one, "hunk": 1, "region": 1, "resolved": 0, "confidence": 0.2}])
        store.record_merge_decisions([{**one, "path": "b.py", "hunk": 0, "region": 0, "resolved": 1, "at": 1_700_000_100}])
        ids = [d["id"] for d in store.merge_decision_rows()]
    rows = _rows(db, "SELECT * FROM merge_decisions_view")
    assert [r["id"] for r in rows] == ids
    assert [(r["merge"], r["path"], r["decision"], r["hunks_in_merge"], r["resolved_in_merge"]) for r in rows] == [
        (ids[0], "a.py", "resolved", 2, 1), (ids[0], "a.py", "left", 2, 1), (ids[2], "b.py", "resolved", 1, 1)]
    assert rows[0]["at_utc"] == time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(1_700_000_000))


def test_a_schema_6_index_gets_the_views_and_keeps_its_rows(indexed):
    """An index written before the views (schema 6) opens in the current schema with the views,
    through the sqlite-utils migration, inside the migration's transaction."""
    from codeintel.store import Store
    from codeintel.store.schema import SCHEMA_VERSION, VIEWS

    _repo, db = indexed
    conn = sqlite3.connect(db)
    for name in VIEWS:
        conn.execute(f'DROP VIEW "{name}"')
    conn.execute("UPDATE meta SET value = '6' WHERE key = 'schema_version'")
    conn.commit()
    before = conn.execute("SELECT count(*) FROM symbols").fetchone()[0]
    conn.close()
    assert not _rows(db, "SELECT name FROM sqlite_master WHERE type = 'view' AND name = 'symbols_view'")
    with Store.open(db, create=False) as store:
        assert store.get_meta("schema_version") == str(SCHEMA_VERSION) == "7"
    assert len(_rows(db, "SELECT * FROM symbols_view")) == before > 0
    assert _rows(db, "SELECT * FROM references_view")


def test_a_failing_migration_step_leaves_the_index_as_it_was(indexed, monkeypatch):
    """A migration function (sqlite-utils: here a table.transform()) that fails half way leaves
    neither its change nor the new version behind."""
    from codeintel.store import Store, StoreError, schema

    _repo, db = indexed

    def broken(db_):
        db_["merge_decisions"].transform(rename={"reason": "why"})
        raise StoreError("migration failed")

    monkeypatch.setattr(schema, "SCHEMA_VERSION", 8)
    monkeypatch.setitem(schema.MIGRATIONS, 8, broken)
    import codeintel.store as store_module
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", 8)
    with pytest.raises(StoreError, match="migration failed"):
        Store.open(db, create=False)
    cols = [r["name"] for r in _rows(db, "PRAGMA table_info(merge_decisions)")]
    assert "reason" in cols and "why" not in cols
    assert _rows(db, "SELECT value FROM meta WHERE key = 'schema_version'") == [{"value": "7"}]


def _tool(name: str, module: str) -> list[str]:
    found = shutil.which(name) or shutil.which(name, path=os.path.dirname(sys.executable))
    return [found] if found else [sys.executable, "-m", module]


def test_sqlite_utils_cli_lists_the_tables_and_reads_the_views(indexed):
    _repo, db = indexed
    tool = _tool("sqlite-utils", "sqlite_utils")
    tables = subprocess.run([*tool, "tables", db, "--counts"], capture_output=True, text=True, timeout=60)
    assert tables.returncode == 0, tables.stderr
    assert '"table": "symbols"' in tables.stdout and '"table": "files"' in tables.stdout
    views = subprocess.run([*tool, "views", db], capture_output=True, text=True, timeout=60)
    assert {"symbols_view", "references_view", "merge_decisions_view"} <= {
        line.split('"view": "')[1].split('"')[0] for line in views.stdout.splitlines() if '"view": "' in line}
    rows = subprocess.run([*tool, "rows", db, "references_view", "--csv"], capture_output=True, text=True, timeout=60)
    assert rows.returncode == 0, rows.stderr
    assert "        return héllo(self)" in rows.stdout


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_datasette_shows_a_view_in_chromium(indexed):
    from chromium import Page, find_chromium

    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    pytest.importorskip("datasette", reason="datasette is in the dev extra")
    _repo, db = indexed
    port = _free_port()
    server = subprocess.Popen([*_tool("datasette", "datasette"), "serve", str(db), "-h", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}/index/symbols_view"
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).read()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode()
                assert time.monotonic() < deadline, "datasette did not answer within 60 s"
                time.sleep(0.2)
        with Page(browser) as page:
            page.open(url)
            cells = page.evaluate("[...document.querySelectorAll('table.rows-and-columns td')].map(td => td.innerText)")
            assert {"Point", "Point.move", "héllo", "a.py"} <= set(cells)
            assert page.evaluate("document.querySelectorAll('table.rows-and-columns tbody tr').length") == 3
    finally:
        server.terminate()
        server.wait(timeout=30)
