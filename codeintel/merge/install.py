"""`codeintel install-merge-driver`: the git config and .gitattributes lines that route
merges through ``codeintel merge-driver``."""
from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from indexer.gitcmd import run_git

from codeintel.display import printable

DRIVER_NAME = "codeintel"
ATTRIBUTE_LINE = f"* merge={DRIVER_NAME}"


class InstallError(ValueError):
    """The driver cannot be installed there (one line saying why; the CLI's exit code 2)."""


def driver_command() -> str:
    """The command git runs: this Python's codeintel, so it works outside an activated venv."""
    return f"{shlex.quote(sys.executable)} -m codeintel merge-driver %O %A %B %L %P"


def _git_config(args: list[str], cwd: Path) -> None:
    run_git("config", *args, cwd=cwd, check=True, capture_output=True, timeout=30)


def _append_line(path: Path, line: str) -> bool:
    """Add ``line`` to the attributes file ``path`` unless it is there; the file is replaced
    atomically, and never written through a symbolic link (a repository could commit
    ``.gitattributes`` as a link to a file outside it)."""
    from codeintel.store.files import write_bytes_atomic

    if path.is_symlink():
        raise InstallError(f"{printable(path)} is a symbolic link; codeintel does not write through it: add the "
                           f"line '{line}' to the file it points to yourself")
    existing = path.read_text("utf-8") if path.exists() else ""
    if line in existing.splitlines():
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    text = existing + ("\n" if existing and not existing.endswith("\n") else "") + line + "\n"
    write_bytes_atomic(path, text.encode("utf-8"), keep_mode=True)
    if not existing:
        os.chmod(path, 0o644)      # a new file: readable like any other in the work tree
    return True


def install(repo: Path, global_: bool) -> list[str]:
    scope = ["--global"] if global_ else []
    if not global_:
        top = run_git("rev-parse", "--show-toplevel", cwd=repo, capture_output=True, text=True)
        if top.returncode != 0:
            raise InstallError(f"{repo}: not inside a git repository (use --global for all repositories)")
        repo = Path(top.stdout.strip())
    _git_config([*scope, f"merge.{DRIVER_NAME}.name", "codeintel learned merge (MergeBERT)"], repo)
    _git_config([*scope, f"merge.{DRIVER_NAME}.driver", driver_command()], repo)
    if global_:
        configured = run_git("config", "--global", "core.attributesFile", capture_output=True,
                             text=True).stdout.strip()
        xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
        attributes = Path(os.path.expanduser(configured)) if configured else Path(xdg) / "git" / "attributes"
    else:
        attributes = repo / ".gitattributes"
    added = _append_line(attributes, ATTRIBUTE_LINE)
    return [f"git config{' --global' if global_ else ''} merge.{DRIVER_NAME}.driver '{driver_command()}'",
            f"{attributes}: {'added' if added else 'already has'} '{ATTRIBUTE_LINE}'"]
