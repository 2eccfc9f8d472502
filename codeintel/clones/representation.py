"""The two code representations the learned clone encoder reads, as word sequences.

- ``tokens``: the leaves of the tree-sitter tree in order, with their own text (names kept:
  the model learns which ones matter), comments dropped, string literals as ``$str`` and
  long numbers as ``$num``;
- ``ast``: the tree linearised in pre-order: each named inner node gives its type
  (``for_statement``, ``call_expression``…), each leaf its text as above; brackets and
  separators, which the tree's shape already says, are left out;
- ``tokens+ast``: both, as separate streams.

Both cap their length at ``max_words``. A source that does not parse still gives a sequence
(tree-sitter keeps ERROR nodes' leaves); an unknown language falls back to the plain lexer of
``tokens``. ``streams`` gives what the encoder reads: the sequence above and the same sequence
normalised (names as ``$id``, literals as ``$lit``), so that a renamed copy still shares half
of its features with the original even before any training.
"""
from __future__ import annotations

from typing import Optional

from .tokens import ID, INNER, LIT, leaves

REPRESENTATIONS = ("tokens", "ast", "tokens+ast")
_SEPARATORS = frozenset("(){}[];,")


def _literal_word(text: str) -> str:
    if text[:1].isdigit() or text[:1] in "-.":
        return text if len(text) <= 6 else "$num"
    return "$str"


def words(source: bytes, language: Optional[str], representation: str = "tokens", max_words: int = 512) -> list[str]:
    """The word sequence of ``source`` in the given representation (see the module docstring)."""
    return streams(source, language, representation, max_words)[0]


def streams(source: bytes, language: Optional[str], representation: str = "tokens",
            max_words: int = 512) -> tuple[list[str], ...]:
    """``tokens`` and ``ast``: (the word sequence, the same with names and literals
    normalised); ``tokens+ast``: (tokens, normalised tokens, AST)."""
    kinds, starts, ends, tree = _leaves(source, language, representation)
    return _streams(source, kinds, starts, ends, tree, representation, max_words)


def streams_and_tokens(source: bytes, language: Optional[str], representation: str = "tokens",
                       max_words: int = 512) -> tuple[tuple[list[str], ...], list[str]]:
    """``streams`` and, from the same walk of the tree, every token's own text (all of them,
    comments dropped: what ``tokens.token_texts(raw=True)`` gives), which the encoder's
    lexical channel reads."""
    kinds, starts, ends, tree = _leaves(source, language, representation)
    raw = [source[start:end].decode("utf-8", "replace")
           for kind, start, end in zip(kinds, starts, ends) if kind[:1] != INNER]
    return _streams(source, kinds, starts, ends, tree, representation, max_words), raw


def _leaves(source: bytes, language: Optional[str], representation: str):
    if representation not in REPRESENTATIONS:
        raise ValueError(f"unknown representation {representation!r}; use one of {', '.join(REPRESENTATIONS)}")
    return leaves(source, language, with_inner=representation != "tokens")


def _streams(source, kinds, starts, ends, tree, representation: str, max_words: int) -> tuple[list[str], ...]:
    tok, tok_norm, ast, ast_norm = [], [], [], []
    for kind, start, end in zip(kinds, starts, ends):
        if kind[:1] == INNER:
            if len(ast) < max_words:
                ast.append(kind[1:])
                ast_norm.append(kind[1:])
            continue
        text = source[start:end].decode("utf-8", "replace")
        word = _literal_word(text) if kind == LIT else text
        plain = kind if kind in (ID, LIT) else text
        if len(tok) < max_words:
            tok.append(word)
            tok_norm.append(plain)
        if kind not in _SEPARATORS and len(ast) < max_words:
            ast.append(word)
            ast_norm.append(plain)
        if len(tok) >= max_words and len(ast) >= max_words:
            break
    if representation == "tokens":
        return tok, tok_norm
    if tree is None:   # no tree: the AST forms are the tokens
        ast, ast_norm = tok, tok_norm
    if representation == "ast":
        return ast, ast_norm
    return tok, tok_norm, ast
