"""Code navigation over the index and an open buffer: the identifier at a position, its
definitions (ranked), its references, hover text, a file's symbol tree, and identifier
completion. What the language server (and any other front end) calls; it knows nothing of LSP.

A buffer the editor has open is authoritative for its own file: its facts come from the
indexer's single-file API (``indexer.extract``) on the unsaved text (none when it is too big
to parse: then nothing is said about that file), the store answers for every other file. Positions are the store's: 1-based lines, 0-based UTF-8 byte columns; each
place carries its line's bytes so a front end can convert columns to its own units.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Optional

from codeintel.store import Store, line_starts

_IDENT = re.compile(r"\w+")
_QUALIFIER = re.compile(r"((?:\w+\s*(?:\.|::|->)\s*)+)$")


@dataclass
class Place:
    """A span in a file: ``line``/``end_line`` 1-based, ``col``/``end_col`` UTF-8 byte columns;
    ``line_text``/``end_line_text`` the bytes of those lines (for column conversion)."""
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    line_text: bytes = b""
    end_line_text: bytes = b""


@dataclass
class Word:
    name: str
    line: int
    col: int            # byte column of the first character
    end_col: int        # byte column after the last
    qualifier: list[str] = field(default_factory=list)   # ``a.b.name`` -> ["a", "b"]


@dataclass
class Buffer:
    """An open document: its path in the repository (None outside any), bytes and facts
    (``indexer.extract.FileFacts``, or None for a file that is not parsed: too big, binary…)."""
    path: Optional[str]
    data: bytes
    facts: object = None

    def __post_init__(self):
        self._line_starts: Optional[list[int]] = None

    @property
    def starts(self) -> list[int]:
        """Byte offset of each line's start (computed on first use: seconds for a huge file)."""
        if self._line_starts is None:
            self._line_starts = line_starts(self.data)
        return self._line_starts

    def line_bytes(self, line: int) -> bytes:
        """Line ``line`` (1-based) without its line ending; b"" past the end."""
        if line < 1:
            return b""
        if self._line_starts is None and line < 4096:   # near the top: no need to index every line
            start = 0
            for _ in range(line - 1):
                start = self.data.find(b"\n", start) + 1
                if start == 0:
                    return b""
        else:
            if line > len(self.starts):
                return b""
            start = self.starts[line - 1]
        end = self.data.find(b"\n", start)
        return self.data[start:end if end != -1 else len(self.data)].rstrip(b"\r")


def line_of(content: bytes, line: int) -> bytes:
    return Buffer(None, content).line_bytes(line)


def word_at(buffer: Buffer, line: int, col: int) -> Optional[Word]:
    """The identifier touching byte column ``col`` of ``line`` (the cursor may stand just
    after it), with the dotted qualifier before it."""
    raw = buffer.line_bytes(line)
    text = raw.decode("utf-8", "replace")
    char = len(raw[:col].decode("utf-8", "replace"))
    for match in _IDENT.finditer(text):
        if match.start() <= char <= match.end() and not match.group().isdigit():
            start_b = len(text[:match.start()].encode())
            qual = _QUALIFIER.search(text[:match.start()])
            parts = _IDENT.findall(qual.group(1)) if qual else []
            return Word(match.group(), line, start_b, start_b + len(match.group().encode()), parts)
        if match.start() > char:
            break
    return None


def prefix_at(buffer: Buffer, line: int, col: int) -> str:
    """The part of an identifier before the cursor (what completion extends)."""
    raw = buffer.line_bytes(line)[:col].decode("utf-8", "replace")
    match = re.search(r"\w+$", raw)
    return match.group() if match else ""


# ------------------------------------------------------------------ definitions
def _buffer_symbols(buffer: Buffer) -> list[dict]:
    facts = buffer.facts
    if facts is None:
        return []
    return [{"name": s.name, "qualname": s.qualname, "kind": s.kind, "path": buffer.path, "language": facts.language,
             "start_line": s.start_line, "end_line": s.end_line, "line": s.name_line, "col": s.name_col,
             "signature": s.signature, "doc": s.doc, "start_col": s.start_col, "end_col": s.end_col}
            for s in facts.symbols]


def _module_paths(module: str) -> list[str]:
    """Path stems a module name may live at: ``a.b`` -> a/b, ``./x/y`` -> x/y, ``crate::m`` -> m."""
    cleaned = module.strip("'\"").lstrip("./").replace("::", "/").replace("\\", "/")
    if not cleaned:
        return []
    if "/" not in cleaned:
        cleaned = cleaned.replace(".", "/")
    return [cleaned, cleaned + "/__init__", cleaned + "/index", cleaned + "/mod"]


def _path_stem(path: str) -> str:
    return path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path


def _from_modules(name: str, qualifier: list[str], imports: Iterable[dict]) -> list[str]:
    """The modules an identifier comes from, by the file's imports: ``from m import name``,
    ``import m`` used as ``m.name``, aliases either way."""
    modules = []
    for imp in imports:
        bound = imp.get("alias") or imp.get("name") or (imp.get("module") or "").rsplit(".", 1)[-1]
        if imp.get("name") and bound == name:
            modules.append(imp["module"])
        elif qualifier and bound == qualifier[-1]:
            modules.append(f"{imp['module']}.{imp['name']}" if imp.get("name") else imp["module"])
        elif qualifier and not imp.get("name") and imp.get("module") == ".".join(qualifier):
            modules.append(imp["module"])
    return modules


def _rank(sym: dict, word: Word, here: Optional[str], modules: list[str]) -> int:
    """Lower is better: 0 qualified match, 1 same file, 2 imported module, 3 anywhere."""
    if word.qualifier:
        qual_tail = ".".join(word.qualifier[-1:] + [word.name])
        if sym["qualname"].endswith(qual_tail) and sym["qualname"] != word.name:
            return 0
    if sym["path"] == here and here is not None:
        return 1
    stem = _path_stem(sym["path"])
    for module in modules:
        if any(stem == p or stem.endswith("/" + p) for p in _module_paths(module)):
            return 2
    return 3


def definitions(store: Optional[Store], buffer: Buffer, line: int, col: int, limit: int = 50) -> list[dict]:
    """The definitions the identifier at the position may mean, best first: a qualified
    match (``Shape.area``), then the same file, then the module it was imported from, then
    any file. When the best tier is a sure one (0-2) only that tier is returned."""
    word = word_at(buffer, line, col)
    if word is None:
        return []
    candidates = [s for s in _buffer_symbols(buffer) if s["name"] == word.name]
    for sym in candidates:
        if sym["line"] == word.line and sym["col"] == word.col:
            return [sym]  # on a definition's own name
    if store is not None:
        candidates += [s for s in store.symbols_named(word.name, limit=500)
                       if s["path"] != buffer.path]
    if not candidates:
        return []
    imports = ([vars(i) for i in buffer.facts.imports] if buffer.facts is not None
               else store.file_imports(buffer.path) if store is not None and buffer.path else [])
    modules = _from_modules(word.name, word.qualifier, imports)
    ranked = sorted(candidates, key=lambda s: (_rank(s, word, buffer.path, modules), s["path"], s["line"]))
    best = _rank(ranked[0], word, buffer.path, modules)
    if best < 3:
        ranked = [s for s in ranked if _rank(s, word, buffer.path, modules) == best]
    return ranked[:limit]


class _Contents:
    """File contents by path, read once: the open buffer's, else the store's."""

    def __init__(self, store: Optional[Store], buffer: Buffer):
        self.store, self.buffer, self.cache = store, buffer, {}

    def line(self, path: str, line: int) -> bytes:
        if path == self.buffer.path:
            return self.buffer.line_bytes(line)
        if path not in self.cache:
            content = self.store.file_content(path) if self.store is not None else None
            self.cache[path] = Buffer(path, content or b"")
        return self.cache[path].line_bytes(line)


def definition_places(store: Optional[Store], buffer: Buffer, syms: list[dict]) -> list[Place]:
    """Where each definition's name stands."""
    contents = _Contents(store, buffer)
    places = []
    for sym in syms:
        text = contents.line(sym["path"], sym["line"])
        end = sym["col"] + len(sym["name"].encode())
        places.append(Place(sym["path"], sym["line"], sym["col"], sym["line"], end, text, text))
    return places


# ------------------------------------------------------------------ references
def references(store: Optional[Store], buffer: Buffer, line: int, col: int, include_declaration: bool = True,
               limit: int = 5000) -> list[Place]:
    """Every use of the identifier at the position (by name, as the index records uses), the
    open buffer's from its current text; with ``include_declaration`` its definitions too."""
    word = word_at(buffer, line, col)
    if word is None:
        return []
    out: list[Place] = []
    width = len(word.name.encode())

    def add(path: str, content: bytes, offsets: Iterable[int]) -> None:
        line, last = 1, 0     # offsets ascend: count the newlines between one and the next
        for offset in offsets:
            line += content.count(b"\n", last, offset)
            last = offset
            start = content.rfind(b"\n", 0, offset) + 1
            end = content.find(b"\n", offset)
            text = content[start:end if end != -1 else len(content)].rstrip(b"\r")
            out.append(Place(path, line, offset - start, line, offset - start + width, text, text))

    if buffer.facts is not None:
        add(buffer.path, buffer.data, buffer.facts.refs.get(word.name, ()))
    if store is not None:
        for path, content, offsets in store.reference_sites(word.name, exclude_path=buffer.path):
            add(path, content, offsets)
            if len(out) >= limit:
                break
    if include_declaration:
        syms = [s for s in _buffer_symbols(buffer) if s["name"] == word.name]
        if store is not None:
            syms += [s for s in store.symbols_named(word.name)
                     if s["path"] != buffer.path]
        out = definition_places(store, buffer, syms) + out
    return out[:limit]


# ------------------------------------------------------------------ hover
def hover_markdown(syms: list[dict], limit: int = 3) -> Optional[str]:
    """Signature (as code) and docstring of each definition, with where it is."""
    if not syms:
        return None
    parts = []
    for sym in syms[:limit]:
        lang = (sym.get("language") or "").replace("tsx", "typescript")
        block = f"```{lang}\n{sym.get('signature') or sym['qualname']}\n```"
        doc = (sym.get("doc") or "").strip()
        where = f"*{sym['kind']}* `{sym['qualname']}` — {sym['path']}:{sym['line']}"
        parts.append("\n\n".join(p for p in (block, doc, where) if p))
    if len(syms) > limit:
        parts.append(f"… and {len(syms) - limit} more definitions")
    return "\n\n---\n\n".join(parts)


# ------------------------------------------------------------------ symbols
def symbol_tree(buffer: Buffer) -> list[dict]:
    """The buffer's definitions as a tree: dicts with ``symbol`` (the definition), ``range``
    and ``selection`` (Places of the whole definition and of its name) and ``children``."""
    facts = buffer.facts
    if facts is None:
        return []
    nodes = []
    for s in facts.symbols:
        start_text, end_text = buffer.line_bytes(s.start_line), buffer.line_bytes(s.end_line)
        name_text = buffer.line_bytes(s.name_line)
        nodes.append({
            "symbol": s,
            "range": Place(buffer.path, s.start_line, s.start_col, s.end_line, s.end_col, start_text, end_text),
            "selection": Place(buffer.path, s.name_line, s.name_col, s.name_line,
                               s.name_col + len(s.name.encode()), name_text, name_text),
            "children": [],
        })
    roots = []
    for node in nodes:
        parent = node["symbol"].parent
        (nodes[parent]["children"] if parent is not None and parent < len(nodes) else roots).append(node)
    return roots


# ------------------------------------------------------------------ completion without a model
def identifier_completions(store: Optional[Store], buffer: Buffer, line: int, col: int,
                           limit: int = 50) -> tuple[str, list[tuple[str, Optional[str], str]]]:
    """Identifiers that extend the word before the cursor, from the buffer and the index:
    (prefix, [(name, kind of its definition or None, "buffer" | "index")]); the buffer's
    own names first, most used first."""
    prefix = prefix_at(buffer, line, col)
    if not prefix:
        return prefix, []
    text = buffer.data.decode("utf-8", "replace")
    counts: dict[str, int] = {}
    for match in re.finditer(r"(?<!\w)" + re.escape(prefix) + r"\w*", text):
        counts[match.group()] = counts.get(match.group(), 0) + 1
    counts[prefix] = counts.get(prefix, 0) - 1  # the word being typed
    indexed = store.names_with_prefix(prefix, limit) if store is not None else []
    kinds = {name: kind for name, kind, _uses in indexed if kind}
    if buffer.facts is not None:
        kinds.update((s.name, s.kind) for s in buffer.facts.symbols)
    out = [(n, kinds.get(n), "buffer") for n in sorted(counts, key=lambda n: (-counts[n], n))
           if counts[n] > 0 and n != prefix]
    seen = {n for n, _, _ in out} | {prefix}
    out += [(name, kind, "index") for name, kind, _uses in indexed if name not in seen]
    return prefix, out[:limit]
