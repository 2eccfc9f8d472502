"""Code navigation over the index and an open buffer: the identifier at a position, its
definitions (ranked), its references, hover text, a file's symbol tree, and identifier
completion. What the language server (and any other front end) calls; it knows nothing of LSP.

A buffer the editor has open is authoritative for its own file: its facts come from the
indexer's single-file API (``indexer.extract``) on the unsaved text (none when it is too big
to parse: then nothing is said about that file), the store answers for every other file. Positions are the store's: 1-based lines, 0-based UTF-8 byte columns; each
place carries its line's bytes (None for a line that is all ASCII, where every unit counts
the same) so a front end can convert columns to its own units.

References are answered per file (``FileHits``: byte offsets and the file's ``LineIndex``) so
that an answer of thousands of uses costs a bisection per use, not a read of each file: line
indexes are cached by git blob id (``LineIndexCache``), so a file's content is read from the
store once per version of it, and ``warm_line_indexes`` fills the cache ahead of the first
request.
"""
from __future__ import annotations

import re
import threading
from array import array
from bisect import bisect_right
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, Optional

from codeintel.store import Store, line_starts, unpack_offsets

_IDENT = re.compile(r"\w+")
_QUALIFIER = re.compile(r"((?:\w+\s*(?:\.|::|->)\s*)+)$")


@dataclass
class Place:
    """A span in a file: ``line``/``end_line`` 1-based, ``col``/``end_col`` UTF-8 byte columns;
    ``line_text``/``end_line_text`` the bytes of those lines (for column conversion), or None
    for a line known to be all ASCII (its columns are the same in every unit)."""
    path: str
    line: int
    col: int
    end_line: int
    end_col: int
    line_text: Optional[bytes] = None
    end_line_text: Optional[bytes] = None


# ------------------------------------------------------------------ line indexes
class LineIndex:
    """One file's lines: where each starts (byte offsets, line 1 at index 0) and the bytes of
    the lines that are not all ASCII, the only ones whose columns differ between UTF-8 and a
    client's UTF-16 or UTF-32. A few bytes per line: kept for many files at once."""
    __slots__ = ("starts", "wide", "size")

    def __init__(self, content: bytes):
        self.size = len(content)
        self.starts = array("I", line_starts(content))
        self.wide: dict[int, bytes] = {} if content.isascii() else {
            number: line.rstrip(b"\r") for number, line in enumerate(content.split(b"\n"), 1) if not line.isascii()}

    def __len__(self) -> int:
        return len(self.starts)

    def offset(self, line: int, col: int) -> int:
        """Byte offset of (1-based line, byte column); past the end for a line the file lacks."""
        return self.starts[line - 1] + col if 0 < line <= len(self.starts) else self.size + col

    def text(self, line: int) -> Optional[bytes]:
        """The line's bytes when it is not all ASCII, else None (see ``Place``)."""
        return self.wide.get(line) if self.wide else None

    def place(self, path: str, offset: int, width: int) -> Place:
        line = bisect_right(self.starts, offset)
        col = offset - self.starts[line - 1]
        text = self.text(line)
        return Place(path, line, col, line, col + width, text, text)


class LineIndexCache:
    """Line indexes by git blob id (a content hash: a cached index is never stale), least
    recently used dropped past ``max_lines`` lines in all (4 bytes each). Thread-safe."""

    def __init__(self, max_lines: int = 8_000_000):
        self.max_lines = max_lines
        self.lines = 0
        self._indexes: OrderedDict[str, LineIndex] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._indexes)

    def get(self, blob: Optional[str]) -> Optional[LineIndex]:
        if blob is None:
            return None
        with self._lock:
            index = self._indexes.get(blob)
            if index is not None:
                self._indexes.move_to_end(blob)
            return index

    def put(self, blob: Optional[str], content: bytes) -> LineIndex:
        index = LineIndex(content)
        if blob is None:
            return index
        with self._lock:
            old = self._indexes.pop(blob, None)
            self.lines -= len(old) if old is not None else 0
            self._indexes[blob] = index
            self.lines += len(index)
            while self.lines > self.max_lines and len(self._indexes) > 1:
                _, dropped = self._indexes.popitem(last=False)
                self.lines -= len(dropped)
        return index

    @property
    def full(self) -> bool:
        return self.lines >= self.max_lines


LINE_INDEXES = LineIndexCache()   # the process's: blob ids are the same in every repository


def warm_line_indexes(store: Store, cache: LineIndexCache = LINE_INDEXES, batch: int = 64,
                      stop: Optional[Callable[[], bool]] = None) -> int:
    """Build the line index of every indexed file not cached yet (until the cache is full or
    ``stop()`` says so), reading contents ``batch`` files at a time; returns how many were built."""
    built = 0
    missing = [(file_id, blob) for file_id, _path, blob in store.file_ids_and_blobs()
               if blob is not None and cache.get(blob) is None]
    for i in range(0, len(missing), batch):
        if cache.full or (stop is not None and stop()):
            break
        for blob, content in store.contents_by_id(file_id for file_id, _ in missing[i:i + batch]).values():
            cache.put(blob, content)
            built += 1
    return built


class _FileLines:
    """The line indexes one answer needs: the open buffer's from its bytes, every other file's
    from the cache, reading from the store only contents not cached (many files per query)."""

    def __init__(self, store: Optional[Store], buffer: "Buffer", cache: LineIndexCache):
        self.store, self.buffer, self.cache = store, buffer, cache
        self._fetched: dict[int, LineIndex] = {}

    def of_buffer(self) -> LineIndex:
        return self.buffer.line_index

    def of_files(self, files: list[tuple[int, Optional[str]]], ahead: int = 200) -> Iterator[Optional[LineIndex]]:
        """The index of each (file id, blob id) in order (None for a file gone from the
        store); contents not cached are read ``ahead`` files at a time."""
        for i, (file_id, blob) in enumerate(files):
            index = self.cache.get(blob) or self._fetched.get(file_id)
            if index is None and self.store is not None:
                wanted = [f for f, b in files[i:i + ahead] if self.cache.get(b) is None and f not in self._fetched]
                for fid, (fblob, content) in self.store.contents_by_id(wanted).items():
                    self._fetched[fid] = self.cache.put(fblob, content)
                index = self._fetched.get(file_id)
            yield index

    def of_paths(self, paths: Iterable[str]) -> dict[str, LineIndex]:
        """{path: index} of files by path (the buffer's own from its bytes)."""
        out = {}
        others = []
        for path in dict.fromkeys(paths):
            if path == self.buffer.path and path is not None:
                out[path] = self.of_buffer()
            else:
                others.append(path)
        if others and self.store is not None:
            known = self.store.file_blobs(others)
            found = [known[p] for p in others if p in known]
            for path, index in zip([p for p in others if p in known], self.of_files(found)):
                if index is not None:
                    out[path] = index
        return out


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
    tree: object = None              # the tree-sitter tree of ``data``, when the caller has one

    def __post_init__(self):
        self._line_starts: Optional[list[int]] = None
        self._line_index: Optional[LineIndex] = None

    @property
    def line_index(self) -> LineIndex:
        """The buffer's ``LineIndex`` (computed on first use)."""
        if self._line_index is None:
            self._line_index = LineIndex(self.data)
        return self._line_index

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


def definition_places(store: Optional[Store], buffer: Buffer, syms: list[dict],
                      cache: LineIndexCache = LINE_INDEXES) -> list[Place]:
    """Where each definition's name stands."""
    indexes = _FileLines(store, buffer, cache).of_paths(sym["path"] for sym in syms)
    places = []
    for sym in syms:
        index = indexes.get(sym["path"])
        text = index.text(sym["line"]) if index is not None else None
        end = sym["col"] + len(sym["name"].encode())
        places.append(Place(sym["path"], sym["line"], sym["col"], sym["line"], end, text, text))
    return places


# ------------------------------------------------------------------ references
@dataclass
class FileHits:
    """Uses (or definitions) of one name in one file: the byte offsets where each starts,
    each ``width`` bytes long, and the file's ``LineIndex`` to place them (``places``)."""
    path: Optional[str]
    offsets: list[int]
    width: int
    lines: LineIndex

    def places(self) -> list[Place]:
        return [self.lines.place(self.path, offset, self.width) for offset in self.offsets]


def reference_hits(store: Optional[Store], buffer: Buffer, line: int, col: int, include_declaration: bool = True,
                   cache: LineIndexCache = LINE_INDEXES,
                   cancelled: Optional[Callable[[], bool]] = None) -> Iterator[FileHits]:
    """Every use of the identifier at the position (by name, as the index records uses), file
    by file: with ``include_declaration`` its definitions first, then the open buffer's uses
    (from its current text), then every other file's in path order. Lazy: a caller may stream
    the files as they come, or stop; ``cancelled()`` is polled between files."""
    word = word_at(buffer, line, col)
    if word is None:
        return
    width = len(word.name.encode())
    lines = _FileLines(store, buffer, cache)
    scope = parameter_scope(buffer, word)
    if scope is not None:   # a parameter (self, a callback's argument): its uses are in its function
        own = [o for o in (buffer.facts.refs.get(word.name, ()) if buffer.facts is not None else ())
               if scope[0] <= o < scope[1]]
        if own:
            yield FileHits(buffer.path, own, width, lines.of_buffer())
        return
    if include_declaration:
        syms = [s for s in _buffer_symbols(buffer) if s["name"] == word.name]
        if store is not None:
            syms += [s for s in store.symbols_named(word.name) if s["path"] != buffer.path]
        by_path: dict[str, list[dict]] = {}
        for sym in syms:
            by_path.setdefault(sym["path"], []).append(sym)
        indexes = lines.of_paths(by_path)
        for path, defs in by_path.items():
            index = indexes.get(path)
            if index is not None:
                yield FileHits(path, [index.offset(d["line"], d["col"]) for d in defs], width, index)
    if buffer.facts is not None:
        own = buffer.facts.refs.get(word.name, ())
        if own:
            yield FileHits(buffer.path, list(own), width, lines.of_buffer())
    if store is None:
        return
    files = store.reference_files(word.name, exclude_path=buffer.path)
    for (_id, path, _blob, positions), index in zip(files, lines.of_files([(f[0], f[2]) for f in files])):
        if cancelled is not None and cancelled():
            return
        if index is not None:
            yield FileHits(path, unpack_offsets(positions), width, index)


# fields that hold the name a parameter declares (Python, JavaScript/TypeScript, Java, Go, Rust, C/C++)
_NAME_FIELDS = ("name", "pattern", "left", "declarator")


def parameter_scope(buffer: Buffer, word: "Word") -> Optional[tuple[int, int]]:
    """The byte span of the function of which the identifier ``word`` is a parameter, when
    it is one of the innermost function around it that declares that name (found on the
    buffer's tree: a node with a ``parameters`` or ``receiver`` field); None otherwise, or
    without a tree.
    Such a name means nothing outside that function: its references stay inside it."""
    tree = buffer.tree
    if tree is None or buffer.facts is None:
        return None
    name = word.name.encode()
    start = buffer.starts[word.line - 1] + word.col
    node = tree.root_node.descendant_for_byte_range(start, start + len(name))
    if node is None or node.child_count or buffer.data[node.start_byte:node.end_byte] != name:
        return None
    ancestor = node.parent
    while ancestor is not None:
        for field in ("parameters", "receiver"):   # a Go method's receiver is a parameter too
            params = ancestor.child_by_field_name(field)
            if params is not None and _declares(params, name, buffer.data):
                return ancestor.start_byte, ancestor.end_byte
        ancestor = ancestor.parent
    return None


def _declares(params, name: bytes, data: bytes) -> bool:
    """Whether a parameter list declares ``name``: an identifier that is a list item itself,
    or reached from one through its name fields (``_NAME_FIELDS``), or through the first
    child of a node that has none of them (Python's ``x: int``); so never a default value or
    a type, which are other fields."""
    stack = list(params.named_children)
    while stack:
        node = stack.pop()
        if node.child_count == 0:
            if data[node.start_byte:node.end_byte] == name:
                return True
            continue
        fields = [child for child in map(node.child_by_field_name, _NAME_FIELDS) if child is not None]
        if fields:
            stack.extend(fields)
        elif node.named_child_count:
            stack.append(node.named_child(0))
    return False


def references(store: Optional[Store], buffer: Buffer, line: int, col: int, include_declaration: bool = True,
               limit: Optional[int] = None, cache: LineIndexCache = LINE_INDEXES) -> list[Place]:
    """Every use of the identifier at the position as Places (``reference_hits`` in that
    order), the first ``limit`` only when a limit is given."""
    out: list[Place] = []
    for hits in reference_hits(store, buffer, line, col, include_declaration, cache):
        out += hits.places()
        if limit is not None and len(out) >= limit:
            return out[:limit]
    return out


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
