"""Issue #23, trust: what a repository commits in ``.codeintel/`` does not decide where its code
is sent (the completion backend, its URL and API key), which code or weights load (a checkpoint
in the repository, a model folder that came with the clone) or how eagerly merges resolve (a low
``[merge] threshold``), unless the user trusts the repository (``codeintel trust``, or the
editor's workspace trust). Each test builds the attack, checks it fails, then trusts and checks
the repository's choice applies again (so the attack would have worked)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types as lsp

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))

from completion_server import RecordingCompletionServer  # noqa: E402
from conftest import GIT_ENV, ROOT, cli, cli_json, commit_all, diverge, git, init_repo  # noqa: E402
from lsp_support import lsp_session, open_doc, position_of  # noqa: E402

CODE = '''def area_of_square(side):
    return side * side


def total(sides):
    return sum(area_of_square(s) for s in sides)
'''
SECRET = "sk-the-users-own-key"


@pytest.fixture
def recorder():
    server = RecordingCompletionServer("uare(side)")
    yield server
    server.close()


def _repo_sending_code_to(tmp_path: Path, url: str) -> Path:
    """A repository whose committed .codeintel/config.toml sends completion to ``url`` with the
    value of the user's SECRET_KEY variable as the API key."""
    repo = init_repo(tmp_path / "cloned")
    (repo / "shapes.py").write_text(CODE)
    (repo / ".codeintel").mkdir()
    (repo / ".codeintel" / "config.toml").write_text(
        f'[completion]\nbackend = "http"\nurl = "{url}"\nmodel = "x"\napi_key_env = "SECRET_KEY"\n')
    commit_all(repo, "a repository with its own completion endpoint")
    cli("index", repo, "--quiet", "--no-history", check=0)
    return repo


def test_cli_completion_never_sends_an_untrusted_repositorys_code_to_the_url_it_names(tmp_path, recorder):
    repo = _repo_sending_code_to(tmp_path, recorder.url)
    where = f"{repo}/shapes.py:6:{len('    return sum(area_of_sq') + 1}"
    env = {"SECRET_KEY": SECRET}
    proc = cli("complete", where, env=env, check=0)
    assert recorder.seen == []
    assert "is not trusted" in proc.stderr and "[completion] url" in proc.stderr and "codeintel trust" in proc.stderr
    assert sum("not trusted" in line for line in proc.stderr.splitlines()) == 1 and "Traceback" not in proc.stderr
    models = cli_json("models", "--repo", repo)
    assert not models["trust"]["trusted"] and "[completion] backend" in models["trust"]["ignored"][0]
    # trusted by the user: the repository's endpoint is used, key and all
    cli("trust", repo, check=0)
    data = cli_json("complete", where, env=env)
    assert data["suggestions"][0]["source"] == "http"
    assert recorder.seen and recorder.seen[0][1] == f"Bearer {SECRET}"
    cli("trust", "--revoke", repo, check=0)
    before = len(recorder.seen)
    cli("complete", where, env=env, check=0)
    assert len(recorder.seen) == before


def test_user_configuration_chooses_the_backend_for_every_repository(tmp_path, recorder):
    repo = _repo_sending_code_to(tmp_path, "http://127.0.0.1:9/v1")
    home = tmp_path / "user-config"
    home.mkdir()
    (home / "config.toml").write_text(f'[completion]\nbackend = "http"\nurl = "{recorder.url}"\nmodel = "mine"\n')
    data = cli_json("complete", f"{repo}/shapes.py:6:{len('    return sum(area_of_sq') + 1}",
                    env={"CODEINTEL_CONFIG_HOME": str(home)})
    assert data["suggestions"][0]["source"] == "http"
    assert [body["model"] for _, _, body in recorder.seen] == ["mine"]


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_language_server_obeys_vs_code_workspace_trust_for_the_repository_settings(tmp_path, recorder,
                                                                                         monkeypatch):
    monkeypatch.setenv("SECRET_KEY", SECRET)      # the server inherits the user's environment
    repo = _repo_sending_code_to(tmp_path, recorder.url)
    text = CODE + "\n\ndef other(s):\n    return area_of_sq"
    for trusted in (False, None, True):     # the editor says untrusted, says nothing, says trusted
        options = None if trusted is None else {"workspaceTrusted": trusted}
        async with lsp_session(repo, initialization_options=options) as client:
            doc = open_doc(client, repo / "shapes.py", text)
            end = position_of(text, "area_of_sq", offset=len("area_of_sq"), nth=2)
            result = await client.text_document_inline_completion_async(lsp.InlineCompletionParams(
                text_document=lsp.TextDocumentIdentifier(doc), position=end,
                context=lsp.InlineCompletionContext(trigger_kind=lsp.InlineCompletionTriggerKind.Invoked)))
            assert result is not None
        assert bool(recorder.seen) == bool(trusted), (trusted, recorder.seen)
    assert recorder.seen[0][1] == f"Bearer {SECRET}"


def _checkpoint_with_custom_code(folder: Path, marker: Path) -> Path:
    """A Hugging Face checkpoint of an unknown model type whose own Python code (``auto_map``)
    would create ``marker`` when imported."""
    from tokenizers import Tokenizer
    from tokenizers.models import WordLevel
    from transformers import PreTrainedTokenizerFast

    folder.mkdir(parents=True)
    code = f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\n"
    (folder / "configuration_evil.py").write_text(code + "from transformers import PretrainedConfig\n"
                                                  "class EvilConfig(PretrainedConfig):\n    model_type = 'evil'\n")
    (folder / "modeling_evil.py").write_text(code)
    (folder / "config.json").write_text(json.dumps({
        "model_type": "evil", "architectures": ["EvilForCausalLM"],
        "auto_map": {"AutoConfig": "configuration_evil.EvilConfig",
                     "AutoModelForCausalLM": "modeling_evil.EvilForCausalLM"}}))
    (folder / "model.safetensors").write_bytes(b"\x02\x00\x00\x00\x00\x00\x00\x00{}")
    tok = Tokenizer(WordLevel({"<unk>": 0, "a": 1}, unk_token="<unk>"))
    PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>").save_pretrained(folder)
    return folder


def test_a_checkpoint_never_runs_its_own_code_even_in_a_trusted_repository(tmp_path):
    pytest.importorskip("transformers")
    repo = init_repo(tmp_path / "cloned")
    (repo / "shapes.py").write_text(CODE)
    marker = tmp_path / "code-ran"
    _checkpoint_with_custom_code(repo / "model", marker)
    (repo / ".codeintel").mkdir()
    (repo / ".codeintel" / "config.toml").write_text('[completion]\nbackend = "hf"\nmodel_path = "model"\n')
    commit_all(repo, "a repository shipping a model with code")
    cli("index", repo, "--quiet", "--no-history", check=0)
    where = f"{repo}/shapes.py:6:{len('    return sum(area_of_sq') + 1}"
    for trust_it in (False, True):
        if trust_it:
            cli("trust", repo, check=0)
        proc = subprocess.run([sys.executable, "-m", "codeintel", "complete", where, "--json"], input="y\ny\ny\n",
                              capture_output=True, text=True, timeout=120,
                              env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
        assert proc.returncode == 0, proc.stderr
        assert not marker.exists(), f"the checkpoint's code ran (trusted={trust_it})"
        suggestions = json.loads(proc.stdout)["suggestions"]
        assert all(s["source"] != "hf" for s in suggestions)
        if trust_it:     # it was tried, and refused: the fallback says why
            assert suggestions and "cannot load the checkpoint" in suggestions[0]["detail"]


# ------------------------------------------------------------------------------ merges
BASE = "def f():\n    return 1\n"
OURS = "def f():\n    return 2\n"
THEIRS = "def f():\n    return 3\n"


def _conflicted_repo(tmp_path: Path, config: str) -> Path:
    """A repository with the merge driver installed whose committed config asks for ``config``,
    and a real content conflict between two branches."""
    repo = init_repo(tmp_path / "cloned")
    (repo / ".codeintel").mkdir()
    (repo / ".codeintel" / "config.toml").write_text(config)
    diverge(repo, "app.py", BASE.encode(), OURS.encode(), THEIRS.encode())
    cli("install-merge-driver", cwd=repo, env=GIT_ENV, check=0)
    return repo


def _merge(repo: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repo), "merge", "-q", "theirs", "-m", "merge"], capture_output=True,
                          text=True, env={**os.environ, **GIT_ENV, "PYTHONPATH": str(ROOT)}, timeout=120)


def test_a_repository_cannot_lower_the_merge_threshold_to_resolve_a_real_conflict(tmp_path):
    repo = _conflicted_repo(tmp_path, "[merge]\nthreshold = 0.0\n")
    proc = _merge(repo)
    assert proc.returncode != 0, "the conflict was resolved silently"
    text = (repo / "app.py").read_text()
    assert "<<<<<<<" in text and "return 2" in text and "return 3" in text
    assert "is not trusted" in proc.stderr and "[merge] threshold = 0" in proc.stderr
    # trusted, the repository's threshold applies: the model takes a side
    git(repo, "merge", "--abort")
    cli("trust", repo, check=0)
    proc = _merge(repo)
    assert proc.returncode == 0, proc.stderr
    assert "<<<<<<<" not in (repo / "app.py").read_text()


def test_an_untrusted_repository_may_still_make_merges_stricter(tmp_path):
    from codeintel.config import load_merge_threshold

    repo = tmp_path / "strict"
    (repo / ".codeintel").mkdir(parents=True)
    (repo / ".codeintel" / "config.toml").write_text("[merge]\nthreshold = 0.99\n")
    setting = load_merge_threshold(repo)
    assert setting.resolve(0.9) == 0.99 and setting.ignored(0.9) is None
    (repo / ".codeintel" / "config.toml").write_text("[merge]\nthreshold = 0.5\n")
    setting = load_merge_threshold(repo)
    assert setting.resolve(0.9) == 0.9 and "not trusted" in setting.ignored(0.9)


def test_a_model_committed_to_the_repository_is_not_used_until_trusted(tmp_path):
    """A merge model folder that arrived with the clone (with a threshold of 0) is skipped by the
    registry; one saved by ``codeintel train`` on this machine is used without trust."""
    from codeintel.models.registry import active_model, builtin_dir, repo_model_dir

    repo = init_repo(tmp_path / "cloned")
    committed = repo_model_dir(repo, "merge")
    import shutil
    shutil.copytree(builtin_dir("merge"), committed)
    config = json.loads((committed / "config.json").read_text())
    (committed / "config.json").write_text(json.dumps({**config, "threshold": 0.0}))
    commit_all(repo, "a model of our own")
    info = active_model("merge", repo)
    assert info is not None and info.source == "built-in"
    listed = cli_json("models", "--repo", repo)
    merge = next(f for f in listed["features"] if f["feature"] == "merge")
    assert merge["active"]["source"] == "built-in"
    assert "not trained here" in merge["skipped"][0]["reason"]
    cli("trust", repo, check=0)
    assert active_model("merge", repo).source == "repository"
