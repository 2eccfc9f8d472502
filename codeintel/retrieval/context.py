"""What held-out evaluations share: a repository's source files, an indexed copy of it without
the held-out ones (so nothing of a held-out file can leak into retrieval; or of files given as
texts), the store of a context directory, and case files (JSONL, one object a line)."""
from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Iterable, Iterator, Optional


def source_files(root: Path, suffixes: Optional[tuple[str, ...]] = (".py",)) -> list[str]:
    """The repository's files (git's list in a work tree, else a walk), ending in ``suffixes``
    (None: all)."""
    from indexer.files import list_files

    paths, _ = list_files(root)
    return sorted(p for p in paths if (suffixes is None or p.endswith(suffixes))
                  and not p.startswith(".codeintel/"))


def _index_copy(copy: Path) -> Path:
    from indexer.pipeline import index_repository

    copy.mkdir(parents=True, exist_ok=True)
    index_repository(copy, history=False, workers=1)
    return copy


def build_context_copy(root: Path, held_out: Iterable[str], workdir: Path) -> Path:
    """A copy of ``root`` without ``held_out`` (nor .git / .codeintel), indexed without history."""
    held = set(held_out)
    copy = workdir / root.name
    for rel in source_files(root, suffixes=None):
        if rel in held:
            continue
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.copyfile(root / rel, target)
        except OSError:
            continue
    return _index_copy(copy)


def build_context_from_texts(texts: dict[str, str], workdir: Path) -> Path:
    """The files ``texts`` (path -> text) written under ``workdir`` and indexed without history:
    the context copy for callers that hold a repository's files as texts (a store)."""
    copy = workdir / "context"
    for rel, text in texts.items():
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return _index_copy(copy)


@contextlib.contextmanager
def context_store(context_dir: Optional[Path] = None, texts: Optional[dict[str, str]] = None):
    """The open store of ``context_dir``: its own index if it has one, else the index of a
    temporary copy (removed afterwards); or, given ``texts`` (path -> text) instead, the index of
    those files written to a temporary folder."""
    from codeintel.store import Store, store_path

    with tempfile.TemporaryDirectory(prefix="codeintel-eval-") as tmp:
        if texts is not None:
            index = store_path(build_context_from_texts(texts, Path(tmp)))
        else:
            index = store_path(context_dir)
            if not index.is_file():
                index = store_path(build_context_copy(context_dir, (), Path(tmp)))
        with Store.open(index, create=False) as store:
            yield store


def read_jsonl(path: Path, skipped: Optional[list[str]] = None) -> Iterator[tuple[int, object]]:
    """(line number, parsed JSON) of each non-blank line; ValueError naming a line that is not
    JSON, or, given a ``skipped`` list, that line's reason appended to it and the line skipped."""
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except ValueError as exc:
                if skipped is None:
                    raise ValueError(f"{path}:{number}: not JSON ({exc})") from None
                skipped.append(f"{path.name}:{number}: not JSON")


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
