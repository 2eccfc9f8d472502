"""Reading submissions (and starter code) from disk for ``codeintel plagiarism``, as untrusted
input: what one submission is, which of its files are read, and what is skipped and why.

A submission is one entry (file or folder) of a folder the user named. Inside it nothing
leads outside: symbolic links, files or folders, are never followed (each one is listed as
skipped, never read), and only regular files are read (a FIFO or a device would block or
never end), each opened without following a link, relative to its already opened folder.
The folder the user typed, or a ``--template`` path, may itself be a link (as ``ls`` follows
one): the user chose it.

What is read is bounded: a file over ``MAX_FILE_BYTES``, the files of a submission past
``MAX_SUBMISSION_FILES`` or ``MAX_SUBMISSION_BYTES``, the entries past ``MAX_WALK_ENTRIES``
and folders deeper than ``MAX_DEPTH`` are skipped with a reason; past ``MAX_TOTAL_BYTES`` in
all the run stops with a ``SubmissionError``.
"""
from __future__ import annotations

import errno
import os
import stat
from itertools import islice
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from indexer.files import DEFAULT_MAX_FILE_SIZE

from .fingerprints import DEFAULT_K, DEFAULT_WINDOW
from .fragments import Document
from .tokens import language_of

MAX_FILE_BYTES = DEFAULT_MAX_FILE_SIZE      # the indexer's limit, 1 MiB
MAX_SUBMISSION_FILES = 1000
MAX_SUBMISSION_BYTES = 8 << 20
MAX_WALK_ENTRIES = 20_000                   # files and folders looked at in one submission
MAX_DEPTH = 32
MAX_TOTAL_BYTES = 256 << 20
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", "node_modules", ".codeintel", ".venv", "venv", ".idea", ".vscode"}
LINK = "symbolic link (not followed)"
_READ_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)


class SubmissionError(ValueError):
    """Bad input: a folder that does not exist, nothing to compare, too much to read."""


@dataclass
class Submission:
    name: str
    docs: list
    origin: str = "new"          # new | archive

    @property
    def tokens(self) -> int:
        return sum(d.counted_tokens for d in self.docs)


@dataclass
class Skipped:
    """A path (as shown: relative to the named folder's parent) that was not read, and why."""
    path: str
    reason: str

    def as_dict(self) -> dict:
        return {"path": self.path, "reason": self.reason}


class _Reader:
    """The files of one submission, read within its limits; ``skipped`` collects the rest."""

    def __init__(self, skipped: list, budget: list):
        self.skipped, self.budget = skipped, budget   # budget: [bytes left in the whole run]
        self.files: list = []                        # (shown path, bytes)
        self.bytes = self.entries = self.over = 0

    def _full(self) -> bool:
        return len(self.files) >= MAX_SUBMISSION_FILES or self.bytes >= MAX_SUBMISSION_BYTES

    def read(self, shown: str, name: str, dir_fd: Optional[int], follow: bool = False) -> None:
        """Read one file (``name`` relative to ``dir_fd``), never through a link unless ``follow``."""
        try:
            st = os.stat(name, dir_fd=dir_fd, follow_symlinks=follow)
        except OSError as exc:
            return self.skipped.append(Skipped(shown, f"unreadable: {exc.strerror or exc}"))
        if stat.S_ISLNK(st.st_mode):
            return self.skipped.append(Skipped(shown, LINK))
        if not stat.S_ISREG(st.st_mode):
            return self.skipped.append(Skipped(shown, "not a regular file"))
        if st.st_size > MAX_FILE_BYTES:
            return self.skipped.append(Skipped(shown, f"over the size limit ({st.st_size:,} bytes > "
                                                      f"{MAX_FILE_BYTES:,})"))
        if self._full():
            self.over += 1
            return None
        flags = _READ_FLAGS & ~(getattr(os, "O_NOFOLLOW", 0) if follow else 0)
        try:
            fd = os.open(name, flags, dir_fd=dir_fd)
        except OSError as exc:   # ELOOP: it became a link since the stat
            reason = LINK if exc.errno == errno.ELOOP else f"unreadable: {exc.strerror or exc}"
            return self.skipped.append(Skipped(shown, reason))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):   # replaced since the stat
                return self.skipped.append(Skipped(shown, "not a regular file"))
            with os.fdopen(fd, "rb", closefd=False) as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            return self.skipped.append(Skipped(shown, f"unreadable: {exc.strerror or exc}"))
        finally:
            os.close(fd)
        if len(data) > MAX_FILE_BYTES:
            return self.skipped.append(Skipped(shown, f"over the size limit (> {MAX_FILE_BYTES:,} bytes)"))
        if b"\0" in data[:8192]:
            return None   # binary: not a source file (as before, not worth a line)
        self.budget[0] -= len(data)
        if self.budget[0] < 0:
            raise SubmissionError(f"the submissions hold more than {MAX_TOTAL_BYTES >> 20} MiB of source files: "
                                  "compare fewer at once")
        self.files.append((shown, data))
        self.bytes += len(data)

    def walk(self, shown: str, dir_fd: int, depth: int = 0) -> None:
        """The files of an opened folder (its own files first, then its sub-folders, by name)."""
        if self.entries > MAX_WALK_ENTRIES:
            return None
        try:   # a folder of a million entries is not listed in full
            with os.scandir(dir_fd) as found:
                entries = sorted(islice(found, MAX_WALK_ENTRIES - self.entries + 1), key=lambda e: e.name)
        except OSError as exc:
            return self.skipped.append(Skipped(shown, f"unreadable: {exc.strerror or exc}"))
        folders = []
        for entry in entries:
            self.entries += 1
            if self.entries > MAX_WALK_ENTRIES:
                return None
            if entry.name.startswith(".") or entry.name in SKIP_DIRS:
                continue
            child = f"{shown}/{entry.name}"
            if entry.is_symlink():
                self.skipped.append(Skipped(child, LINK))
            elif entry.is_dir(follow_symlinks=False):
                folders.append((child, entry.name))
            else:
                self.read(child, entry.name, dir_fd)
        for child, name in folders:
            if depth + 1 > MAX_DEPTH:
                self.skipped.append(Skipped(child, f"deeper than {MAX_DEPTH} folders"))
                continue
            try:
                fd = os.open(name, _DIR_FLAGS | getattr(os, "O_NOFOLLOW", 0), dir_fd=dir_fd)
            except OSError as exc:
                self.skipped.append(Skipped(child, f"unreadable: {exc.strerror or exc}"))
                continue
            try:
                self.walk(child, fd, depth + 1)
            finally:
                os.close(fd)

    def limits_note(self, shown: str) -> None:
        if self.over:
            self.skipped.append(Skipped(shown, f"over {MAX_SUBMISSION_FILES:,} files or "
                                               f"{MAX_SUBMISSION_BYTES >> 20} MiB: {self.over:,} more files not read"))
        if self.entries > MAX_WALK_ENTRIES:
            self.skipped.append(Skipped(shown, f"over {MAX_WALK_ENTRIES:,} files and folders: the rest not read"))


def _shown(folder: Path, name: str) -> str:
    """How ``name`` in ``folder`` is shown: relative to the folder's parent (``subs/alice``)."""
    return f"{folder.name}/{name}" if folder.name else name


def _documents(files: list, k: int, window: int) -> list:
    """Files of a known language; if there are none, every text file (plain tokens)."""
    typed = [(shown, data, language_of(shown, data)) for shown, data in files]
    chosen = [x for x in typed if x[2]] or typed
    return [Document.from_text(shown, data, lang, k, window) for shown, data, lang in chosen]


def _entry_documents(shown: str, name: str, dir_fd: Optional[int], skipped: list, budget: list,
                     k: int, window: int, follow: bool = False) -> list:
    """The Documents of one file or folder ``name`` (relative to ``dir_fd``)."""
    reader = _Reader(skipped, budget)
    try:
        st = os.stat(name, dir_fd=dir_fd, follow_symlinks=follow)
    except OSError as exc:
        skipped.append(Skipped(shown, f"unreadable: {exc.strerror or exc}"))
        return []
    if stat.S_ISLNK(st.st_mode):
        skipped.append(Skipped(shown, LINK))
        return []
    if not stat.S_ISDIR(st.st_mode):
        reader.read(shown, name, dir_fd, follow)
    else:
        try:
            fd = os.open(name, _DIR_FLAGS | (0 if follow else getattr(os, "O_NOFOLLOW", 0)), dir_fd=dir_fd)
        except OSError as exc:
            skipped.append(Skipped(shown, f"unreadable: {exc.strerror or exc}"))
            return []
        try:
            reader.walk(shown, fd)
        finally:
            os.close(fd)
    reader.limits_note(shown)
    return _documents(reader.files, k, window)


def load_submissions(folders: Iterable[str], k: int = DEFAULT_K, window: int = DEFAULT_WINDOW,
                     skipped: Optional[list] = None) -> list:
    """Each entry (file or sub-folder) of each folder is one submission, named by its path
    relative to the folder's parent; what is not read is added to ``skipped``."""
    skipped = [] if skipped is None else skipped
    budget = [MAX_TOTAL_BYTES]
    subs = []
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            raise SubmissionError(f"{folder}: no such directory")
        try:
            dir_fd = os.open(root, _DIR_FLAGS)
        except OSError as exc:
            raise SubmissionError(f"{folder}: cannot read it ({exc.strerror or exc})") from None
        try:
            with os.scandir(dir_fd) as found:
                entries = sorted(found, key=lambda e: e.name)
            for entry in entries:
                if entry.name.startswith(".") or entry.name in SKIP_DIRS:
                    continue
                name = _shown(root, entry.name)
                docs = _entry_documents(name, entry.name, dir_fd, skipped, budget, k, window)
                if docs:
                    subs.append(Submission(name, docs))
        finally:
            os.close(dir_fd)
    return subs


def template_hashes(paths: Iterable[str], k: int = DEFAULT_K, window: int = DEFAULT_WINDOW,
                    skipped: Optional[list] = None) -> set:
    """The fingerprints of starter code (files or folders; links inside a folder not followed)."""
    skipped = [] if skipped is None else skipped
    budget = [MAX_TOTAL_BYTES]
    hashes: set = set()
    for p in paths:
        path = Path(p)
        if not path.exists():
            raise SubmissionError(f"{p}: no such file or directory")
        shown = path.name or path.as_posix()
        for doc in _entry_documents(shown, str(path), None, skipped, budget, k, window, follow=True):
            hashes.update(int(h) for h in doc.prints.hashes)
    return hashes
