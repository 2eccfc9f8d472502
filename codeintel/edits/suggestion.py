"""What the edits feature proposes, and how a proposal is written to disk safely.

A ``Suggestion`` replaces one function's text in one file: its byte span and 1-based lines,
the old and new text, a confidence, where it came from, and the sha256 of the file's bytes it
was computed on. ``apply_suggestions`` writes the chosen ones, never touching a file whose
bytes changed since (the hash no longer matches) and writing each file atomically; a suggestion
for a file outside the repository (after resolving links), for a symbolic link, or inside
``.git``/``.codeintel`` is refused (``UnsafeSuggestion``) before anything is written: suggestions
can come from a saved file that a repository may have committed.

``functions_of(data, language)`` lists a source's functions through the indexer's single-file
API (the same definitions the store holds), for buffers and files the editor may not have
saved or the index may not have seen yet.
"""
from __future__ import annotations

import difflib
import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional


@dataclass
class Function:
    qualname: str
    kind: str
    start_byte: int
    end_byte: int
    start_line: int          # 1-based
    start_col: int           # 0-based UTF-8 byte column
    end_line: int
    end_col: int
    text: str


@dataclass
class Suggestion:
    path: str                # '/'-separated, relative to the repository root
    qualname: str
    start_byte: int
    end_byte: int
    start_line: int          # 1-based, inclusive; columns are 0-based UTF-8 byte offsets
    start_col: int
    end_line: int
    end_col: int
    before: str              # the function's text now
    after: str               # what the suggestion writes instead
    confidence: float
    source: str              # "propagation", "nearest-neighbour", "model"
    reason: str              # one line: what the suggestion is based on
    file_sha256: str         # the file's bytes the suggestion was computed on

    def diff(self, context: int = 3) -> str:
        """A unified diff of the change, with the function's real line numbers."""
        old = self.before.splitlines(keepends=True)
        new = self.after.splitlines(keepends=True)
        if old and not old[-1].endswith("\n"):
            old[-1] += "\n"
        if new and not new[-1].endswith("\n"):
            new[-1] += "\n"
        lines = list(difflib.unified_diff(old, new, f"a/{self.path}", f"b/{self.path}", n=context))
        out = []
        for line in lines:
            if line.startswith("@@"):
                # shift the hunk header from the function's lines to the file's
                head = line.split("@@")[1].split()
                shifted = []
                for part in head:
                    sign, rest = part[0], part[1:]
                    start, _, count = rest.partition(",")
                    shifted.append(f"{sign}{int(start) + self.start_line - 1}" + (f",{count}" if count else ""))
                line = f"@@ {' '.join(shifted)} @@\n"
            out.append(line)
        return "".join(out)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Suggestion":
        """The suggestion ``to_dict`` gave; TypeError or KeyError for anything else."""
        values = {k: data[k] for k in cls.__dataclass_fields__}
        for name, value in values.items():
            kind = _FIELD_TYPES[cls.__dataclass_fields__[name].type]
            if not isinstance(value, kind) or isinstance(value, bool):
                raise TypeError(f"suggestion field {name}: {type(value).__name__}, not {kind}")
        return cls(**values)


_FIELD_TYPES = {"str": str, "int": int, "float": (int, float)}


class UnsafeSuggestion(ValueError):
    """A suggestion for a file that is not a regular file of the repository (one line)."""


def check_paths(root: Path, suggestions: list[Suggestion]) -> None:
    """Raise ``UnsafeSuggestion`` for the first suggestion whose file is a symbolic link, lies
    outside ``root`` once links are resolved, or inside its ``.git`` or ``.codeintel``."""
    from ..display import printable
    from ..store import STORE_DIR

    base = Path(root).resolve()
    for s in suggestions:
        target = base / s.path
        name = printable(s.path)
        if target.is_symlink():
            raise UnsafeSuggestion(f"refusing to apply a suggestion for {name}: it is a symbolic link")
        try:
            inside = target.resolve().relative_to(base)
        except ValueError:
            raise UnsafeSuggestion(f"refusing to apply a suggestion for {name}: "
                                   f"outside the repository {printable(base)}") from None
        if not inside.parts or ".git" in inside.parts or STORE_DIR in inside.parts:
            raise UnsafeSuggestion(f"refusing to apply a suggestion for {name}: not a file of the repository")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def functions_of(data: bytes, language: str) -> list[Function]:
    from indexer.extract import FUNCTION_LIKE, extract
    from indexer.languages import get_spec

    facts = extract(data, get_spec(language), symbols_only=True)
    out, seen = [], {}
    for s in facts.symbols:
        if s.kind not in FUNCTION_LIKE:
            continue
        n = seen[s.qualname] = seen.get(s.qualname, 0) + 1
        out.append(Function(s.qualname if n == 1 else f"{s.qualname}#{n}", s.kind, s.start_byte, s.end_byte,
                            s.start_line, s.start_col, s.end_line, s.end_col,
                            data[s.start_byte:s.end_byte].decode("utf-8", "replace")))
    return out


def make_suggestion(path: str, data: bytes, fn: Function, after: str, confidence: float, source: str,
                    reason: str) -> Suggestion:
    return Suggestion(path, fn.qualname, fn.start_byte, fn.end_byte, fn.start_line, fn.start_col, fn.end_line,
                      fn.end_col, fn.text, after, confidence, source, reason, sha256(data))


@dataclass
class Applied:
    suggestion: Suggestion
    ok: bool
    message: str


def apply_suggestions(root: Path, suggestions: list[Suggestion]) -> list[Applied]:
    """Write ``suggestions`` into their files. A file whose bytes no longer have the hash the
    suggestion was computed on is left alone, as is a suggestion overlapping another one
    chosen in the same file. ``UnsafeSuggestion`` (nothing written) when one of them names a
    file that is not the repository's own (``check_paths``)."""
    from ..store.files import write_bytes_atomic

    check_paths(root, suggestions)
    by_path: dict[str, list[Suggestion]] = {}
    for s in suggestions:
        by_path.setdefault(s.path, []).append(s)
    results: list[Applied] = []
    for rel, items in by_path.items():
        path = Path(root) / rel
        try:
            data = path.read_bytes()
        except OSError as exc:
            results += [Applied(s, False, f"cannot read {rel} ({exc.strerror or exc})") for s in items]
            continue
        current = sha256(data)
        fresh = [s for s in items if s.file_sha256 == current]
        results += [Applied(s, False, f"{rel} changed since the suggestion was computed; run it again")
                    for s in items if s.file_sha256 != current]
        chosen: list[Suggestion] = []
        for s in sorted(fresh, key=lambda s: (-s.confidence, s.start_byte)):
            if any(s.start_byte < c.end_byte and c.start_byte < s.end_byte for c in chosen):
                results.append(Applied(s, False, "overlaps another suggestion applied in the same file"))
            elif data[s.start_byte:s.end_byte].decode("utf-8", "replace") != s.before:
                results.append(Applied(s, False, f"{rel}: the function's text is not where it was"))
            else:
                chosen.append(s)
        if not chosen:
            continue
        for s in sorted(chosen, key=lambda s: -s.start_byte):
            data = data[:s.start_byte] + s.after.encode("utf-8") + data[s.end_byte:]
        try:
            write_bytes_atomic(path, data, keep_mode=True, sync=True)
        except OSError as exc:
            results += [Applied(s, False, f"cannot write {rel} ({exc.strerror or exc})") for s in chosen]
            continue
        results += [Applied(s, True, "applied") for s in chosen]
    return results
