"""Prompt proposals for a cursor, from the store (RLPG, Shrivastava et al. 2023; RepoFusion).

A proposal is one piece of repository context: a *source* (where it comes from) in a *form*
(what is taken from it), cut to a token budget (``text.cut_head``/``cut_tail``; tokens are
words and punctuation marks).

Sources
    in_file_prior        the lines before the cursor's line (the end nearest the cursor)
    in_file_post         the lines after the cursor's line
    imported             files the current file imports (module paths resolved in the store)
    parent_class         files defining the base classes of the class around the cursor
    child_class          files with classes that derive from this file's classes
    importer             files that import the current file
    sibling              other files of the same language in the same folder
    similar_name         files whose name shares a sub-word with this one (test_foo.py ~ foo.py)
    bm25                 chunks ranked by BM25 against the identifiers near the cursor
    dense                chunks ranked by cosine similarity of hashed sub-word vectors
Forms (for the file sources)
    method_bodies        function and method definitions (signature and body)
    identifiers          the identifiers the file uses, most used first
    type_identifiers     class names and capitalised identifiers
    string_literals      the file's string literals
    field_declarations   assignments to attributes and module/class-level names, typed fields
The chunk sources have one form, ``chunk``; the in-file sources ``lines``.

Order (a heuristic until a learned ranker replaces it): the two in-file proposals come first
(prior lines, then post lines). Every other proposal is scored

    score = SOURCE_WEIGHT[source] * FORM_WEIGHT[form] * (0.2 + overlap)

where ``overlap`` is the share of the distinct identifiers of the 30 lines before and 10
after the cursor that the proposal's text contains; highest score first, identical texts
kept once. The weights follow RLPG's finding that imported files, the parent class and
retrieved similar code help most and sibling / similar-name files less; method bodies
carry the most signal, identifiers next.
"""
from __future__ import annotations

import posixpath
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Iterable, Optional

from codeintel.retrieval.lexical import bm25_chunks
from codeintel.retrieval.text import IDENTIFIER, count_tokens, cut_head, cut_tail, identifiers, subwords

from .cursor import Cursor

SOURCE_WEIGHT = {"imported": 1.0, "parent_class": 1.0, "bm25": 0.95, "dense": 0.85, "child_class": 0.7,
                 "importer": 0.6, "sibling": 0.55, "similar_name": 0.5}
FORM_WEIGHT = {"method_bodies": 1.0, "chunk": 1.0, "identifiers": 0.8, "field_declarations": 0.7,
               "type_identifiers": 0.6, "string_literals": 0.4}
FILES_PER_SOURCE = 3
DEFAULT_BUDGET = 128
# caches shared by all threads: file forms by (store, path, content); per store, a view of its paths
# and classes by index time
_PARTS_CACHE: OrderedDict = OrderedDict()
_PARTS_LOCK = threading.Lock()
_PARTS_CACHE_SIZE = 256
_PATHS_CACHE: dict = {}
_CLASS_BASES = re.compile(r"^\s*class\s+\w+\s*\(([^)]*)\)")
_STRING = re.compile(r"""(?:[rbuRBU]{0,2})("[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*')""")
_FIELD = re.compile(r"^[ \t]*(?:self\.\w+\s*(?::[^=\n]+)?=(?!=)|[A-Za-z_]\w*\s*:\s*[^=\n]+(?:=.*)?$|"
                    r"[A-Z_][A-Z0-9_]*\s*=(?!=)).*$", re.M)


@dataclass
class Proposal:
    source: str
    form: str
    path: Optional[str]
    text: str
    score: float = 0.0
    whole: str = ""      # a retrieved chunk before it was cut to the budget ('' when not cut)

    def to_dict(self) -> dict:
        return {"source": self.source, "form": self.form, "path": self.path, "score": round(self.score, 4),
                "text": self.text}


# ------------------------------------------------------------------------------- the buffer's facts
_FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.M)
_PLAIN_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;]+)", re.M)
_CLASS_LINE = re.compile(r"^([ \t]*)class[ \t]+([A-Za-z_]\w*)[ \t]*(\([^)]*\))?[ \t]*:", re.M)


@dataclass
class BufferFacts:
    """What the proposals need from the (unsaved) buffer, read with a few regular expressions
    (Python syntax; a parse of a large buffer per keystroke would cost more than all the
    rest): its imports, the base classes of the classes around the cursor, its classes."""
    imports: list          # (module, name or None, alias or None)
    enclosing_bases: list  # base-class names of the classes enclosing the cursor
    classes: list          # names of the classes the buffer defines


def buffer_facts(cursor: Cursor) -> Optional[BufferFacts]:
    if not cursor.rel_path.endswith((".py", ".pyi", ".pyw")):
        return None
    text = cursor.buffer
    imports = []
    for match in _FROM_IMPORT.finditer(text):
        for item in match.group(2).strip("() \t").replace("\n", " ").split(","):
            words = item.split()
            if words:
                imports.append((match.group(1), words[0], words[2] if len(words) == 3 and words[1] == "as" else None))
    for match in _PLAIN_IMPORT.finditer(text):
        for item in match.group(1).split(","):
            words = item.split()
            if words:
                imports.append((words[0], None, words[2] if len(words) == 3 and words[1] == "as" else None))
    classes = [m.group(2) for m in _CLASS_LINE.finditer(text)]
    return BufferFacts(imports, _enclosing_bases(cursor), classes)


def _enclosing_bases(cursor: Cursor) -> list[str]:
    """Base classes of the ``class`` lines that enclose the cursor: no code line between such a
    line and the cursor is indented as little as it is."""
    text = cursor.prefix
    bases = []
    shallowest = None
    for match in reversed(list(_CLASS_LINE.finditer(text))):
        indent = len(match.group(1).expandtabs())
        if shallowest is not None and indent >= shallowest:
            continue
        between = text[match.end():]
        if re.search(r"\n[ \t]{0,%d}[^\s#]" % indent, between):
            if indent == 0:
                break
            continue
        bases += _class_bases(match.group(0))
        shallowest = indent
        if indent == 0:
            break
    return bases


def module_candidates(rel_path: str, module: str, name: Optional[str]) -> list[str]:
    """Path suffixes a Python import may refer to (``pkg.mod`` -> pkg/mod.py, pkg/mod/__init__.py;
    a name imported from a package may be a submodule; leading dots are relative to ``rel_path``)."""
    dots = len(module) - len(module.lstrip("."))
    parts = [p for p in module.lstrip(".").split(".") if p]
    if dots:
        base = posixpath.dirname(rel_path).split("/") if posixpath.dirname(rel_path) else []
        base = base[:len(base) - (dots - 1)] if dots > 1 else base
        parts = base + parts
    out = []
    if parts:
        stem = "/".join(parts)
        out += [stem + ".py", stem + "/__init__.py"]
    if name and name != "*":
        stem = "/".join(parts + name.split("."))
        out += [stem + ".py", stem + "/__init__.py"]
    return [p for p in out if p]


def _module_names(rel_path: str) -> list[str]:
    """The names other files may import ``rel_path`` by."""
    stem = rel_path[:-len("/__init__.py")] if rel_path.endswith("/__init__.py") else posixpath.splitext(rel_path)[0]
    parts = [p for p in stem.split("/") if p]
    names = [".".join(parts[i:]) for i in range(len(parts))]
    return names + ["." + parts[-1]] if parts else names


def _class_bases(signature: Optional[str]) -> list[str]:
    match = _CLASS_BASES.match(signature or "")
    if not match:
        return []
    out = []
    for base in match.group(1).split(","):
        base = base.strip()
        if base and "=" not in base:
            out.append(base.split("[")[0].rsplit(".", 1)[-1])
    return [b for b in out if b.isidentifier() and b != "object"]


# ------------------------------------------------------------------------------- related files
def _repository_view(store) -> dict:
    """Cached per store and index time: the indexed paths, the paths by file name, and each
    class that names bases with those base names."""
    stamp = store.get_meta("last_indexed_at")
    with _PARTS_LOCK:
        view = _PATHS_CACHE.get(str(store.path))
        if view is not None and view["stamp"] == stamp:
            return view
    paths = store.indexed_paths()
    by_name: dict[str, list[str]] = {}
    for path in paths:
        by_name.setdefault(posixpath.basename(path), []).append(path)
    derived = [(row["path"], set(_class_bases(row["signature"]))) for row in store.derived_classes()]
    view = {"stamp": stamp, "paths": paths, "by_name": by_name, "derived": derived}
    with _PARTS_LOCK:
        _PATHS_CACHE[str(store.path)] = view      # replaced whole, never changed: safe to share
    return view


def resolve_module_paths(by_name: dict[str, list[str]], suffixes: list[str]) -> list[str]:
    """The indexed paths equal to, or ending in '/' + , one of ``suffixes``, shortest first."""
    out = []
    for suffix in suffixes:
        matches = [p for p in by_name.get(posixpath.basename(suffix), ())
                   if p == suffix or p.endswith("/" + suffix)]
        out += sorted(matches, key=len)
    return list(dict.fromkeys(out))


def related_files(store, cursor: Cursor, facts, exclude: set[str]) -> dict[str, list[str]]:
    """Source name -> paths of the related files in the store (at most FILES_PER_SOURCE each, in
    the order parent_class, imported, child_class, importer, sibling, similar_name; a file is
    listed under the first source that finds it)."""
    me = cursor.rel_path
    skip = exclude | {me}
    found: dict[str, list[str]] = {}
    view = _repository_view(store)
    all_paths, by_name = view["paths"], view["by_name"]

    def put(source: str, paths: Iterable[str]) -> None:
        keep = [p for p in dict.fromkeys(paths) if p not in skip][:FILES_PER_SOURCE]
        if keep:
            found[source] = keep
            skip.update(keep)     # a file counts under its first (most specific) source only

    if facts is not None:
        if facts.enclosing_bases:
            put("parent_class", [row["path"] for row in store.class_definitions(facts.enclosing_bases)])
        near = set(identifiers(cursor.nearby()))
        imports = sorted(facts.imports, key=lambda i: not ((i[1] or i[0].rsplit(".", 1)[-1]) in near
                                                          or (i[2] or "") in near))
        paths: list[str] = []
        for module, name, _ in imports:
            paths += resolve_module_paths(by_name, module_candidates(me, module, name))
            if len(paths) > 2 * FILES_PER_SOURCE:
                break
        put("imported", paths)
        mine = set(facts.classes)
        if mine:
            put("child_class", [path for path, bases in view["derived"] if mine & bases])
    put("importer", store.importers_of(_module_names(me)))
    folder, ext = posixpath.dirname(me), posixpath.splitext(me)[1]
    all_paths = [p for p in all_paths if posixpath.splitext(p)[1] == ext]
    mine = set(subwords(posixpath.splitext(posixpath.basename(me))[0])) - {"test", "tests", "init"}
    siblings = [p for p in all_paths if posixpath.dirname(p) == folder]

    def name_overlap(path: str) -> int:
        return len(mine & set(subwords(posixpath.splitext(posixpath.basename(path))[0])))

    put("sibling", sorted(siblings, key=lambda p: -name_overlap(p)))
    if mine:
        similar = [p for p in all_paths if p not in siblings and name_overlap(p)]
        put("similar_name", sorted(similar, key=lambda p: (-name_overlap(p), len(p))))
    return found


# ------------------------------------------------------------------------------- forms
@dataclass
class _FileParts:
    static: dict          # form -> text, the forms that do not depend on the cursor (full, uncut)
    functions: list       # (name, text, tokens) of each function and method, in source order
    cut: dict = None      # budget -> the static forms cut to it

    def static_cut(self, budget: int) -> dict:
        if self.cut is None:
            self.cut = {}
        if budget not in self.cut:
            self.cut[budget] = {form: cut_head(text, budget) for form, text in self.static.items()}
        return self.cut[budget]




def _file_parts(store, path: str) -> _FileParts:
    """A file's forms before cutting, cached by store, path and content (its blob id)."""
    blob = store.file_blob(path)
    raw = None if blob else (store.file_content(path) or b"")
    key = (str(store.path), path, blob or hash(raw))
    with _PARTS_LOCK:
        if key in _PARTS_CACHE:
            _PARTS_CACHE.move_to_end(key)
            return _PARTS_CACHE[key]
    if raw is None:
        raw = store.file_content(path) or b""
    content = raw.decode("utf-8", "replace")
    symbols = store.file_symbols(path)
    idents = [name for name, _ in store.file_identifiers(path)]
    classes = [s["name"] for s in symbols if s["kind"] == "class"]
    types = list(dict.fromkeys(classes + [n for n in idents if n[:1].isupper()]))
    static = {
        "identifiers": " ".join(idents),
        "type_identifiers": " ".join(types),
        "string_literals": " ".join(dict.fromkeys(m.group(1) for m in _STRING.finditer(content))),
        "field_declarations": "\n".join(dict.fromkeys(m.group(0).strip() for m in _FIELD.finditer(content))),
    }
    functions = []
    for sym in symbols:
        if sym["kind"] in ("function", "method"):
            body = raw[sym["start_byte"]:sym["end_byte"]].decode("utf-8", "replace")
            functions.append((sym["name"], body, count_tokens(body)))
    parts = _FileParts(static, functions)
    with _PARTS_LOCK:
        _PARTS_CACHE[key] = parts
        while len(_PARTS_CACHE) > _PARTS_CACHE_SIZE:
            _PARTS_CACHE.popitem(last=False)
    return parts


def _method_bodies(functions: list, near: set[str], budget: int) -> str:
    """Function texts up to the budget, those whose names occur near the cursor first."""
    order = sorted(range(len(functions)), key=lambda i: (functions[i][0] not in near, i))
    pieces, used = [], 0
    for i in order:
        _, body, cost = functions[i]
        if used and used + cost > budget:
            continue
        pieces.append(body)
        used += cost
        if used >= budget:
            break
    return cut_head("\n\n".join(pieces), budget)


def file_forms(store, path: str, near: set[str], budget: int) -> dict[str, str]:
    """The forms of one file, each cut to ``budget`` tokens (empty forms left out)."""
    parts = _file_parts(store, path)
    forms = {"method_bodies": _method_bodies(parts.functions, near, budget)}
    forms.update(parts.static_cut(budget))
    return {form: text for form, text in forms.items() if text.strip()}


# ------------------------------------------------------------------------------- all together
def make_proposals(store, cursor: Cursor, *, budget: int = DEFAULT_BUDGET, limit: int = 32, dense=None,
                   exclude_paths: Iterable[str] = (), bm25: int = 8, dense_k: int = 4,
                   facts=None) -> list[Proposal]:
    """The ranked proposals for ``cursor`` (see the module docstring). ``store`` may be None
    (no index): then only the in-file proposals. ``dense``: a ``DenseIndex`` or None."""
    out = []
    prior = cut_tail(cursor.prior_lines, budget)
    if prior.strip():
        out.append(Proposal("in_file_prior", "lines", cursor.rel_path, prior, float("inf")))
    post = cut_head(cursor.suffix.lstrip("\n"), budget)
    if post.strip():
        out.append(Proposal("in_file_post", "lines", cursor.rel_path, post, float("inf")))
    if store is None:
        return out[:limit]
    exclude = set(exclude_paths)
    nearby = cursor.nearby()
    near = set(identifiers(nearby))
    facts = facts if facts is not None else buffer_facts(cursor)
    ranked: list[Proposal] = []
    for source, paths in related_files(store, cursor, facts, exclude).items():
        for path in paths:
            for form, text in file_forms(store, path, near, budget).items():
                ranked.append(Proposal(source, form, path, text))
    skip = exclude | {cursor.rel_path}
    for hit in bm25_chunks(store, nearby, limit=bm25, exclude_paths=skip) if bm25 else []:
        ranked.append(Proposal("bm25", "chunk", hit.path, cut_head(hit.text, budget), whole=hit.text))
    for hit in dense.search(store, nearby, limit=dense_k, exclude_paths=skip) if dense is not None and dense_k else []:
        ranked.append(Proposal("dense", "chunk", hit.path, cut_head(hit.text, budget), whole=hit.text))
    for p in ranked:
        have = set(IDENTIFIER.findall(p.text))
        overlap = len(near & have) / len(near) if near else 0.0
        p.score = SOURCE_WEIGHT[p.source] * FORM_WEIGHT[p.form] * (0.2 + overlap)
    ranked.sort(key=lambda p: -p.score)
    seen = {p.text for p in out}
    for p in ranked:
        if p.text not in seen:
            seen.add(p.text)
            out.append(p)
    return out[:limit]
