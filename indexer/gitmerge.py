"""git's own line-level three-way merge of three byte strings (``git merge-file`` on temp
files): used by history mining (does a past merge conflict?) and by the merge driver
(git's textual result, and the fallback that never loses work)."""
from __future__ import annotations

import os
import subprocess
import tempfile
from typing import Optional

from .gitcmd import git_command, safe_env

LABELS = ("ours", "base", "theirs")


class MergeFileError(RuntimeError):
    pass


def git_merge_file(ours: bytes, base: bytes, theirs: bytes, *, style: str = "merge", marker_size: int = 7,
                   labels: tuple[str, str, str] = LABELS, folder: Optional[str] = None) -> tuple[bytes, int]:
    """(merged text with git's conflict markers, number of conflicts). ``style`` is merge,
    diff3 or zdiff3; ``folder`` is a scratch directory to reuse (a fresh one otherwise)."""
    if folder is None:
        with tempfile.TemporaryDirectory(prefix="codeintel-merge-") as tmp:
            return git_merge_file(ours, base, theirs, style=style, marker_size=marker_size, labels=labels,
                                  folder=tmp)
    paths = []
    for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
        path = os.path.join(folder, name)
        with open(path, "wb") as fh:
            fh.write(data)
        paths.append(path)
    args = git_command("merge-file", "-p", f"--marker-size={marker_size}")
    if style in ("diff3", "zdiff3"):
        args.append(f"--{style}")
    for label in labels:
        args += ["-L", label]
    env = safe_env({k: v for k, v in os.environ.items() if not k.startswith("GIT_")})
    proc = subprocess.run(args + paths, capture_output=True, timeout=120, env=env)
    if proc.returncode < 0 or proc.returncode > 127:
        raise MergeFileError(f"git merge-file failed: {proc.stderr.decode('utf-8', 'replace').strip()}")
    return proc.stdout, proc.returncode
