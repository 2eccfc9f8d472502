"""Training and evaluation data for sketch-based generation, mined from the store.

- ``module_split``: held-out files by module (a file's directory, or a top-level file on its
  own), seeded; the same share and seed give the same split in ``train`` and ``eval``.
- ``Case``: one function to write: its requirement (docstring), signature, the file's text
  before it and the function as written (the ``--cases`` JSONL format of ``eval sketch``).
- ``cases_from_store`` / ``cases_from_files``: the documented functions of indexed files, or
  of files read through the indexer's single-file API (held-out files are not in the index).
- ``mine_triples``: (case, exemplar) pairs: each case's best retrieved function from the
  OTHER files of the store (never its own file, never a held-out file).
"""
from __future__ import annotations

import random
import textwrap
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, Sequence

from .pysource import FunctionParts, split_function

MAX_BODY_CHARS = 1500


@dataclass
class Case:
    path: str
    requirement: str          # the docstring (or comment) in natural language
    signature: str            # 'def name(args) -> ret' (no ':')
    prefix: str               # the file's text before the function
    target: str               # the function as written
    id: str = ""

    def query(self) -> str:
        """What the retriever and the models read: the signature, then the requirement."""
        return requirement_text(self.requirement, self.signature)

    def parts(self) -> Optional[FunctionParts]:
        return split_function(self.target)

    def to_json(self) -> dict:
        return asdict(self)


def requirement_text(requirement: str, signature: Optional[str]) -> str:
    return f"{signature.strip()}\n{requirement.strip()}" if signature else requirement.strip()


def module_of(path: str) -> str:
    parts = path.split("/")
    return "/".join(parts[:-1]) if len(parts) > 1 else path


def module_split(paths: Sequence[str], share: float, seed: int) -> set[str]:
    """The held-out files: a seeded ``share`` of the modules (all files of each), at least one
    module and never all; by file when there are fewer than four modules."""
    paths = sorted(paths)
    modules = sorted({module_of(p) for p in paths})
    rng = random.Random(seed)
    if len(modules) < 4:
        count = max(1, min(len(paths) - 1, round(len(paths) * share)))
        return set(rng.sample(paths, count)) if len(paths) > 1 else set()
    count = max(1, min(len(modules) - 1, round(len(modules) * share)))
    held = set(rng.sample(modules, count))
    return {p for p in paths if module_of(p) in held}


def _usable(parts: Optional[FunctionParts]) -> bool:
    return parts is not None and bool(parts.doc) and parts.body.strip() not in ("", "...", "pass") \
        and len(parts.body) <= MAX_BODY_CHARS


def cases_from_store(store, paths: Optional[Iterable[str]] = None) -> list[Case]:
    """A case for each documented function (with a real body) of the indexed ``paths`` (all)."""
    wanted = set(paths) if paths is not None else None
    cases, content, current = [], b"", None
    for row in store.documented_functions():
        if wanted is not None and row["path"] not in wanted:
            continue
        if row["path"] != current:
            current, content = row["path"], store.file_content(row["path"]) or b""
        case = _case(row["path"], content, row["start_byte"], row["end_byte"], row["signature"], row["start_line"])
        if case is not None:
            cases.append(case)
    return cases


def cases_from_files(root: Path, paths: Iterable[str]) -> list[Case]:
    """Cases from files read by the indexer's single-file API (not from the store)."""
    from indexer.pipeline import index_file

    cases = []
    for rel in sorted(paths):
        record = index_file(root, rel)
        facts = getattr(record, "facts", None)
        content = getattr(record, "content", None)
        if facts is None or content is None:
            continue
        for sym in facts.symbols:
            if sym.kind in ("function", "method") and sym.doc:
                case = _case(rel, content, sym.start_byte, sym.end_byte, sym.signature, sym.start_line)
                if case is not None:
                    cases.append(case)
    return cases


def _case(path: str, content: bytes, start: int, end: int, signature: str, line: int) -> Optional[Case]:
    line_start = content.rfind(b"\n", 0, start) + 1
    if content[line_start:start].strip():
        line_start = start
    text = textwrap.dedent(content[line_start:end].decode("utf-8", "replace"))
    parts = split_function(text)
    if not _usable(parts):
        return None
    prefix = content[:line_start].decode("utf-8", "replace")
    return Case(path, parts.doc, signature, prefix, text, id=f"{path}:{line}")


def read_cases(path: Path, skipped: Optional[list[str]] = None) -> list[Case]:
    """Cases from a JSONL file; ValueError naming the bad line, or, given a ``skipped`` list,
    why that line cannot be used appended to it and the line skipped."""
    from codeintel.retrieval.context import read_jsonl

    cases = []
    for number, data in read_jsonl(path, skipped):
        try:
            case = Case(str(data["path"]), str(data["requirement"]), str(data.get("signature") or ""),
                        str(data.get("prefix") or ""), str(data["target"]),
                        id=str(data.get("id") or f"{path.name}:{number}"))
            problem = None if case.parts() is not None else "the target is not a Python function"
        except (KeyError, TypeError, AttributeError) as exc:
            problem = (f"not a sketch case ({type(exc).__name__}: {exc}); each line needs path, requirement, "
                       f"signature, prefix and target")
        if problem and skipped is not None:
            skipped.append(f"{path.name}:{number}: {problem}")
            continue
        if problem:
            raise ValueError(f"{path}:{number}: {problem}")
        cases.append(case)
    return cases


def write_cases(path: Path, cases: Sequence[Case]) -> None:
    from codeintel.retrieval.context import write_jsonl

    write_jsonl(path, (case.to_json() for case in cases))


@dataclass
class Triple:
    case: Case
    exemplar: object            # retrieve.Retrieved


def mine_triples(store, cases: Sequence[Case], *, dense=None, exclude_paths: Iterable[str] = (),
                 progress: Optional[Callable[[int, int], None]] = None) -> list[Triple]:
    """Each case with its best retrieved function from the other files (cases without one are left out)."""
    from .retrieve import retrieve

    excluded = set(exclude_paths)
    out = []
    for n, case in enumerate(cases):
        found = retrieve(store, case.query(), k=1, dense=dense, exclude_paths=excluded | {case.path}, pool=8)
        if found:
            out.append(Triple(case, found[0]))
        if progress:
            progress(n + 1, len(cases))
    return out
