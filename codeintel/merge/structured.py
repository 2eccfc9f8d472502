"""Syntax-aware three-way merge (Mergiraf-style, simplified): one candidate generator of the merge
driver, merging base, ours and theirs on their tree-sitter trees.

``structured_merge(base, ours, theirs, path)`` returns the merged text, or None where it cannot merge
cleanly (a real conflict, a language it does not know, input that does not parse, input over the
size and time bounds). It never raises.

Method. The three versions are parsed with the indexer's grammars (``indexer.languages``). Merging a
node whose three versions differ: a side equal to the base gives way to the other; two sides that
changed the same node differently are merged child by child when the node has the same type on all
three, and are a conflict at a leaf. The children of the three versions are aligned (exact text,
then same type and text, then same type and name, then by position where the counts and types
agree); every base child then is kept, changed (one side's change, or both merged recursively) or
deleted (deleted on one side and untouched on the other; deleted against modified is a conflict).
What each side inserted between two base children goes in at that place; where both sides inserted
different things at the same place, both are kept, ours then theirs, only if that sequence's order
does not matter (``structured_kinds``: imports, definitions, class members, decorators, entries of a
list/dict/set literal or an enum, switch cases), else it is a conflict. Whitespace between
children is merged like text (one side's change wins, two different changes conflict). The result
is reassembled from the original source slices (no pretty-printing) and must parse without errors.

A conflict region (a few lines, not a whole file) may not parse alone: ``context_before`` and
``context_after`` (the merged lines around it) are tried around it first, then the region alone;
a region indented as a whole (a method body) is dedented for the parse and indented back.
"""
from __future__ import annotations

import time
from difflib import SequenceMatcher
from typing import Callable, Optional

from .structured_kinds import COMMENTS, PARENTS, SEPARATORS, order_free, signature

MAX_BYTES = 64 * 1024          # per side
MAX_NODES = 60_000             # per tree
MAX_DEPTH = 300                # recursion into the trees
TIME_BUDGET_S = 2.0            # per call

_LANGUAGE_ALIASES = {"c++": "cpp", "c#": None, "js": "javascript", "ts": "typescript", "py": "python"}


class _Conflict(Exception):
    """Internal: the versions cannot be merged cleanly (or a bound was hit)."""


class _Elem:
    """One child of a node: the text between the previous child and it (``gap``) and its own text."""
    __slots__ = ("node", "gap", "text", "type", "named")

    def __init__(self, node, gap: bytes, text: bytes):
        self.node, self.gap, self.text = node, gap, text
        self.type = node.type
        self.named = node.is_named

    @property
    def full(self) -> bytes:
        return self.gap + self.text


def _elements(node, src: bytes) -> tuple[list[_Elem], bytes]:
    """The node's children with their leading gaps, and the text after the last child."""
    out, prev = [], node.start_byte
    for child in node.children:
        start = max(child.start_byte, prev)
        out.append(_Elem(child, src[prev:start], src[start:child.end_byte]))
        prev = max(prev, child.end_byte)
    return out, src[prev:node.end_byte]


def _merge3(base: bytes, ours: bytes, theirs: bytes) -> bytes:
    if ours == theirs or base == theirs:
        return ours
    if base == ours:
        return theirs
    raise _Conflict("text")


def _align(base: list[_Elem], side: list[_Elem], positional: bool = True) -> dict[int, int]:
    """Base index -> side index of the children that are the same element (monotonic); the last
    resort, pairing by position, only where ``positional``."""
    pairs: dict[int, int] = {}

    def sig_key(e: _Elem):
        s = signature(e.node) if e.named else None
        return (e.type, s) if s is not None else object()

    keys: list[Callable] = [lambda e: (e.type, e.gap, e.text), lambda e: (e.type, e.text), sig_key]

    def rec(b0: int, b1: int, s0: int, s1: int, level: int) -> None:
        if b0 >= b1 or s0 >= s1:
            return
        if level == len(keys):
            if positional and b1 - b0 == s1 - s0 and all(base[b0 + i].type == side[s0 + i].type for i in range(b1 - b0)):
                pairs.update((b0 + i, s0 + i) for i in range(b1 - b0))
            return
        key = keys[level]
        kb = [key(e) for e in base[b0:b1]]
        ks = [key(e) for e in side[s0:s1]]
        pb, ps = b0, s0
        for i, j, size in SequenceMatcher(None, kb, ks, autojunk=False).get_matching_blocks():
            rec(pb, b0 + i, ps, s0 + j, level + 1)
            pairs.update((b0 + i + k, s0 + j + k) for k in range(size))
            pb, ps = b0 + i + size, s0 + j + size

    rec(0, len(base), 0, len(side), 0)
    return pairs


def _insertions(n_base: int, side: list[_Elem], matched: dict[int, int]) -> list[list[int]]:
    """slot k (0..n_base) -> the side's unmatched children that stand before base child k."""
    slots: list[list[int]] = [[] for _ in range(n_base + 1)]
    back = {s: b for b, s in matched.items()}
    nxt = n_base
    for s in range(len(side) - 1, -1, -1):
        if s in back:
            nxt = back[s]
        else:
            slots[nxt].insert(0, s)
    return slots


class _Merger:
    def __init__(self, language: str, srcs: tuple[bytes, bytes, bytes], deadline: float):
        self.language = language
        self.bsrc, self.osrc, self.tsrc = srcs
        self.deadline = deadline

    def node(self, b, o, t, depth: int = 0) -> bytes:
        bt = self.bsrc[b.start_byte:b.end_byte]
        ot = self.osrc[o.start_byte:o.end_byte]
        tt = self.tsrc[t.start_byte:t.end_byte]
        if ot == tt or bt == tt:
            return ot
        if bt == ot:
            return tt
        if depth > MAX_DEPTH or time.monotonic() > self.deadline:
            raise _Conflict("bounds")
        if not (b.type == o.type == t.type) or 0 in (b.child_count, o.child_count, t.child_count):
            raise _Conflict("leaf")
        return self.children(b, o, t, depth)

    def children(self, b, o, t, depth: int) -> bytes:
        B, btail = _elements(b, self.bsrc)
        O, otail = _elements(o, self.osrc)
        T, ttail = _elements(t, self.tsrc)
        free_parent = b.type in PARENTS.get(self.language, ())
        mo, mt = _align(B, O, not free_parent), _align(B, T, not free_parent)
        ins_o, ins_t = _insertions(len(B), O, mo), _insertions(len(B), T, mt)
        self.drop_repeated(ins_o, O, ins_t, T, b.type)
        self.check_adjacent(b.type, B, mo, ins_o, O, mt, ins_t, T)
        out: list[bytes] = []
        emitted: list[str] = []
        for k in range(len(B) + 1):
            for part, kind in self.inserted(b.type, k, O, ins_o[k], T, ins_t[k], otail):
                out.append(part)
                emitted.append(kind)
            if k == len(B):
                break
            part = self.kept(B[k], O[mo[k]] if k in mo else None, T[mt[k]] if k in mt else None, depth)
            if part is not None:
                out.append(part)
                emitted.append(B[k].type)
        for prev, cur in zip(emitted, emitted[1:]):
            if cur == "," and prev in (",", "(", "[", "{"):
                raise _Conflict("separators")
        out.append(_merge3(btail, otail, ttail))
        return b"".join(out)

    def drop_repeated(self, ins_o: list[list[int]], O: list[_Elem], ins_t: list[list[int]], T: list[_Elem],
                      parent_type: str) -> None:
        """Theirs' insertion runs that only repeat what ours inserted elsewhere in an order-free
        sequence are dropped (ours' copy stays where ours put it)."""
        ours_texts = {O[i].text for run in ins_o for i in run if O[i].named and O[i].type not in COMMENTS}
        if not ours_texts:
            return
        for k, run in enumerate(ins_t):
            named = [T[i] for i in run if T[i].named and T[i].type not in COMMENTS]
            if named and run != [] and all(e.text in ours_texts for e in named) and \
                    order_free(self.language, parent_type, [e.type for e in named]):
                ins_t[k] = []

    def check_adjacent(self, parent_type: str, B: list[_Elem], mo: dict, ins_o: list[list[int]], O: list[_Elem],
                       mt: dict, ins_t: list[list[int]], T: list[_Elem]) -> None:
        """A deletion on one side next to a deletion or an insertion on the other is a conflict
        (the order of what is left is ambiguous), as in Mergiraf."""
        def touched(matched: dict, other: dict, ins: list[list[int]]) -> tuple[set, set]:
            deleted = {k for k in range(len(B)) if k not in matched and k in other}
            dslots = {k for d in deleted for k in (d, d + 1)}
            islots = {k for k, run in enumerate(ins) if run}
            return dslots, islots

        for ins, side, other_matched, other in ((ins_o, O, mt, T), (ins_t, T, mo, O)):
            for k, run in enumerate(ins):
                first = side[run[0]] if run else None
                if first is not None and first.type in COMMENTS and b"\n" not in first.gap and k > 0 \
                        and (k - 1 not in other_matched or other[other_matched[k - 1]].text != B[k - 1].text):
                    raise _Conflict("a comment added to what the other side changed")
        do, io = touched(mo, mt, ins_o)
        dt, it = touched(mt, mo, ins_t)
        if "argument" in parent_type or "parameter" in parent_type:
            # one side changed the arity of a call or a signature: any other change to it is a guess
            def arity(matched: dict, ins: list[list[int]], side: list[_Elem]) -> bool:
                return any(k not in matched and B[k].named for k in range(len(B))) or \
                    any(side[i].named for run in ins for i in run)

            o_arity, t_arity = arity(mo, ins_o, O), arity(mt, ins_t, T)
            o_any = o_arity or any(O[mo[k]].text != B[k].text for k in mo)
            t_any = t_arity or any(T[mt[k]].text != B[k].text for k in mt)
            if (o_arity and t_any) or (t_arity and o_any):
                raise _Conflict("arity changed beside another change")
        if not (do & (dt | it) or dt & io):
            return
        # unless all that was deleted or inserted commutes (imports, definitions): then the order is free
        changed = [B[k] for k in range(len(B)) if k not in mo or k not in mt]
        changed += [O[i] for run in ins_o for i in run] + [T[i] for run in ins_t for i in run]
        named = [e.type for e in changed if e.named and e.type not in COMMENTS]
        if not order_free(self.language, "", named):
            raise _Conflict("adjacent changes")

    def kept(self, be: _Elem, oe: Optional[_Elem], te: Optional[_Elem], depth: int) -> Optional[bytes]:
        if oe is None and te is None:
            return None
        if oe is None or te is None:
            other = oe if te is None else te
            if other.text == be.text:
                return None         # deleted on one side, untouched on the other
            raise _Conflict("delete/modify")
        gap = _merge3(be.gap, oe.gap, te.gap)
        return gap + self.node(be.node, oe.node, te.node, depth + 1)

    def inserted(self, parent_type: str, slot: int, O: list[_Elem], o_idx: list[int],
                 T: list[_Elem], t_idx: list[int], otail: bytes) -> list[tuple[bytes, str]]:
        """What goes in before base child ``slot``: (text, node type) of each element."""
        if not t_idx:
            return [(O[i].full, O[i].type) for i in o_idx]
        if not o_idx:
            return [(T[i].full, T[i].type) for i in t_idx]
        o_run, t_run = [O[i] for i in o_idx], [T[i] for i in t_idx]
        if [e.full for e in o_run] == [e.full for e in t_run]:
            return [(e.full, e.type) for e in o_run]
        named = [e for e in o_run + t_run if e.named and e.type not in COMMENTS]
        if any(not e.named and e.text.strip() not in SEPARATORS and e.type not in SEPARATORS
               for e in o_run + t_run):
            raise _Conflict("insert/insert")
        if not order_free(self.language, parent_type, [e.type for e in named]):
            raise _Conflict("insert/insert")
        o_texts = {e.text for e in o_run if e.named and e.type not in COMMENTS}
        t_texts = {e.text for e in t_run if e.named and e.type not in COMMENTS}
        if o_texts & t_texts:
            # the same element inserted by both, and others beside it: a subset dropped or a
            # superset kept are both guesses
            raise _Conflict("overlapping inserts")
        # what a run ends with that belongs to the base child after it (attributes, comments on
        # their own line) stays next to that child: theirs goes in before ours' trailing part
        o_head, o_trail = _split_trailing(o_run)
        t_head, t_trail = _split_trailing(t_run)
        if o_trail and t_trail:
            raise _Conflict("two leading parts")
        if not o_head or not t_head:
            raise _Conflict("insert/insert")
        joined = o_head + t_head
        gaps = [e.gap for e in joined]
        if slot == 0 and t_head[0].gap == b"":
            # both inserted at the very start: separate them as ours separated its run from what followed
            nxt = o_idx[len(o_head) - 1] + 1
            gaps[len(o_head)] = O[nxt].gap if nxt < len(O) else otail
        if _sorted_imports(O) and _sorted_imports(T) and all(e.type == joined[0].type for e in joined) \
                and _is_import(joined[0].type):
            joined = sorted(joined, key=lambda e: e.text)   # both sides keep imports sorted: so does the merge
        parts = [(gap + e.text, e.type) for gap, e in zip(gaps, joined)]
        return parts + [(e.full, e.type) for e in o_trail + t_trail]


def _is_import(node_type: str) -> bool:
    return "import" in node_type or node_type in ("use_declaration", "preproc_include")


def _sorted_imports(elems: list[_Elem]) -> bool:
    """The imports among these siblings are in sorted order (and there are at least three)."""
    texts = [e.text for e in elems if _is_import(e.type)]
    return len(texts) >= 3 and texts == sorted(texts)


_LEADING = frozenset({"attribute_item", "inner_attribute_item", "decorator"}) | COMMENTS


def _split_trailing(run: list[_Elem]) -> tuple[list[_Elem], list[_Elem]]:
    """The run without, and the run's tail of, elements that lead the next one (attributes,
    comments on a line of their own)."""
    cut = len(run)
    while cut > 0 and run[cut - 1].type in _LEADING and (run[cut - 1].type not in COMMENTS
                                                         or b"\n" in run[cut - 1].gap or cut == 1):
        cut -= 1
    return run[:cut], run[cut:]


# ------------------------------------------------------------------------------- parsing
def _spec_for(path: Optional[str], language: Optional[str]):
    from indexer.languages import get_spec, language_for_path

    spec = language_for_path(path) if path else None
    if spec is None and language:
        name = language.strip().lower()
        name = _LANGUAGE_ALIASES.get(name, name)
        try:
            return get_spec(name) if name else None
        except KeyError:
            return None
    return spec


_PARSERS: dict[str, object] = {}


def _parse(spec, src: bytes):
    parser = _PARSERS.get(spec.name)
    if parser is None:
        parser = _PARSERS[spec.name] = spec.parser()
    tree = parser.parse(src)
    root = tree.root_node
    if root.has_error or root.descendant_count > MAX_NODES:
        return None
    return tree


def _merge_sources(spec, srcs: tuple[bytes, bytes, bytes], deadline: float) -> Optional[bytes]:
    """Merge three whole sources of one language; None when a side does not parse, _Conflict when
    they cannot be merged or the merge does not parse."""
    trees = []
    for src in srcs:
        tree = _parse(spec, src)
        if tree is None:
            return None
        trees.append(tree)
    b, o, t = (tree.root_node for tree in trees)
    merger = _Merger(spec.name, srcs, deadline)
    bs, os_, ts_ = srcs
    head = _merge3(bs[:b.start_byte], os_[:o.start_byte], ts_[:t.start_byte])
    tail = _merge3(bs[b.end_byte:], os_[o.end_byte:], ts_[t.end_byte:])
    merged = head + merger.node(b, o, t) + tail
    if _parse(spec, merged) is None:
        raise _Conflict("the merge does not parse")
    return merged


def _common_indent(texts: list[str]) -> str:
    """The indentation every non-empty line of the texts starts with ('' if a line is blank but
    not empty, so that dedenting stays reversible)."""
    indent: Optional[str] = None
    for text in texts:
        for line in text.splitlines():
            if not line:
                continue
            if not line.strip():
                return ""
            lead = line[:len(line) - len(line.lstrip(" \t"))]
            if indent is None:
                indent = lead
            else:
                n = 0
                while n < min(len(indent), len(lead)) and indent[n] == lead[n]:
                    n += 1
                indent = indent[:n]
            if not indent:
                return ""
    return indent or ""


def _reindent(text: str, indent: str, dedent: bool) -> str:
    lines = text.splitlines(keepends=True)
    if dedent:
        return "".join(line[len(indent):] if line.strip("\r\n") else line for line in lines)
    return "".join(indent + line if line.strip("\r\n") else line for line in lines)


def _attempts(base: str, ours: str, theirs: str, before: str, after: str):
    """(prefix, suffix, indent) framings to try, most context first."""
    framings = []
    if before or after:
        framings.append((before, after))
    framings.append(("", ""))
    for pre, post in framings:
        texts = [pre + base + post, pre + ours + post, pre + theirs + post]
        yield pre, post, ""
        indent = _common_indent(texts)
        if indent:
            yield pre, post, indent


def structured_merge(base: str, ours: str, theirs: str, path: Optional[str] = None, *,
                     language: Optional[str] = None, context_before: str = "",
                     context_after: str = "") -> Optional[str]:
    """The syntax-aware merge of three versions of a region or a whole file, or None.

    ``path`` picks the grammar by extension; ``language`` (a name such as ``"python"`` or
    ``"C++"``) where the extension tells none. ``context_before``/``context_after``: the merged text around a region,
    used only to help it parse; the result is the region's merge without them. None: a conflict,
    an unknown language, a side that does not parse, a result that does not parse, or input over the
    bounds (``MAX_BYTES`` per side, ``MAX_NODES``, ``TIME_BUDGET_S``). Never raises.
    """
    try:
        if ours == theirs:
            return ours
        if base == ours:
            return theirs
        if base == theirs:
            return ours
        if max(len(base), len(ours), len(theirs)) + len(context_before) + len(context_after) > MAX_BYTES:
            return None
        spec = _spec_for(path, language)
        if spec is None:
            return None
        deadline = time.monotonic() + TIME_BUDGET_S
        for pre, post, indent in _attempts(base, ours, theirs, context_before, context_after):
            if time.monotonic() > deadline:
                return None
            sides = [pre + s + post for s in (base, ours, theirs)]
            if indent:
                sides = [_reindent(s, indent, dedent=True) for s in sides]
            try:
                merged = _merge_sources(spec, tuple(s.encode("utf-8") for s in sides), deadline)
            except _Conflict:
                return None         # all three parsed: a real conflict, not a framing to retry
            if merged is None:
                continue            # a side does not parse this way: try the next framing
            text = merged.decode("utf-8")
            if indent:
                text = _reindent(text, indent, dedent=False)
            if not (text.startswith(pre) and text.endswith(post)) or len(pre) + len(post) > len(text):
                return None
            return text[len(pre):len(text) - len(post)]
        return None
    except RecursionError:
        return None
    except Exception:  # noqa: BLE001 - a candidate generator must never break the driver
        return None


__all__ = ["MAX_BYTES", "MAX_NODES", "TIME_BUDGET_S", "structured_merge"]
