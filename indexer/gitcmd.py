"""How codeintel runs git: this module owns the one place every git child process is started
from (directly, or through GitPython), so that a repository's own configuration cannot make
git run a program of its choosing while codeintel reads it.

A repository's ``.git/config`` is not under the user's control when the folder was copied,
unpacked from an archive or handed in as a submission: ``core.fsmonitor`` set to a command makes
git run that command on every index read (``ls-files``, ``check-ignore``, ``diff``, ``status``),
and ``core.hooksPath`` points hooks anywhere. Every git that codeintel starts gets both
neutralised, on its command line (``-c``, which wins over every configuration file) and in its
environment (``GIT_CONFIG_COUNT`` entries, git 2.31+), so the git processes GitPython starts
on its own (object database, ``cat-file``) are covered too. Settings already in the
environment (``GIT_CONFIG_COUNT`` / ``GIT_CONFIG_KEY_n``) are kept; ours are appended after them.

A command that reads work-tree files through ``.gitattributes`` (``git diff`` against the work
tree runs ``filter.<name>.clean``) also gets ``repository_filters_off(root)``: every filter that
the repository's own configuration defines is switched off for it (the user's global and system
filters, git-lfs say, stay). Such commands also pass ``--no-ext-diff`` and ``--no-textconv``.
"""
from __future__ import annotations

import os
import subprocess
from typing import Mapping, Optional, Sequence

SAFE_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.fsmonitor", "false"),       # never run the repository's file-system monitor command
    ("core.hooksPath", os.devnull),    # never run hooks from wherever the config points
)


def safe_options() -> list[str]:
    """``-c key=value`` switches that go right after ``git`` on a command line."""
    return [arg for key, value in SAFE_CONFIG for arg in ("-c", f"{key}={value}")]


def safe_env(env: Optional[Mapping[str, str]] = None,
             config: Sequence[tuple[str, str]] = ()) -> dict[str, str]:
    """``env`` (default: this process's environment) with ``SAFE_CONFIG`` and ``config``
    appended as ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` entries, for every git child process."""
    out = dict(os.environ if env is None else env)
    try:
        count = max(int(out.get("GIT_CONFIG_COUNT", "0")), 0)
    except ValueError:
        count = 0
    for key, value in (*SAFE_CONFIG, *config):
        out[f"GIT_CONFIG_KEY_{count}"] = key
        out[f"GIT_CONFIG_VALUE_{count}"] = value
        count += 1
    out["GIT_CONFIG_COUNT"] = str(count)
    return out


def git_command(*args: str, exe: str = "git") -> list[str]:
    """The argv of ``git ARGS`` with the safe options in front."""
    return [exe, *safe_options(), *args]


def run_git(*args: str, env: Optional[Mapping[str, str]] = None, config: Sequence[tuple[str, str]] = (),
            **kwargs) -> subprocess.CompletedProcess:
    """``subprocess.run`` of ``git ARGS`` with the safe options and environment (plus ``config``
    pairs); keyword arguments (``cwd``, ``capture_output``, ``text``, ``timeout``, ``check``...)
    pass through."""
    return subprocess.run(git_command(*args), env=safe_env(env, config), **kwargs)


def repository_filters_off(root) -> list[tuple[str, str]]:
    """Config pairs that switch off every clean/smudge/process filter defined by the repository's
    own configuration (scope local or worktree, includes followed) at ``root``: for commands that
    run filters on work-tree files. Reading the configuration runs nothing."""
    try:
        out = run_git("-C", str(root), "config", "-z", "--show-scope", "--get-regexp",
                      r"^filter\..+\.(clean|smudge|process)$", capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return []
    fields = out.stdout.decode("utf-8", "surrogateescape").split("\0")
    names = sorted({entry.split("\n", 1)[0].rsplit(".", 1)[0]
                    for scope, entry in zip(fields[0::2], fields[1::2]) if scope in ("local", "worktree")})
    return [(f"{name}.{var}", value) for name in names
            for var, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false"))]


def guard_repo(repo) -> None:
    """Make every git that a GitPython ``Repo`` starts from now on run with the safe settings."""
    base = {k: v for k, v in os.environ.items() if k.startswith("GIT_CONFIG_")}
    base.update({k: v for k, v in repo.git.environment().items() if k.startswith("GIT_CONFIG_")})
    added = {k: v for k, v in safe_env(base).items() if k.startswith("GIT_CONFIG_")}
    repo.git.update_environment(**added)
