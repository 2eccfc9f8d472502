"""Tokens for the token-level merge: tree-sitter leaves where a grammar exists, a lexer otherwise.

This module owns how text is cut into tokens for ``conflicts.py``. The one promise is losslessness:
``"".join(tokenize(text, path)) == text`` for every string, and ``tokenize`` never raises.

* ``generic_tokenize``: the merge corpus's token definition: a newline (``\\n``), a run of other
  whitespace (including ``\\r``), a run of ``\\w`` characters, or one other character.
* ``tokenize(text, path)``: when ``path`` names a language the indexer knows
  (``indexer.languages.language_for_path``), the leaves of tree-sitter's syntax tree, so that
  ``==``, ``->`` or ``1.5e3`` are single tokens. Leaves that contain whitespace (comments,
  string contents) and any text no leaf covers (whitespace, string text between escape
  sequences, what error recovery skipped) are cut by ``generic_tokenize``. Any problem
  (unencodable text such as lone surrogates, a grammar that fails to load, an inconsistent
  tree) falls back to ``generic_tokenize`` for the whole text.

Fragments (the lines of one conflict hunk) are tokenized on their own; tree-sitter recovers
from the syntax errors a fragment has, and the same text gives the same tokens on all sides.
"""
from __future__ import annotations

import re
import threading
from typing import Callable, Optional

_GENERIC = re.compile(r"\n|[^\S\n]+|\w+|[^\w\s]")
_HAS_SPACE = re.compile(r"\s")
_local = threading.local()

Tokenizer = Callable[[str, Optional[str]], list]


def generic_tokenize(text: str, path: Optional[str] = None) -> list[str]:
    """Newlines, runs of other whitespace, ``\\w+`` runs and single other characters."""
    return _GENERIC.findall(text)


def _parser_for(path: str):
    from indexer.languages import language_for_path
    spec = language_for_path(path)
    if spec is None:
        return None
    cache = getattr(_local, "parsers", None)
    if cache is None:
        cache = _local.parsers = {}
    parser = cache.get(spec.name)
    if parser is None:
        parser = cache[spec.name] = spec.parser()
    return parser


def _leaf_spans(tree) -> list[tuple[int, int]]:
    spans = []
    cursor = tree.walk()
    while True:
        node = cursor.node
        if node.child_count == 0 or (node.is_missing):
            if node.end_byte > node.start_byte:
                spans.append((node.start_byte, node.end_byte))
        elif cursor.goto_first_child():
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                return spans


def _char_offsets(text: str, data: bytes) -> Optional[list[int]]:
    """byte offset -> char offset (None when the text is ASCII, where they are equal)."""
    if len(data) == len(text):
        return None
    table = [0] * (len(data) + 1)
    b = 0
    for i, ch in enumerate(text):
        n = len(ch.encode("utf-8"))
        for k in range(n):
            table[b + k] = i
        b += n
    table[b] = len(text)
    return table


def tree_sitter_tokenize(text: str, path: str) -> Optional[list[str]]:
    """The tree-sitter token list, or None when the path has no grammar."""
    parser = _parser_for(path)
    if parser is None:
        return None
    data = text.encode("utf-8")
    tree = parser.parse(data)
    table = _char_offsets(text, data)
    out: list[str] = []
    pos = 0
    for sb, eb in _leaf_spans(tree):
        start, end = (sb, eb) if table is None else (table[sb], table[eb])
        if start < pos or end > len(text):
            raise ValueError("overlapping leaves")
        if start > pos:
            out.extend(_GENERIC.findall(text, pos, start))
        leaf = text[start:end]
        if _HAS_SPACE.search(leaf):
            out.extend(_GENERIC.findall(leaf))
        else:
            out.append(leaf)
        pos = end
    if pos < len(text):
        out.extend(_GENERIC.findall(text, pos))
    return out


def tokenize(text: str, path: Optional[str] = None) -> list[str]:
    """Lossless tokens of ``text`` (tree-sitter leaves for a known language, else generic)."""
    if not text:
        return []
    if path:
        try:
            tokens = tree_sitter_tokenize(text, path)
            if tokens is not None and "".join(tokens) == text:
                return tokens
        except Exception:  # noqa: BLE001 - any parse problem means the generic lexer
            pass
    return _GENERIC.findall(text)
