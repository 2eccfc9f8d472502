"""`codeintel install-merge-driver`: the git config and .gitattributes lines that route
merges through ``codeintel merge-driver``.

Only the file types the driver can judge are routed to it: the indexer's languages by
extension (``indexer.languages``), plus the patterns a user adds (``--also '*.ext'``).
Everything else (YAML, Markdown, lock files, ...) keeps git's own merge. A ``* merge=codeintel``
line that an older codeintel wrote is replaced by these lines."""
from __future__ import annotations

import os
import re
import shlex
import sys
from pathlib import Path
from typing import Iterable, Sequence

from indexer.gitcmd import run_git

from codeintel.display import printable

DRIVER_NAME = "codeintel"
ATTRIBUTE = f"merge={DRIVER_NAME}"
LEGACY_LINE = f"* {ATTRIBUTE}"      # what install wrote before it claimed only what it can judge
HEADER = "# codeintel install-merge-driver: the file types the merge driver can judge"
# a pattern the user adds: a gitattributes pattern without spaces, quotes, '#' or '!' at its start
_PATTERN = re.compile(r"^[^\s\"#!\\][^\s\"\\]*$")


class InstallError(ValueError):
    """The driver cannot be installed there (one line saying why; the CLI's exit code 2)."""


def driver_command() -> str:
    """The command git runs: this Python's codeintel, so it works outside an activated venv."""
    return f"{shlex.quote(sys.executable)} -m codeintel merge-driver %O %A %B %L %P"


def judged_patterns() -> list[str]:
    """``*.py``, ``*.go``, ...: one gitattributes pattern per extension of the indexer's languages."""
    from indexer.languages import all_specs

    seen: dict[str, None] = {}
    for spec in all_specs():
        for ext in spec.extensions:
            seen.setdefault(f"*{ext}", None)
    return list(seen)


def check_pattern(pattern: str) -> str:
    """A pattern the user adds with ``--also``; raises InstallError on one git would misread."""
    if not _PATTERN.match(pattern) or pattern == "*":
        raise InstallError(f"--also {printable(pattern)!r}: give a gitattributes pattern such as '*.yaml' "
                           f"(no spaces, quotes or backslashes; '*' would route every file)")
    return pattern


def attribute_lines(also: Sequence[str] = ()) -> list[str]:
    """The .gitattributes lines install writes: the judged extensions, then the user's patterns."""
    patterns = judged_patterns() + [check_pattern(p) for p in also]
    return [f"{p} {ATTRIBUTE}" for p in dict.fromkeys(patterns)]


def _git_config(args: list[str], cwd: Path) -> None:
    run_git("config", *args, cwd=cwd, check=True, capture_output=True, timeout=30)


def _add_lines(path: Path, lines: Iterable[str]) -> tuple[list[str], bool]:
    """Add the ``lines`` missing from the attributes file ``path`` (after a header line) and drop
    the legacy ``* merge=codeintel`` line; the file is replaced atomically, and never written
    through a symbolic link (a repository could commit ``.gitattributes`` as a link to a file
    outside it). Returns the lines added and whether the legacy line was dropped."""
    from codeintel.store.files import write_bytes_atomic

    lines = list(lines)
    if path.is_symlink():
        raise InstallError(f"{printable(path)} is a symbolic link; codeintel does not write through it: add the "
                           f"lines '{lines[0]}' ... ({len(lines)} lines) to the file it points to yourself")
    existing = path.read_text("utf-8") if path.exists() else ""
    present = existing.splitlines()
    legacy = LEGACY_LINE in (line.strip() for line in present)
    kept = [line for line in present if line.strip() != LEGACY_LINE]
    missing = [line for line in lines if line not in kept]
    if not missing and not legacy:
        return [], False
    if missing and HEADER not in kept:
        missing.insert(0, HEADER)
    text = "".join(line + "\n" for line in kept + missing)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(path, text.encode("utf-8"), keep_mode=True)
    if not existing:
        os.chmod(path, 0o644)      # a new file: readable like any other in the work tree
    return [line for line in missing if line != HEADER], legacy


def install(repo: Path, global_: bool, also: Sequence[str] = ()) -> list[str]:
    """Register the driver with git (the repository's config, or the user's with ``global_``)
    and route the judged file types, plus ``also``, to it; returns what was done, one line each."""
    lines = attribute_lines(also)
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
    added, legacy = _add_lines(attributes, lines)
    report = [f"git config{' --global' if global_ else ''} merge.{DRIVER_NAME}.driver '{driver_command()}'"]
    if legacy:
        report.append(f"{printable(str(attributes))}: replaced '{LEGACY_LINE}' (every file) by the file types "
                      f"the driver can judge")
    patterns = " ".join(line.split()[0] for line in lines)
    report.append(f"{printable(str(attributes))}: {'added' if added else 'already has'} '{ATTRIBUTE}' for "
                  f"{patterns}; other files keep git's own merge (add more with --also '*.ext')")
    return report
