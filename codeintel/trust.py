"""Whose word counts: the user's, or a repository's the user has trusted.

A repository is untrusted data: what it commits must not decide where its code is sent, which
code or weights load, or how eagerly merges resolve. So those settings come from the user (the
user-level configuration below, the editor's settings, the command line) or from a repository
the user has trusted explicitly, the way git's ``safe.directory`` and VS Code's workspace trust
work. Everything lives outside any repository, in the user's configuration folder
(``$CODEINTEL_CONFIG_HOME``, else ``$XDG_CONFIG_HOME/codeintel``, else ``~/.config/codeintel``):

- ``config.toml``: the user's own settings, the same sections as a repository's
  ``.codeintel/config.toml``; they always apply, and win over the repository's;
- ``trusted.json``: the folders trusted with ``codeintel trust [PATH]`` (a trusted folder
  trusts every repository below it);
- ``models.json``: the model folders this user saved (``codeintel train …``), each with the
  identity of its weights and config files (inode, size, time), so a model trained here is used
  without trusting the repository, while one that arrived with a clone is not.

An editor can speak for its own windows: the language server passes VS Code's workspace trust
with ``set_editor_trust``, which then decides for that folder in this process.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Iterable, Optional

CONFIG_HOME_ENV = "CODEINTEL_CONFIG_HOME"
TRUST_FILE, MODELS_FILE, USER_CONFIG = "trusted.json", "models.json", "config.toml"
STAMPED_FILES = ("model.safetensors", "config.json")   # what decides what a model does

_editor_trust: dict[Path, bool] = {}
_lock = threading.Lock()


def config_home() -> Path:
    """The user's codeintel configuration folder (it may not exist yet)."""
    override = os.environ.get(CONFIG_HOME_ENV)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg) if xdg else Path.home() / ".config") / "codeintel"


def user_config_path() -> Path:
    return config_home() / USER_CONFIG


def _resolved(path: os.PathLike | str) -> Path:
    return Path(path).expanduser().resolve()


def _read(name: str) -> dict:
    try:
        data = json.loads((config_home() / name).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(name: str, data: dict) -> None:
    """Replace the user's ``name`` atomically (a temporary file renamed over it)."""
    import tempfile

    home = config_home()
    home.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=home)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
        os.replace(tmp, home / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ------------------------------------------------------------------------------ folders
def trusted_folders() -> list[Path]:
    folders = _read(TRUST_FILE).get("folders", [])
    return [Path(f) for f in folders if isinstance(f, str)]


def trust(path: os.PathLike | str) -> Path:
    """Trust ``path`` (and everything below it); returns it resolved."""
    folder = _resolved(path)
    with _lock:
        folders = [str(f) for f in trusted_folders() if f != folder] + [str(folder)]
        _write(TRUST_FILE, {**_read(TRUST_FILE), "folders": sorted(folders)})
    return folder


def revoke(path: os.PathLike | str) -> bool:
    """Stop trusting ``path`` itself; True when it was trusted."""
    folder = _resolved(path)
    with _lock:
        folders = trusted_folders()
        if folder not in folders:
            return False
        _write(TRUST_FILE, {**_read(TRUST_FILE), "folders": sorted(str(f) for f in folders if f != folder)})
    return True


def trusted_by(path: os.PathLike | str) -> Optional[Path]:
    """The trusted folder at or above ``path`` that trusts it, or None."""
    here = _resolved(path)
    for folder in trusted_folders():
        if here == folder or folder in here.parents:
            return folder
    return None


def set_editor_trust(root: os.PathLike | str, trusted: Optional[bool]) -> None:
    """What the editor says of the folder ``root`` (VS Code's workspace trust); None forgets it."""
    with _lock:
        if trusted is None:
            _editor_trust.pop(_resolved(root), None)
        else:
            _editor_trust[_resolved(root)] = bool(trusted)


def is_trusted(root: Optional[os.PathLike | str]) -> bool:
    """Whether the repository at ``root`` may choose its own backends, models and merge threshold:
    the editor's word for that folder when it gave one, else ``codeintel trust``."""
    if root is None:
        return False
    here = _resolved(root)
    for folder, trusted in _editor_trust.items():
        if here == folder or folder in here.parents:
            return trusted
    return trusted_by(here) is not None


def untrusted_note(root: os.PathLike | str, what: Iterable[str]) -> str:
    """The one line that says what of an untrusted repository was ignored, and how to change it."""
    return (f"{root} is not trusted: ignored its {', '.join(what)}; `codeintel trust {root}` trusts it, "
            f"or set these in {user_config_path()}")


# ------------------------------------------------------------------------------ models made here
def _stamp(folder: Path) -> Optional[list]:
    out = []
    for name in STAMPED_FILES:
        try:
            st = (folder / name).lstat()
        except OSError:
            out.append(None)
            continue
        out.append([st.st_ino, st.st_size, st.st_mtime_ns])
    return out if out[0] is not None else None


def record_own_model(folder: os.PathLike | str) -> None:
    """Remember that this user saved the model in ``folder`` (called by ``save_model``)."""
    path = _resolved(folder)
    stamp = _stamp(path)
    if stamp is None:
        return
    with _lock:
        data = _read(MODELS_FILE)
        models = {k: v for k, v in data.get("models", {}).items() if Path(k).exists()}
        models[str(path)] = stamp
        _write(MODELS_FILE, {**data, "models": models})


def is_own_model(folder: os.PathLike | str) -> bool:
    """Whether ``folder`` holds, unchanged, a model this user saved."""
    path = _resolved(folder)
    recorded = _read(MODELS_FILE).get("models", {}).get(str(path))
    return recorded is not None and recorded == _stamp(path)
