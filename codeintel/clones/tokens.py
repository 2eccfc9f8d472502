"""The normalised token stream of one source file, the input of fingerprinting.

Leaves of the tree-sitter tree become tokens: identifiers turn into ``$id`` and literals
(strings, numbers, characters) into ``$lit``, so that renaming a variable or changing a
constant does not change the stream; comments and whitespace produce no token. Keywords,
operators and punctuation keep their text. Each token keeps its byte span, so that a match
maps back to exact ranges of the original file. A file that does not parse is still
tokenised (tree-sitter keeps the leaves of ERROR nodes), and a file of no known language is
tokenised by a small regular expression with the same normalisation.
"""
from __future__ import annotations

import bisect
import re
import zlib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

import numpy as np

ID, LIT = "$id", "$lit"
_LITERAL_SUFFIXES = ("string", "literal", "number", "integer", "float", "char", "heredoc_body")
_LITERAL_EXACT = {"integer", "float", "number", "true", "false", "none", "null", "string", "template_string",
                  "concatenated_string", "raw_string_literal", "character"}


@dataclass
class TokenStream:
    """Tokens of one text: ``kinds`` (stable uint64 ids of the normalised token text) and the
    byte span of each token; ``line_of`` converts a byte offset to a 1-based line."""
    text: bytes
    kinds: np.ndarray          # uint64, one per token
    starts: np.ndarray         # int64 byte offsets
    ends: np.ndarray
    language: Optional[str]
    parse_errors: int = 0
    _line_starts: list = field(default_factory=list, repr=False)

    def __len__(self) -> int:
        return int(self.kinds.shape[0])

    def line_of(self, byte: int) -> int:
        if not self._line_starts:
            self._line_starts = [0] + [m.end() for m in re.finditer(b"\n", self.text)]
        return bisect.bisect_right(self._line_starts, byte)

    def slice(self, start_byte: int, end_byte: int) -> "TokenStream":
        """The tokens lying inside [start_byte, end_byte) (a function of the file), same text."""
        lo = int(np.searchsorted(self.starts, start_byte, "left"))
        hi = int(np.searchsorted(self.ends, end_byte, "right"))
        out = TokenStream(self.text, self.kinds[lo:hi], self.starts[lo:hi], self.ends[lo:hi], self.language,
                          self.parse_errors)
        out._line_starts = self._line_starts
        return out


@lru_cache(maxsize=65536)
def token_id(text: str) -> int:
    """A stable 64-bit id of a normalised token (stable across runs: fingerprints are stored)."""
    data = text.encode("utf-8", "surrogateescape")
    return (zlib.crc32(data) << 32) | zlib.adler32(data)


def _is_literal(node_type: str) -> bool:
    return node_type in _LITERAL_EXACT or node_type.endswith(_LITERAL_SUFFIXES)


def _is_identifier(node_type: str) -> bool:
    return node_type.endswith("identifier") or node_type in {"name", "word", "this", "self"}


INNER = "\x00"   # prefix of an inner node's type in ``_walk``'s output (``with_inner``)


def _walk(root, comment_types: frozenset, out_kinds: list, out_starts: list, out_ends: list,
          with_inner: bool = False) -> None:
    """Depth-first over the tree with a cursor (fast); literals are taken whole. With
    ``with_inner`` every named inner node below the root is output too, before its children,
    as ``INNER + its type`` with an empty span at its start."""
    cursor = root.walk()
    while True:
        node = cursor.node
        t = node.type
        descend = False
        if t in comment_types or node.is_extra and "comment" in t:
            pass
        elif node.is_named and _is_literal(t):
            out_kinds.append(LIT)
            out_starts.append(node.start_byte)
            out_ends.append(node.end_byte)
        elif node.child_count == 0:
            if node.end_byte > node.start_byte:  # zero-width MISSING nodes are not in the text
                out_kinds.append(ID if node.is_named and _is_identifier(t) else t)
                out_starts.append(node.start_byte)
                out_ends.append(node.end_byte)
        else:
            descend = True
            if with_inner and node.is_named and node.id != root.id:
                out_kinds.append(INNER + t)
                out_starts.append(node.start_byte)
                out_ends.append(node.start_byte)
        if descend and cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return


_FALLBACK = re.compile(rb"""(?P<str>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')|(?P<num>\b\d[\w.]*)"""
                       rb"""|(?P<id>[^\W\d]\w*)|(?P<com>\#[^\n]*|//[^\n]*|/\*.*?\*/)|(?P<op>[^\w\s])""", re.S)
_KEYWORDS = frozenset(("if else for while do return break continue def class function int char float double void "
                       "public private static new try catch except finally import from switch case struct const "
                       "let var in not and or is lambda yield with as").split())


def _fallback(text: bytes, kinds: list, starts: list, ends: list) -> None:
    for m in _FALLBACK.finditer(text):
        kind = m.lastgroup
        if kind == "com":
            continue
        word = m.group().decode("utf-8", "replace")
        kinds.append(LIT if kind in ("str", "num") else (word if word in _KEYWORDS else ID) if kind == "id" else word)
        starts.append(m.start())
        ends.append(m.end())


@lru_cache(maxsize=None)
def parser_for(language: str):
    from indexer.languages import get_spec

    spec = get_spec(language)
    return spec.parser(), frozenset(spec.comment_types) | {"comment", "line_comment", "block_comment"}


def language_of(path: str, text: bytes = b"") -> Optional[str]:
    from indexer.languages import language_for_path, language_for_shebang

    spec = language_for_path(path) or language_for_shebang(text.split(b"\n", 1)[0])
    return spec.name if spec else None


def leaves(text: bytes, language: Optional[str], with_inner: bool = False):
    """(kinds, starts, ends, tree) of ``text``: its tree-sitter leaves in ``language`` (an
    indexer language name; ``with_inner`` as in ``_walk``), or, when the language is unknown
    or None, the plain fallback's tokens and tree None."""
    kinds: list = []
    starts: list = []
    ends: list = []
    parser = None
    if language:
        try:
            parser, comments = parser_for(language)
        except KeyError:
            parser = None
    if parser is None:
        _fallback(text, kinds, starts, ends)
        return kinds, starts, ends, None
    tree = parser.parse(text)
    _walk(tree.root_node, comments, kinds, starts, ends, with_inner)
    return kinds, starts, ends, tree


def tokenize(text: bytes, language: Optional[str]) -> TokenStream:
    """The normalised tokens of ``text`` in ``language`` (an indexer language name), or by the
    plain fallback when the language is unknown or None."""
    kinds, starts, ends, tree = leaves(text, language)
    ids = np.fromiter((token_id(k) for k in kinds), dtype=np.uint64, count=len(kinds))
    return TokenStream(text, ids, np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64),
                       language if tree is not None else None, int(tree is not None and tree.root_node.has_error))


def token_texts(text: bytes, language: Optional[str], raw: bool = False) -> list[str]:
    """The normalised token strings (for baselines and models that want words, not ids);
    ``raw`` gives each token's own text instead (names and literals kept, comments still dropped)."""
    kinds, starts, ends, _ = leaves(text, language)
    if raw:
        return [text[s:e].decode("utf-8", "replace") for s, e in zip(starts, ends)]
    return kinds
