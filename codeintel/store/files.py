"""Where codeintel keeps its files: a repository's ``.codeintel/`` folder, checked before use,
and the one way to write into it.

A cloned repository may commit ``.codeintel/`` itself, with symbolic links in it
(``report.html.tmp`` -> ``~/.bashrc``, ``index.db`` -> another project's index, the folder
itself -> somewhere else): a write through such a link changes a file outside the repository.
So a ``.codeintel`` that is a link, or holds one, is refused with ``UnsafeStore`` (a
``StoreError``: the CLI's exit code 3) before anything is opened or written; and every write
below it goes to a fresh temporary file in the same folder (``mkstemp``: created with O_EXCL,
never an existing name) that ``os.replace`` puts in place, which replaces a link rather than
following it. The check costs a few ``lstat``s and two levels of ``scandir``: the folder is
small, and deeper writes check their own path.
"""
from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Iterator

from ..display import printable
from .errors import StoreError

STORE_DIR = ".codeintel"
DB_NAME = "index.db"
DB_SIDE_FILES = ("-wal", "-shm", "-journal")


class UnsafeStore(StoreError):
    """A symbolic link where codeintel keeps its files (the message names it, in one line)."""

    def __init__(self, link: os.PathLike | str):
        super().__init__(f"{printable(link)} is a symbolic link; codeintel does not read or write its files "
                         f"through links in {STORE_DIR}/ (a repository could point them outside itself): "
                         "remove it")
        self.link = Path(link)


def _is_link(path: Path) -> bool:
    try:
        return stat.S_ISLNK(os.lstat(path).st_mode)
    except OSError:
        return False


def check_store_dir(root: os.PathLike | str) -> None:
    """Refuse (``UnsafeStore``) a ``root/.codeintel`` that is a symbolic link or holds one in
    its first two levels; a missing folder is fine."""
    folder = Path(root) / STORE_DIR
    if _is_link(folder):
        raise UnsafeStore(folder)
    _check_entries(folder, depth=2)


def _check_entries(folder: Path, depth: int) -> None:
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        if entry.is_symlink():
            raise UnsafeStore(entry.path)
        if depth > 1 and entry.is_dir(follow_symlinks=False):
            _check_entries(Path(entry.path), depth - 1)


def check_db_path(db: os.PathLike | str) -> None:
    """Before SQLite opens ``db``: its folder checked when it is a ``.codeintel`` folder, and
    the database and its side files (``-wal``, ``-shm``) never links."""
    db = Path(db)
    if db.parent.name == STORE_DIR:
        check_store_dir(db.parent.parent)
    for path in (db, *(Path(str(db) + side) for side in DB_SIDE_FILES)):
        if _is_link(path):
            raise UnsafeStore(path)


def check_store_path(path: os.PathLike | str) -> None:
    """Refuse ``path`` when it lies below a ``.codeintel`` folder and it, or a folder between
    it and ``.codeintel`` (that one included), is a symbolic link. Paths elsewhere (a user's
    ``--output``) are the user's own choice and are not checked."""
    path = Path(os.path.abspath(path))
    parts = path.parts
    if STORE_DIR not in parts[:-1] and path.name != STORE_DIR:
        return
    top = len(parts) - 1 - parts[::-1].index(STORE_DIR)
    for end in range(top + 1, len(parts) + 1):
        if _is_link(Path(*parts[:end])):
            raise UnsafeStore(Path(*parts[:end]))


@contextlib.contextmanager
def atomic_path(path: os.PathLike | str, keep_mode: bool = False) -> Iterator[Path]:
    """The name of a fresh, empty temporary file in ``path``'s folder to write ``path``'s new
    content to (for writers that take a file name), put in place with ``os.replace`` when the
    block ends without an error (removed otherwise). Below ``.codeintel`` a link on the way is
    refused (``check_store_path``); missing folders are made. ``keep_mode`` keeps the
    permissions of the file replaced."""
    path = Path(path)
    check_store_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = None
    if keep_mode:
        with contextlib.suppress(OSError):
            mode = stat.S_IMODE(os.stat(path).st_mode)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_output(path: os.PathLike | str, keep_mode: bool = False, sync: bool = False) -> Iterator[BinaryIO]:
    """A binary file to write ``path``'s new content to (``atomic_path``); ``sync`` flushes it
    to the disk before it replaces ``path``."""
    with atomic_path(path, keep_mode=keep_mode) as tmp, open(tmp, "wb") as fh:
        yield fh
        if sync:
            fh.flush()
            os.fsync(fh.fileno())


def write_bytes_atomic(path: os.PathLike | str, data: bytes, keep_mode: bool = False, sync: bool = False) -> None:
    """Replace ``path``'s content with ``data`` at once (``atomic_output``)."""
    with atomic_output(path, keep_mode=keep_mode, sync=sync) as fh:
        fh.write(data)


def write_text_atomic(path: os.PathLike | str, text: str, encoding: str = "utf-8") -> None:
    """Replace ``path``'s content with ``text`` at once (``atomic_output``)."""
    write_bytes_atomic(path, text.encode(encoding))
