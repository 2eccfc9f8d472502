"""Tests of indexer.history (git history mining): this module owns checking, on real git
repositories built with the git command line in tmp_path (fixed identities and dates), that
mining records function-level before/after pairs, merge scenarios with git's conflict counts and
the committed resolution, mines incrementally, honours max_commits/since, survives shallow
clones, non-git directories and odd bytes (invalid UTF-8, bogus encodings, binaries, symlinks,
submodule entries, octopus and empty commits). Its git helpers live here, not in conftest."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from codeintel.store import Store
from indexer.history import BOUNDARY_NOTE, HistoryResult, mine_history

pytestmark = pytest.mark.timeout(60)

T0 = 1_600_000_000  # 2020-09-13


class GitRepo:
    """A repository driven through the git command line with deterministic identities and dates."""

    def __init__(self, path: Path, home: Path, init: bool = True):
        self.path = path
        self.time = T0
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        self.env.update(HOME=str(home), GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
                        GIT_AUTHOR_NAME="Ada Lovelace", GIT_AUTHOR_EMAIL="ada@example.com",
                        GIT_COMMITTER_NAME="Ada Lovelace", GIT_COMMITTER_EMAIL="ada@example.com")
        if init:
            path.mkdir(parents=True, exist_ok=True)
            self.git("init", "-q", "-b", "main")

    def git(self, *args: str, check: bool = True, cwd: Path | None = None, input: bytes | None = None) -> str:
        env = dict(self.env, GIT_AUTHOR_DATE=f"{self.time} +0000", GIT_COMMITTER_DATE=f"{self.time} +0000")
        proc = subprocess.run(["git", *args], cwd=cwd or self.path, env=env, input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed: {proc.stderr.decode(errors='replace')}")
        return proc.stdout.decode("utf-8", "replace").strip()

    def write(self, rel: str, content: str | bytes) -> None:
        target = self.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            content = content.encode()
        target.write_bytes(content)

    def commit(self, message: str | bytes, *extra: str, when: int | None = None) -> str:
        self.time = when if when is not None else self.time + 3600
        self.git("add", "-A")
        msg_file = self.path.parent / f".msg-{self.path.name}"
        msg_file.write_bytes(message if isinstance(message, bytes) else message.encode())
        self.git("commit", "-q", "--allow-empty", "-F", str(msg_file), *extra)
        return self.head()

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path):
    return GitRepo(tmp_path / "repo", tmp_path)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "store" / "index.db")
    yield s
    s.close()


def _commit_rows(store: Store) -> dict[str, dict]:
    cols = ("sha", "parents", "author_name", "author_email", "authored_at", "committed_at", "message",
            "is_merge", "files_changed", "insertions", "deletions", "note")
    return {row[0]: dict(zip(cols, row)) for row in store.conn.execute(f"SELECT {', '.join(cols)} FROM commits")}


def _changes(store: Store, sha: str) -> dict[str, dict]:
    return {c["qualname"]: c for c in store.function_changes() if c["commit"] == sha}


V1 = '''import os


def foo(x):
    return x + 1


def bar():
    return "bar"


class Greeter:
    def hello(self, name):
        return "hello " + name

    def bye(self):
        return "bye"


def dup():
    return 1


def dup():
    return 2
'''

V2 = '''import os


def foo(x):
    return x + 2


class Greeter:
    def hello(self, name):
        return "hi " + name

    def bye(self):
        return "bye"


def dup():
    return 1


def dup():
    return 3


def baz():
    return None
'''


# ---------------------------------------------------------------------------- (1) function changes

def test_function_changes_modified_added_deleted(repo, store):
    first = (repo.write("pkg/mod.py", V1), repo.commit("first"))[1]
    second = (repo.write("pkg/mod.py", V2), repo.commit("second: edit foo and hello"))[1]
    repo.git("rm", "-q", "pkg/mod.py")
    repo.write("README.md", "no code here\n")
    third = repo.commit("third: drop the module")

    result = mine_history(repo.path, store)
    assert isinstance(result, HistoryResult)
    assert result.new_commits == 3

    root = _changes(store, first)
    assert {q: c["change"] for q, c in root.items()} == {
        "foo": "added", "bar": "added", "Greeter.hello": "added", "Greeter.bye": "added",
        "dup": "added", "dup#2": "added"}

    mid = _changes(store, second)
    assert set(mid) == {"foo", "Greeter.hello", "bar", "dup#2", "baz"}  # bye and first dup unchanged
    foo = mid["foo"]
    assert foo["change"] == "modified" and foo["kind"] == "function" and foo["language"] == "python"
    assert foo["path"] == "pkg/mod.py"
    assert foo["before"] == "def foo(x):\n    return x + 1"
    assert foo["after"] == "def foo(x):\n    return x + 2"
    hello = mid["Greeter.hello"]
    assert hello["kind"] == "method" and hello["change"] == "modified"
    assert '"hello "' in hello["before"] and '"hi "' in hello["after"]
    assert mid["bar"]["change"] == "deleted" and mid["bar"]["after"] is None and "bar" in mid["bar"]["before"]
    assert mid["baz"]["change"] == "added" and mid["baz"]["before"] is None
    assert mid["dup#2"]["change"] == "modified" and "return 3" in mid["dup#2"]["after"]

    gone = _changes(store, third)
    assert {c["change"] for c in gone.values()} == {"deleted"}
    assert set(gone) == {"foo", "Greeter.hello", "Greeter.bye", "dup", "dup#2", "baz"}

    rows = _commit_rows(store)
    assert rows[first]["parents"] == "" and rows[second]["parents"] == first
    assert rows[second]["author_name"] == "Ada Lovelace" and rows[second]["author_email"] == "ada@example.com"
    assert rows[second]["message"].startswith("second: edit foo and hello")
    assert rows[second]["committed_at"] == T0 + 2 * 3600 and rows[second]["is_merge"] == 0
    assert rows[second]["files_changed"] == 1 and rows[second]["insertions"] > 0
    files = store.conn.execute("SELECT commit_sha, path, change FROM commit_files ORDER BY path").fetchall()
    assert (first, "pkg/mod.py", "A") in files          # root commit: diffed against the empty tree
    assert (third, "pkg/mod.py", "D") in files and (third, "README.md", "A") in files


def test_rename_keeps_function_identity(repo, store):
    repo.write("a.py", V1)
    repo.commit("add")
    (repo.path / "a.py").rename(repo.path / "b.py")
    repo.write("b.py", V1.replace("x + 1", "x + 5"))
    moved = repo.commit("move and edit")
    mine_history(repo.path, store)
    files = store.conn.execute("SELECT path, old_path, change FROM commit_files WHERE commit_sha=?",
                               (moved,)).fetchall()
    assert files == [("b.py", "a.py", "R")]
    assert {q: c["change"] for q, c in _changes(store, moved).items()} == {"foo": "modified"}


# ---------------------------------------------------------------------------- (2) merges

BASE = "".join(f"def f{i}():\n    return {i}\n\n\n" for i in range(8))


def test_conflicting_merge_records_scenario_and_resolution(repo, store):
    repo.write("calc.py", BASE)
    repo.write("notes.txt", "shared\n")
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("calc.py", BASE.replace("return 3\n", "return 30\n"))
    theirs = repo.commit("feature: f3 returns 30")
    repo.git("checkout", "-q", "main")
    repo.write("calc.py", BASE.replace("return 3\n", "return 300\n"))
    repo.write("only_main.py", "def m():\n    pass\n")
    ours = repo.commit("main: f3 returns 300")
    repo.time += 3600
    repo.git("merge", "-q", "feature", check=False)  # conflicts
    resolved = BASE.replace("return 3\n", "return 330\n")
    repo.write("calc.py", resolved)
    merge = repo.commit("merge feature")

    result = mine_history(repo.path, store)
    assert result.merge_scenarios == 1 and result.conflicting_scenarios == 1
    (sc,) = list(store.merge_scenarios())
    assert sc["merge"] == merge and sc["path"] == "calc.py" and sc["language"] == "python"
    assert sc["ours_sha"] == ours and sc["theirs_sha"] == theirs
    assert sc["base_sha"] == repo.git("merge-base", ours, theirs)
    assert sc["base"] == BASE and "return 300" in sc["ours"] and "return 30\n" in sc["theirs"]
    assert sc["result"] == resolved
    assert sc["conflicts"] >= 1
    rows = _commit_rows(store)
    assert rows[merge]["is_merge"] == 1 and rows[merge]["parents"] == f"{ours} {theirs}"
    assert not _changes(store, merge)  # merges give scenarios, not function changes
    assert repo.git("status", "--porcelain") == ""  # the work tree was not touched


def test_clean_merge_of_a_file_changed_on_both_sides(repo, store):
    repo.write("calc.py", BASE)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("calc.py", BASE.replace("return 6\n", "return 66\n"))
    repo.write("added_both.txt", "same\n")
    repo.commit("feature edits f6")
    repo.git("checkout", "-q", "main")
    repo.write("calc.py", BASE.replace("return 1\n", "return 11\n"))
    repo.write("added_both.txt", "same\n")
    repo.commit("main edits f1")
    repo.time += 3600
    repo.git("merge", "-q", "--no-ff", "--no-edit", "feature")
    merge = repo.head()

    result = mine_history(repo.path, store)
    scenarios = {s["path"]: s for s in store.merge_scenarios()}
    assert set(scenarios) == {"calc.py", "added_both.txt"}
    calc = scenarios["calc.py"]
    assert calc["merge"] == merge and calc["conflicts"] == 0
    assert "return 11" in calc["result"] and "return 66" in calc["result"]
    both = scenarios["added_both.txt"]
    assert both["base"] is None and both["ours"] == both["theirs"] == "same\n" and both["conflicts"] == 0
    assert both["language"] is None
    assert result.conflicting_scenarios == 0 and result.merge_scenarios == 2


# ---------------------------------------------------------------------------- (3) incremental

def test_second_run_mines_only_the_new_commit(repo, store):
    repo.write("m.py", "def a():\n    return 1\n")
    repo.commit("one")
    repo.write("m.py", "def a():\n    return 2\n")
    repo.commit("two")
    first = mine_history(repo.path, store)
    assert first.new_commits == 2
    assert mine_history(repo.path, store).new_commits == 0

    repo.write("m.py", "def a():\n    return 3\n")
    third = repo.commit("three")
    calls = []
    again = mine_history(repo.path, store, progress=lambda done, total: calls.append((done, total)))
    assert again.new_commits == 1 and again.function_changes == 1
    assert calls == [(1, 1)]
    assert store.get_meta("history_head") == third
    assert len(_commit_rows(store)) == 3
    assert [c["change"] for c in store.function_changes()] == ["added", "modified", "modified"]


def test_interrupted_run_keeps_written_batches(repo, store, monkeypatch):
    import indexer.history as history
    for i in range(5):
        repo.write("m.py", f"def a():\n    return {i}\n")
        repo.commit(f"c{i}")
    monkeypatch.setattr(history, "BATCH_COMMITS", 2)

    def stop(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        mine_history(repo.path, store, progress=stop)
    assert len(_commit_rows(store)) == 2          # the first batch was committed
    assert mine_history(repo.path, store).new_commits == 3
    assert len(_commit_rows(store)) == 5


# ---------------------------------------------------------------------------- (4) bounds

def test_max_commits_and_since_bound_the_walk(repo, tmp_path):
    day = 86400
    shas = []
    for i in range(5):
        repo.write("f.py", f"def f():\n    return {i}\n")
        shas.append(repo.commit(f"c{i}", when=T0 + i * day))

    with Store.open(tmp_path / "s1" / "index.db") as s1:
        r = mine_history(repo.path, s1, max_commits=2)
        assert r.new_commits == 2 and set(_commit_rows(s1)) == set(shas[-2:])
        assert "bounded" in (s1.get_meta("history_note") or "")
        # raising the bound later mines the older ones only
        assert mine_history(repo.path, s1, max_commits=None).new_commits == 3

    with Store.open(tmp_path / "s2" / "index.db") as s2:
        r = mine_history(repo.path, s2, since=str(T0 + 2 * day + 3600))
        assert r.new_commits == 2 and set(_commit_rows(s2)) == set(shas[3:])

    with Store.open(tmp_path / "s3" / "index.db") as s3:
        assert mine_history(repo.path, s3, max_commits=0).new_commits == 5


# ---------------------------------------------------------------------------- (5) shallow clones

def test_shallow_clone_notes_the_boundary(repo, tmp_path, store):
    for i in range(4):
        repo.write("f.py", f"def f():\n    return {i}\n")
        repo.commit(f"c{i}")
    clone = GitRepo(tmp_path / "clone", tmp_path, init=False)
    clone.git("clone", "-q", "--depth", "2", f"file://{repo.path}", str(clone.path), cwd=tmp_path)
    boundary = (clone.path / ".git" / "shallow").read_text().split()
    assert len(boundary) == 1

    result = mine_history(clone.path, store)
    assert result.new_commits == 2
    rows = _commit_rows(store)
    assert rows[boundary[0]]["note"] == BOUNDARY_NOTE
    assert rows[boundary[0]]["parents"]  # the real parent, read from the commit object
    assert not _changes(store, boundary[0])  # not diffed against the empty tree
    assert store.conn.execute("SELECT count(*) FROM commit_files WHERE commit_sha=?", (boundary[0],)).fetchone()[0] == 0
    assert _changes(store, clone.head())["f"]["change"] == "modified"
    assert f"shallow clone: history before {boundary[0][:12]}" in store.get_meta("history_note")
    assert "shallow" in result.skipped_note

    # deepening the clone re-mines the old boundary commit with its real diff
    clone.git("fetch", "-q", "--unshallow")
    again = mine_history(clone.path, store)
    assert again.new_commits == 3  # two older commits + the former boundary
    assert _commit_rows(store)[boundary[0]]["note"] is None
    assert _changes(store, boundary[0])["f"]["change"] == "modified"


def test_shallow_merge_without_base(repo, tmp_path, store):
    repo.write("x.py", BASE)
    repo.commit("base")
    repo.git("checkout", "-q", "-b", "side")
    repo.write("x.py", BASE.replace("return 2\n", "return 22\n"))
    repo.commit("side")
    repo.git("checkout", "-q", "main")
    repo.write("x.py", BASE.replace("return 5\n", "return 55\n"))
    repo.commit("main")
    repo.time += 3600
    repo.git("merge", "-q", "--no-edit", "side")
    clone = GitRepo(tmp_path / "clone", tmp_path, init=False)
    clone.git("clone", "-q", "--depth", "2", f"file://{repo.path}", str(clone.path), cwd=tmp_path)

    result = mine_history(clone.path, store)
    assert result.new_commits == 3 and result.merge_scenarios == 0
    notes = {sha: row["note"] for sha, row in _commit_rows(store).items()}
    assert "no merge base" in notes[clone.head()]
    assert sorted(n for s, n in notes.items() if s != clone.head()) == [BOUNDARY_NOTE, BOUNDARY_NOTE]


# ---------------------------------------------------------------------------- (6) not a repository

def test_non_git_directory_and_unborn_head(tmp_path, store):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "a.py").write_text("def f():\n    pass\n")
    result = mine_history(plain, store)
    assert result == HistoryResult(skipped_note=result.skipped_note)
    assert "not a git repository" in result.skipped_note
    assert store.get_meta("history_head") is None
    assert mine_history(tmp_path / "missing", store).new_commits == 0

    empty = GitRepo(tmp_path / "empty", tmp_path)
    result = mine_history(empty.path, store)
    assert result.new_commits == 0 and "no commits" in result.skipped_note


# ---------------------------------------------------------------------------- (7) odd bytes

def test_odd_bytes_and_odd_entries(repo, store, tmp_path):
    repo.write("bad.py", b"def f():\n    return '\xff\xfe'\n")
    repo.write("blob.bin", b"\x00\x01\x02")
    repo.commit("placeholder")
    # `git commit` repairs invalid UTF-8 (as Latin-1), so write the raw commit object ourselves
    raw = repo.git("cat-file", "commit", "HEAD").encode().split(b"\n\n", 1)[0]
    raw = raw.replace(b"author Ada Lovelace", b"author Ada \xffLovelace")
    bad_sha = repo.git("hash-object", "-t", "commit", "-w", "--stdin", "--literally",
                       input=raw + b"\n\ncaf\xe9 message \xff\n\nbody \xfe\n")
    repo.git("reset", "-q", "--soft", bad_sha)
    repo.write("bad.py", b"def f():\n    return '\xff\xfe!'\n\n\ndef g():\n    return 1\n")
    repo.write("blob.bin", b"\x00\x01\x03")
    repo.write("huge.py", "def big():\n    return 1\n" + "# pad\n" * 200_000)
    os.symlink("bad.py", repo.path / "link.py")
    repo.git("config", "i18n.commitEncoding", "no-such-encoding")  # an `encoding` header nothing knows
    bogus = repo.commit("bytes \xe9")
    repo.git("config", "--unset", "i18n.commitEncoding")
    # a submodule entry (gitlink) and an empty commit
    repo.git("update-index", "--add", "--cacheinfo", f"160000,{repo.head()},sub.py")
    (repo.path / "sub.py").mkdir()  # an unpopulated submodule, as a checkout leaves it
    repo.git("commit", "-q", "-m", "gitlink")
    repo.git("commit", "-q", "--allow-empty", "-m", "empty")
    assert repo.git("ls-files", "-s", "sub.py").startswith("160000")
    # an octopus merge
    base = repo.head()
    for name in ("o1", "o2"):
        repo.git("checkout", "-q", "-b", name, base)
        repo.write(f"{name}.py", "def o():\n    pass\n")
        repo.commit(name)
    repo.git("checkout", "-q", "main")
    repo.time += 3600
    repo.git("merge", "-q", "--no-ff", "--no-edit", "o1", "o2")
    octopus = repo.head()

    result = mine_history(repo.path, store)
    assert result.new_commits == 7
    assert repo.git("ls-tree", "HEAD", "sub.py").startswith("160000")
    rows = _commit_rows(store)
    assert rows[bad_sha]["message"] == "caf\ufffd message \ufffd\n\nbody \ufffd\n"
    assert rows[bad_sha]["author_name"] == "Ada \ufffdLovelace"
    assert len(rows[octopus]["parents"].split()) == 3 and "octopus" in rows[octopus]["note"]
    assert rows[bogus]["message"].startswith("bytes \xe9")
    assert "encoding no-such-encoding" in repo.git("cat-file", "commit", bogus)
    bad = [c for c in store.function_changes() if c["path"] == "bad.py"]
    assert [c["change"] for c in bad] == ["added", "modified", "added"]
    assert "\ufffd" in bad[1]["after"]
    assert not [c for c in store.function_changes() if c["path"] in ("huge.py", "link.py", "sub.py")]
    assert "over 1 MiB" in result.skipped_note
