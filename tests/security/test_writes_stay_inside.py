"""A repository must not make codeintel write outside it: not through a committed
``.codeintel/edits/propagate.json`` naming files elsewhere, nor through symbolic links that
it commits inside ``.codeintel/`` (a temporary file's name, the saved propagation, the index,
or the folder itself). Each attack is built here in a real git repository and run through the
real command; the file outside must be unchanged and the command must say why in one line."""
from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from pathlib import Path

import pytest

from conftest import cli, commit_all, git, init_repo

BEFORE = "def load(url):\n    data = fetch(url)\n    return data\n"
OTHER = "def load_all(urls):\n    return [fetch(u) for u in urls]\n"
VICTIM = "def victim():\n    return 'keep me'\n"


def _repo(tmp_path: Path, index: bool = True) -> Path:
    repo = init_repo(tmp_path / "repo")
    (repo / "api.py").write_text(BEFORE + "\n\n" + OTHER, encoding="utf-8")
    commit_all(repo, "first")
    if index:
        cli("index", repo, "--quiet", check=0)
    return repo


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "victim.py"
    victim.write_text(VICTIM, encoding="utf-8")
    return victim


def _digest(folder: Path) -> dict:
    """Every file below ``folder`` (not following links) and its bytes' hash."""
    out = {}
    for dirpath, _, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            out[str(path.relative_to(folder))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def _one_clear_line(proc, *words: str) -> None:
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    for word in words:
        assert word in proc.stderr, proc.stderr


# ------------------------------------------------------------------------- edits propagate --apply
@pytest.mark.parametrize("where", ["parent", "absolute", "link"])
def test_propagate_apply_refuses_a_saved_suggestion_outside_the_repository(tmp_path, where):
    victim = _victim(tmp_path)
    repo = _repo(tmp_path, index=False)
    if where == "link":
        os.symlink(victim, repo / "link.py")    # inside by name, outside once resolved
    path = {"parent": "../victim.py", "absolute": str(victim), "link": "link.py"}[where]
    data = victim.read_bytes()
    forged = {"path": path, "qualname": "victim", "start_byte": 0, "end_byte": len(data), "start_line": 1,
              "start_col": 0, "end_line": 2, "end_col": 22, "before": VICTIM,
              "after": "def victim():\n    import os; os.system('echo owned')\n", "confidence": 0.99,
              "source": "propagation", "reason": "the edit you made", "file_sha256": hashlib.sha256(data).hexdigest()}
    _save_propagation(repo, forged)
    git(repo, "add", "-f", ".codeintel/edits/propagate.json", "api.py", *(["link.py"] if where == "link" else []))
    commit_all(repo, "a propagation that names a file elsewhere")
    cli("index", repo, "--quiet", check=0)
    (repo / "api.py").write_text((repo / "api.py").read_text().replace("fetch(url)", "fetch(url, timeout=10)"))

    proc = cli("edits", "propagate", "--repo", repo, "--apply", "all", check=2)
    _one_clear_line(proc, "outside the repository" if where != "link" else "symbolic link")
    assert victim.read_text(encoding="utf-8") == VICTIM
    assert (repo / "api.py").read_text().count("timeout=10") == 1      # nothing applied at all


def _save_propagation(repo: Path, forged: dict) -> None:
    """A saved propagation (what `edits propagate` writes) holding the ``forged`` suggestion."""
    saved = repo / ".codeintel" / "edits" / "propagate.json"
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps({"asked": {"against": "HEAD", "branch": None, "min_confidence": 0.3},
                                 "suggestions": [forged]}), encoding="utf-8")


def test_propagate_apply_refuses_a_saved_suggestion_it_would_not_make(tmp_path):
    """Inside the repository too: a committed propagation is only a list of numbers the user saw,
    so a suggestion `propagate` does not make now (code the repository's author chose) is refused."""
    repo = _repo(tmp_path, index=False)
    data = (repo / "api.py").read_bytes()
    start = data.index(b"def load_all")
    forged = {"path": "api.py", "qualname": "load_all", "start_byte": start, "end_byte": len(data),
              "start_line": 5, "start_col": 0, "end_line": 6, "end_col": 0, "before": data[start:].decode(),
              "after": "def load_all(urls):\n    __import__('os').system('echo owned')\n", "confidence": 0.99,
              "source": "propagation", "reason": "the edit you made", "file_sha256": hashlib.sha256(data).hexdigest()}
    _save_propagation(repo, forged)
    git(repo, "add", "-f", ".codeintel/edits/propagate.json")
    commit_all(repo, "a propagation of the author's choosing")
    cli("index", repo, "--quiet", check=0)
    (repo / "jobs.py").write_text("def run(job):\n    return 1\n", encoding="utf-8")    # an unrelated new file

    proc = cli("edits", "propagate", "--repo", repo, "--apply", "1", check=2)
    _one_clear_line(proc, "api.py", "run it again")
    assert (repo / "api.py").read_bytes() == data


# ------------------------------------------------------------------------- symbolic links in .codeintel
def test_report_refuses_a_symlinked_temporary_file(tmp_path):
    victim = _victim(tmp_path)
    repo = _repo(tmp_path)
    os.symlink(victim, repo / ".codeintel" / "report.html.tmp")
    proc = cli("report", repo, "--html", tmp_path / "out.html", check=3)
    _one_clear_line(proc, "report.html.tmp", "symbolic link")
    assert victim.read_text(encoding="utf-8") == VICTIM
    assert not (tmp_path / "out.html").exists()


def test_language_server_report_refuses_a_symlinked_temporary_file(tmp_path):
    pytest.importorskip("pytest_lsp")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
    from lsp_support import lsp_session
    from lsprotocol import types as lsp
    from pygls.exceptions import JsonRpcException

    victim = _victim(tmp_path)
    repo = _repo(tmp_path)
    os.symlink(victim, repo / ".codeintel" / "report.html.tmp")

    async def scenario():
        async with lsp_session(repo) as client:
            with pytest.raises(JsonRpcException, match="symbolic link"):
                await client.workspace_execute_command_async(
                    lsp.ExecuteCommandParams(command="codeintel.report", arguments=[{"format": "html"}]))

    asyncio.run(scenario())
    assert victim.read_text(encoding="utf-8") == VICTIM
    assert not (repo / ".codeintel" / "report.html").exists()


def test_plain_propagate_refuses_a_symlinked_saved_propagation(tmp_path):
    victim = _victim(tmp_path)
    repo = _repo(tmp_path)
    (repo / ".codeintel" / "edits").mkdir()
    os.symlink(victim, repo / ".codeintel" / "edits" / "propagate.json")
    (repo / "api.py").write_text((repo / "api.py").read_text().replace("fetch(url)", "fetch(url, timeout=10)"))
    proc = cli("edits", "propagate", "--repo", repo, check=3)
    _one_clear_line(proc, "propagate.json", "symbolic link")
    assert victim.read_text(encoding="utf-8") == VICTIM


def test_a_symlinked_codeintel_folder_is_refused(tmp_path):
    other = init_repo(tmp_path / "other")
    (other / "lib.py").write_text(OTHER, encoding="utf-8")
    commit_all(other, "other")
    cli("index", other, "--quiet", check=0)
    outside = other / ".codeintel"          # another project's index
    repo = _repo(tmp_path, index=False)
    os.symlink(outside, repo / ".codeintel")
    (repo / "api.py").write_text((repo / "api.py").read_text().replace("fetch(url)", "fetch(url, timeout=10)"))
    before = _digest(outside)
    for args in (("index", repo), ("index", "--rebuild", repo), ("edits", "propagate", "--repo", repo),
                 ("search", "load", "--repo", repo), ("report", repo)):
        proc = cli(*args, check=3)
        _one_clear_line(proc, ".codeintel", "symbolic link")
        assert _digest(outside) == before


@pytest.mark.parametrize("name", ["index.db", "index.db-wal"])
def test_a_symlinked_index_is_refused(tmp_path, name):
    other = init_repo(tmp_path / "other")
    (other / "lib.py").write_text(OTHER, encoding="utf-8")
    commit_all(other, "other")
    cli("index", other, "--quiet", check=0)
    repo = _repo(tmp_path / "r", index=False)
    (repo / ".codeintel").mkdir()
    if name == "index.db":
        os.symlink(other / ".codeintel" / "index.db", repo / ".codeintel" / "index.db")
        target = other / ".codeintel"
    else:
        cli("index", repo, "--quiet", check=0)
        target = tmp_path / "precious"
        target.mkdir()
        (target / "data.bin").write_bytes(b"precious bytes\n" * 100)
        os.symlink(target / "data.bin", repo / ".codeintel" / "index.db-wal")
    before = _digest(target)
    (repo / "new.py").write_text("def fresh():\n    return 1\n", encoding="utf-8")
    proc = cli("index", repo, check=3)
    _one_clear_line(proc, name, "symbolic link")
    assert _digest(target) == before
    proc = cli("search", "fresh", "--repo", repo, check=3)
    _one_clear_line(proc, name, "symbolic link")


def test_install_merge_driver_never_writes_through_a_committed_gitattributes_link(tmp_path):
    """A repository commits ``.gitattributes`` as a link to a file of the user's: installing the
    driver there must not append to that file."""
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file\n")
    repo = init_repo(tmp_path / "cloned")
    (repo / ".gitattributes").symlink_to(victim)
    commit_all(repo, "attributes as a link")
    proc = cli("install-merge-driver", "--repo", repo)
    assert proc.returncode == 2 and "symbolic link" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert victim.read_text() == "the user's own file\n"
    # a plain file is still extended, and stays readable
    (repo / ".gitattributes").unlink()
    (repo / ".gitattributes").write_text("*.png binary")
    cli("install-merge-driver", "--repo", repo, check=0)
    lines = (repo / ".gitattributes").read_text().splitlines()
    assert lines[0] == "*.png binary" and "*.py merge=codeintel" in lines
    assert (repo / ".gitattributes").stat().st_mode & 0o777 != 0o600
