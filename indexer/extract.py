"""Facts of one source file: symbols, imports, references, chunks and parse errors.

This is the indexer's single-file API (``extract``): it takes bytes (a file on disk or an
editor's unsaved buffer) and returns plain data, language-neutral, driven by the
LanguageSpec queries. Positions follow Python's ``ast`` convention: lines are 1-based,
columns are 0-based UTF-8 byte offsets within the line; byte spans are offsets into the
file's bytes. The language server converts to UTF-16 at its edge.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from typing import Optional

import tree_sitter as ts

from codeintel.store import line_starts

from .languages.spec import LanguageSpec

CLASS_LIKE = {"class", "struct", "interface", "enum", "trait", "type", "namespace"}
FUNCTION_LIKE = {"function", "method"}
WINDOW_LINES = 40          # size of the retrieval windows over code outside definitions
CLASS_CHUNK_LINES = 60     # a class chunk keeps its header and first lines
SIGNATURE_CHARS = 240


@dataclass
class Symbol:
    name: str
    qualname: str
    kind: str
    parent: Optional[int]          # index into FileFacts.symbols
    start_byte: int
    end_byte: int
    start_line: int
    start_col: int
    end_line: int
    end_col: int
    name_line: int
    name_col: int
    signature: str
    doc: Optional[str]


@dataclass
class Import:
    module: str
    name: Optional[str]
    alias: Optional[str]
    line: int


@dataclass
class Chunk:
    kind: str                      # "function", "method", "class", ... or "window"
    name: str
    symbol: Optional[int]          # index into FileFacts.symbols
    start_line: int
    end_line: int
    start_byte: int
    end_byte: int


@dataclass
class FileFacts:
    language: str
    line_count: int
    symbols: list[Symbol] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    # name -> sorted start bytes of every identifier that is not a definition's own name
    refs: dict[str, list[int]] = field(default_factory=dict)
    line_starts: list[int] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    error_count: int = 0
    first_error_line: Optional[int] = None

    def position(self, byte: int) -> tuple[int, int]:
        """(line, column) of a byte offset: 1-based line, 0-based byte column."""
        line = bisect_right(self.line_starts, byte)
        return line, byte - self.line_starts[line - 1]

    def ref_positions(self, name: str) -> list[tuple[int, int]]:
        return [self.position(b) for b in self.refs.get(name, ())]


def _text(source: bytes, node: ts.Node) -> str:
    return source[node.start_byte:node.end_byte].decode("utf-8", "replace")


def _outermost_wrapper(node: ts.Node, spec: LanguageSpec) -> ts.Node:
    while node.parent is not None and node.parent.type in spec.wrapper_types:
        node = node.parent
    return node


_COMMENT_MARKERS = re.compile(r"^\s*(?:/\*\*?|\*/|\*(?!/)|//!|///?|#+|--)\s?")


def clean_comment(text: str) -> str:
    lines = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.endswith("*/"):
            line = line[:-2].rstrip()
        line = _COMMENT_MARKERS.sub("", line, count=1)
        lines.append(line.rstrip())
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def leading_comment(anchor: ts.Node, source: bytes, spec: LanguageSpec) -> Optional[str]:
    """The comment block directly above ``anchor`` (attributes and annotations may stand between)."""
    prev = anchor.prev_sibling
    expected_row = anchor.start_point.row
    while prev is not None and prev.type in spec.doc_skip_types:
        expected_row = prev.start_point.row
        prev = prev.prev_sibling
    parts: list[str] = []
    while prev is not None and prev.type in spec.comment_types:
        # a line comment may include its newline: its last row is then the one before
        last_row = prev.end_point.row
        if prev.end_point.column == 0 and last_row > prev.start_point.row:
            last_row -= 1
        if last_row < expected_row - 1:
            break
        if last_row == prev.start_point.row and prev.prev_sibling is not None \
                and prev.prev_sibling.end_point.row == prev.start_point.row:
            break  # a trailing comment of the previous statement
        parts.append(_text(source, prev).rstrip("\n"))
        expected_row = prev.start_point.row
        prev = prev.prev_sibling
    if not parts:
        return None
    return clean_comment("\n".join(reversed(parts))) or None


_LEADING_DECORATORS = re.compile(r"^(?:@[\w.]+(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?\s*)+")


def _body_of(node: ts.Node) -> Optional[ts.Node]:
    """The definition's body; for a function bound to a variable (``const f = () => {}``) the
    body of the value, found a few levels down."""
    level = [node]
    for _depth in range(3):
        for candidate in level:
            body = candidate.child_by_field_name("body")
            if body is not None:
                return body
        level = [child for candidate in level for child in candidate.named_children]
    return None


def signature_of(node: ts.Node, source: bytes, spec: LanguageSpec) -> str:
    """The definition's header: its text up to the body, comments and decorators left out."""
    body = _body_of(node)
    if body is None or body.start_byte <= node.start_byte:
        lines = source[node.start_byte:node.end_byte].decode("utf-8", "replace").split("\n")
        while len(lines) > 1 and (not lines[0].strip()
                                  or not _LEADING_DECORATORS.sub("", lines[0].strip())):
            lines.pop(0)  # a line of decorators or annotations only
        text = lines[0]
    else:
        end = node.start_byte
        before = body.prev_sibling   # the header ends with the last child before the body, comments aside
        while before is not None and before.type in spec.comment_types:
            before = before.prev_sibling
        if before is not None and before.start_byte >= node.start_byte:
            end = before.end_byte
        if end == node.start_byte or end > body.start_byte:
            end = body.start_byte
        text = source[node.start_byte:end].decode("utf-8", "replace")
    sig = _LEADING_DECORATORS.sub("", " ".join(text.split()))
    sig = sig.rstrip("{:;= ").rstrip()
    return sig[:SIGNATURE_CHARS]


def _split_qualified(name: str, spec: LanguageSpec) -> list[str]:
    if not any(sep in name for sep in spec.qualifier_separators):
        return [name.strip()] if name.strip() else []
    parts = [name]
    for sep in spec.qualifier_separators:
        parts = [p for part in parts for p in part.split(sep)]
    return [p.strip() for p in parts if p.strip()]


def _count_errors(root: ts.Node) -> tuple[int, Optional[int]]:
    count, first = 0, None
    stack = [root]
    while stack:
        node = stack.pop()
        if node.is_error or node.is_missing:
            count += 1
            line = node.start_point.row + 1
            first = line if first is None else min(first, line)
            continue
        if node.has_error:
            stack.extend(node.children)
    return count, first


def _definitions(matches):
    """(def_node, name_node, kind-or-None-for-scope, receiver) in source order, outer first."""
    items = []
    for _pattern, caps in matches:
        name_nodes = caps.get("name")
        if not name_nodes:
            continue
        receiver = caps.get("receiver")
        kind = None
        node = None
        for cap, nodes in caps.items():
            if cap.startswith("definition."):
                kind, node = cap.split(".", 1)[1], nodes[0]
                break
        if node is None:
            scope = caps.get("scope")
            if not scope:
                continue
            node = scope[0]
        items.append((node, name_nodes[0], kind, receiver[0] if receiver else None))
    items.sort(key=lambda it: (it[0].start_byte, -it[0].end_byte))
    # one definition per node (several patterns may match the same node)
    unique, seen = [], set()
    for item in items:
        key = (item[0].start_byte, item[0].end_byte, item[0].type)
        if key not in seen:
            seen.add(key)
            unique.append(item)
    return unique


def _is_anchor(capture: str) -> bool:
    """A capture that marks where a definition or import is (see _structure_matches)."""
    return capture.startswith("definition.") or capture in ("scope", "import", "import.module", "import.name")


def _structure_matches(spec: LanguageSpec, captures: dict[str, list[ts.Node]], root: ts.Node) -> tuple[list, list]:
    """The matches of the definition and of the import patterns, given the captures of one
    walk of the whole tree with ``spec.combined_query``.

    That walk says where the matches are, but not which captures belong together. A
    pattern's root is the node of its anchor capture (a definition, an import statement) or
    that node's parent, so the query runs again from each anchor's parent, only at that
    depth and the next: a few nodes each instead of a second walk of the whole tree.
    Should a pattern be rooted higher, some anchor is then missing from the matches, and
    the definitions and imports queries walk the whole tree instead."""
    anchors = [name for name in captures if _is_anchor(name)]
    wanted = {(name, node.id) for name in anchors for node in captures[name]}
    if not wanted:
        return [], []
    parents: dict[int, ts.Node] = {}
    for name in anchors:
        for node in captures[name]:
            parent = node.parent or node
            parents.setdefault(parent.id, parent)
    cursor = ts.QueryCursor(spec.combined_query)
    cursor.set_max_start_depth(1)
    roles = spec.combined_roles
    definitions, imports, found = [], [], set()
    for parent in parents.values():
        for match in cursor.matches(parent):
            role = roles[match[0]]
            if role != "reference":
                (definitions if role == "definition" else imports).append(match)
                for name in anchors:
                    for node in match[1].get(name, ()):
                        found.add((name, node.id))
    if not wanted <= found:
        return (ts.QueryCursor(spec.definitions_query).matches(root),
                ts.QueryCursor(spec.imports_query).matches(root) if spec.imports_query is not None else [])
    # definitions need no sorting (``_definitions`` orders them); imports go in source order,
    # as a walk of the whole tree gives them
    imports.sort(key=_match_position)
    return definitions, imports


def _match_position(match) -> tuple[int, int]:
    starts = [node.start_byte for nodes in match[1].values() for node in nodes]
    return min(starts), max(starts)


def _attach_out_of_line(symbols: list[Symbol]) -> None:
    """Give a function defined outside its owner (C++ ``void Foo::bar() {}``, a Go method, a
    Rust ``impl`` block) the owner defined in the same file as its parent, and its kind from
    that owner: a method of a class or struct, a function of a namespace (``void ns::f()``)."""
    owners: dict[str, int] = {}
    for i, sym in enumerate(symbols):
        if sym.kind in CLASS_LIKE:
            owners.setdefault(sym.qualname, i)
    if not owners:
        return
    for sym in symbols:
        if sym.kind not in FUNCTION_LIKE or "." not in sym.qualname:
            continue
        owner = owners.get(sym.qualname.rsplit(".", 1)[0])
        if owner is None or owner == sym.parent:
            continue
        sym.parent = owner
        sym.kind = "function" if symbols[owner].kind == "namespace" else "method"


def extract(source: bytes, spec: LanguageSpec, tree: Optional[ts.Tree] = None,
            symbols_only: bool = False) -> FileFacts:
    """The facts of one file; ``symbols_only`` skips imports, references and chunks (history
    mining needs only the definitions)."""
    if tree is None:
        tree = spec.parser().parse(source)
    root = tree.root_node
    facts = FileFacts(language=spec.name, line_count=source.count(b"\n") + (0 if source.endswith(b"\n") or not source else 1))
    if root.has_error:
        facts.error_count, facts.first_error_line = _count_errors(root)
    ref_nodes: list[ts.Node] = []
    if symbols_only:
        def_matches, import_matches = ts.QueryCursor(spec.definitions_query).matches(root), []
    else:
        captures = ts.QueryCursor(spec.combined_query).captures(root)
        ref_nodes = captures.get("ref", [])
        def_matches, import_matches = _structure_matches(spec, captures, root)

    # --- definitions, nested by a stack of enclosing definitions/scopes
    stack: list[tuple[int, list[str], Optional[int], Optional[str]]] = []  # (end_byte, qual parts, symbol idx, kind)
    def_names: list[tuple[int, int]] = []
    for node, name_node, kind, receiver in _definitions(def_matches):
        while stack and stack[-1][0] <= node.start_byte:
            stack.pop()
        parts = _split_qualified(_text(source, name_node), spec)
        if not parts:
            continue
        outer_parts = stack[-1][1] if stack else []
        parent_idx = stack[-1][2] if stack else None
        outer_kind = stack[-1][3] if stack else None
        if receiver is not None:
            outer_parts = outer_parts + _split_qualified(_text(source, receiver).lstrip("*&"), spec)
            outer_kind = "class"
        qual = outer_parts + parts
        if kind is None:  # a scope: names only
            stack.append((node.end_byte, qual, parent_idx, "scope"))
            continue
        if kind == "function" and (outer_kind in CLASS_LIKE - {"namespace"} or outer_kind == "scope"
                                   or (len(parts) > 1 and outer_kind != "namespace")):
            kind = "method"
        anchor = _outermost_wrapper(node, spec)
        doc = spec.docstring(node, source) if spec.docstring else None
        if doc is None:
            doc = leading_comment(anchor, source, spec)
        doc = doc or None  # a docstring hook returns "" to say "none, and no fallback"
        def_names.append((name_node.start_byte, name_node.end_byte))
        sym = Symbol(
            name=parts[-1], qualname=".".join(qual), kind=kind, parent=parent_idx,
            start_byte=anchor.start_byte, end_byte=anchor.end_byte,
            start_line=anchor.start_point.row + 1, start_col=anchor.start_point.column,
            end_line=anchor.end_point.row + 1, end_col=anchor.end_point.column,
            name_line=name_node.start_point.row + 1, name_col=name_node.start_point.column,
            signature=signature_of(node, source, spec), doc=doc,
        )
        facts.symbols.append(sym)
        stack.append((node.end_byte, qual, len(facts.symbols) - 1, kind))

    _attach_out_of_line(facts.symbols)
    if symbols_only:
        return facts

    # --- imports
    if import_matches:
        seen_imports = set()
        for _pattern, caps in import_matches:
            module = caps.get("import.module")
            name = caps.get("import.name")
            alias = caps.get("import.alias")
            if not module and not name:
                continue
            anchor = (caps.get("import") or module or name)[0]
            mod_text = _text(source, module[0]) if module else ""
            if spec.clean_module:
                mod_text = spec.clean_module(mod_text)
            imp = Import(mod_text, _text(source, name[0]) if name else None,
                         _text(source, alias[0]) if alias else None, anchor.start_point.row + 1)
            key = (imp.module, imp.name, imp.alias, imp.line)
            if key not in seen_imports:
                seen_imports.add(key)
                facts.imports.append(imp)

    # --- references: every identifier that is not a definition's name, as byte offsets
    facts.refs = _references(source, ref_nodes, def_names)
    starts = facts.line_starts = line_starts(source)
    facts.chunks = make_chunks(facts, source, starts)
    return facts


def _references(source: bytes, ref_nodes: list[ts.Node], def_names: list[tuple[int, int]]) -> dict[str, list[int]]:
    """{identifier: sorted start bytes} of the identifier nodes that are no definition's
    name. The loop over every identifier (a million in the standard library) does only
    the grouping; definition names are taken out of their groups afterwards."""
    by_name: dict[bytes, list[int]] = {}
    for node in ref_nodes:
        start = node.start_byte
        name = source[start:node.end_byte]
        bucket = by_name.get(name)
        if bucket is None:
            by_name[name] = [start]
        else:
            bucket.append(start)
    for offsets in by_name.values():
        offsets.sort()   # already in order, as the query walked the tree: one pass
    # names made of several identifiers (C++ a::b) exclude everything inside them
    compound = sorted((start, end) for start, end in def_names
                      if b":" in source[start:end] or b"." in source[start:end])
    for start, end in def_names:
        offsets = by_name.get(source[start:end])
        if offsets:
            i = bisect_left(offsets, start)
            if i < len(offsets) and offsets[i] == start:
                del offsets[i]
    if compound:
        compound_starts = [start for start, _ in compound]

        def outside(offset: int) -> bool:
            i = bisect_right(compound_starts, offset) - 1
            return i < 0 or offset >= compound[i][1]
        for name, offsets in by_name.items():
            by_name[name] = [offset for offset in offsets if outside(offset)]
    return {name.decode("utf-8", "replace"): offsets for name, offsets in by_name.items() if offsets}


def make_chunks(facts: FileFacts, source: bytes, starts: Optional[list[int]] = None) -> list[Chunk]:
    """Each function and class is a chunk; lines outside top-level definitions form windows."""
    chunks: list[Chunk] = []
    starts = starts if starts is not None else line_starts(source)
    n_lines = len(starts)

    def line_end_byte(line: int) -> int:  # line is 1-based, inclusive
        return starts[line] if line < n_lines else len(source)

    covered = bytearray(n_lines + 2)   # 1 at each line (1-based) inside a top-level definition
    covered[0] = covered[n_lines + 1] = 1
    for idx, sym in enumerate(facts.symbols):
        if sym.kind in FUNCTION_LIKE:
            chunks.append(Chunk(sym.kind, sym.qualname, idx, sym.start_line, sym.end_line,
                                sym.start_byte, sym.end_byte))
        elif sym.kind in CLASS_LIKE:
            end_line = min(sym.end_line, sym.start_line + CLASS_CHUNK_LINES - 1)
            end_byte = sym.end_byte if end_line == sym.end_line else line_end_byte(end_line)
            chunks.append(Chunk(sym.kind, sym.qualname, idx, sym.start_line, end_line, sym.start_byte, end_byte))
        if sym.parent is None:
            covered[sym.start_line:sym.end_line + 1] = b"\1" * (sym.end_line + 1 - sym.start_line)
    line = covered.find(0)
    while line != -1:
        gap_end = covered.find(1, line)      # first covered line after the gap (n_lines + 1 at most)
        for first in range(line, gap_end, WINDOW_LINES):
            last = min(first + WINDOW_LINES, gap_end) - 1
            start_b, end_b = starts[first - 1], line_end_byte(last)
            if source[start_b:end_b].strip():
                chunks.append(Chunk("window", f"lines {first}-{last}", None, first, last, start_b, end_b))
        line = covered.find(0, gap_end)
    return chunks
