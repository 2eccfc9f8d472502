"""Which files a repository has, and what one file is: the work-tree walk and the per-file
checks (size limit, binary, minified, encoding, symlinks) that decide whether it is parsed.

In a git work tree the listing is git's own (tracked plus untracked-but-not-ignored files),
so ``.gitignore`` is honoured exactly as git does; elsewhere a walk applies the .gitignore
files it finds. Symbolic links are never followed, so link loops cannot trap the walk.
"""
from __future__ import annotations

import hashlib
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from .gitcmd import run_git
from .languages import language_for_path, language_for_shebang
from .languages.spec import LanguageSpec

DEFAULT_MAX_FILE_SIZE = 1 << 20      # 1 MiB
MINIFIED_AVERAGE_LINE = 300          # bytes: average line length of minified/generated code
MINIFIED_LONGEST_LINE = 10_000       # bytes: no hand-written line is this long
UNSUPPORTED = "not a supported language"
ALWAYS_SKIPPED_DIRS = {".git", ".codeintel", ".hg", ".svn"}


def git_blob_id(data: bytes) -> str:
    """The id git gives these bytes as a blob: a free, git-compatible content hash."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def _git(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_git("-C", str(root), *args, capture_output=True, text=True, timeout=30)


def is_git_worktree(root: Path) -> bool:
    """True when ``root`` is inside a git work tree and not itself ignored there (a folder
    that git ignores, indexed on purpose, is walked like a plain folder)."""
    try:
        out = _git(root, "rev-parse", "--is-inside-work-tree")
        if out.returncode != 0 or out.stdout.strip() != "true":
            return False
        return _git(root, "check-ignore", "-q", ".").returncode != 0
    except (OSError, subprocess.SubprocessError):
        return False


def list_files(root: Path) -> tuple[list[str], bool]:
    """Relative '/'-separated paths of the repository's files, and whether git listed them."""
    if is_git_worktree(root):
        try:
            out = run_git("-C", str(root), "-c", "core.quotepath=off", "ls-files", "-z", "--cached",
                          "--others", "--exclude-standard", capture_output=True, timeout=600, check=True)
            paths = sorted({p for p in out.stdout.decode("utf-8", "surrogateescape").split("\0") if p})
            return [p for p in paths if p.split("/", 1)[0] not in ALWAYS_SKIPPED_DIRS], True
        except (OSError, subprocess.SubprocessError):
            pass
    return _walk(root), False


def _walk(root: Path) -> list[str]:
    import pathspec

    found: list[str] = []
    # (relative dir prefix, spec) of every .gitignore above the current folder
    def load_ignore(folder: Path) -> Optional[pathspec.PathSpec]:
        try:
            lines = (folder / ".gitignore").read_text("utf-8", "replace").splitlines()
        except OSError:
            return None
        return pathspec.PathSpec.from_lines("gitwildmatch", lines)

    def ignored(rel: str, is_dir: bool, specs) -> bool:
        for prefix, spec in specs:
            sub = rel[len(prefix):] if prefix else rel
            if spec.match_file(sub + ("/" if is_dir else "")):
                return True
        return False

    def visit(folder: Path, rel: str, specs) -> None:
        own = load_ignore(folder)
        if own is not None:
            specs = specs + [(rel + "/" if rel else "", own)]
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                is_dir = False
            if is_dir:
                if entry.name in ALWAYS_SKIPPED_DIRS or ignored(child_rel, True, specs):
                    continue
                visit(Path(entry.path), child_rel, specs)
            elif not ignored(child_rel, False, specs):
                found.append(child_rel)

    visit(root, "", [])
    return found


@dataclass
class FileCheck:
    """What the per-file checks found: a spec to parse with, or a reason to skip."""
    spec: Optional[LanguageSpec] = None
    reason: Optional[str] = None
    size: Optional[int] = None
    mtime_ns: Optional[int] = None
    data: Optional[bytes] = None
    blob: Optional[str] = None


def check_file(abs_path: str, rel_path: str, max_file_size: int) -> FileCheck:
    """Stat, size-limit, language, read, binary and minified checks for one file."""
    try:
        st = os.lstat(abs_path)
    except OSError as exc:
        return FileCheck(reason=f"unreadable: {exc.strerror or exc}")
    if stat.S_ISLNK(st.st_mode):
        return FileCheck(reason="symbolic link (not followed)", size=st.st_size, mtime_ns=st.st_mtime_ns)
    if not stat.S_ISREG(st.st_mode):
        return FileCheck(reason="not a regular file", mtime_ns=st.st_mtime_ns)
    check = FileCheck(size=st.st_size, mtime_ns=st.st_mtime_ns)
    spec = language_for_path(rel_path)
    has_ext = bool(os.path.splitext(rel_path.rsplit("/", 1)[-1])[1])
    if spec is None and has_ext:
        check.reason = UNSUPPORTED
        return check
    if st.st_size > max_file_size:
        check.reason = f"over the size limit ({st.st_size:,} bytes > {max_file_size:,})"
        return check
    try:
        with open(abs_path, "rb") as fh:
            data = fh.read(max_file_size + 1)
    except OSError as exc:
        check.reason = f"unreadable: {exc.strerror or exc}"
        return check
    if len(data) > max_file_size:  # grew since the stat
        check.reason = f"over the size limit (> {max_file_size:,} bytes)"
        return check
    return check_content(rel_path, data, check, spec)


def check_content(rel_path: str, data: bytes, check: Optional[FileCheck] = None,
                  spec: Optional[LanguageSpec] = None, max_file_size: Optional[int] = None) -> FileCheck:
    """The checks that need only the bytes (language by shebang, binary, minified, and the size
    limit when given): shared by files on disk and an editor's unsaved buffers."""
    check = check or FileCheck(size=len(data))
    spec = spec or language_for_path(rel_path)
    if max_file_size is not None and len(data) > max_file_size:
        check.reason = f"over the size limit ({len(data):,} bytes > {max_file_size:,})"
        return check
    if spec is None:
        spec = language_for_shebang(data[:256].split(b"\n", 1)[0])
        if spec is None:
            check.reason = UNSUPPORTED
            return check
    if b"\0" in data[:8192]:
        check.reason = "binary (NUL bytes)"
        return check
    lines = data.count(b"\n") + 1
    if len(data) > 4096 and (len(data) / lines > MINIFIED_AVERAGE_LINE
                             or max(map(len, data.split(b"\n"))) >= MINIFIED_LONGEST_LINE):
        check.reason = f"minified or generated (average line {len(data) // lines:,} bytes)"
        return check
    check.spec, check.data, check.blob = spec, data, git_blob_id(data)
    return check
