"""Code as tokens, and the abstraction of Tufano et al. (ICSE 2019) over them.

``tokenize(code, language)`` turns a function's text into its tree-sitter leaves (a string
literal, f-strings included, is one token; comments are tokens) with a layout token ``<NL>``
between leaves on different lines, each token typed: ``VAR`` / ``METHOD`` / ``TYPE``
(identifiers by their syntactic role), ``STRING``, ``NUMBER``, ``COMMENT``, ``CODE``
(keywords, operators, punctuation) or ``LAYOUT``.

``abstract(tokens, idioms)`` replaces every identifier and literal that is not an idiom (the
most frequent ones in the training data, ``learn_idioms``) by a typed id numbered in order of
first appearance (``VAR_1``, ``METHOD_2``, ``STRING_1``...) and keeps the mapping, so that
``concretize`` turns an abstract prediction back into real tokens (a prediction that uses an
id the input never had cannot be turned back and is dropped).

``render(original, new_texts)`` writes code for a new token sequence, keeping the original's
spacing and indentation wherever the new sequence aligns with it; ``parses`` checks that a
candidate is valid code. Python is the first language; every language the indexer knows
tokenizes the same way (identifier and literal node types are matched by name).
"""
from __future__ import annotations

import difflib
import keyword
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Iterable, Optional, Sequence

NL = "<NL>"
ABSTRACT_KINDS = ("VAR", "METHOD", "TYPE", "STRING", "NUMBER", "COMMENT")
_ABSTRACT_ID = re.compile(r"^(VAR|METHOD|TYPE|STRING|NUMBER|COMMENT)_(\d+)$")
_IDENTIFIER_TYPES = {"identifier", "property_identifier", "field_identifier", "shorthand_property_identifier",
                     "shorthand_property_identifier_pattern", "statement_identifier", "package_identifier"}
_TYPE_TYPES = {"type_identifier", "primitive_type", "predefined_type"}
_NUMBER_TYPES = {"integer", "float", "number", "int_literal", "float_literal", "integer_literal",
                 "decimal_integer_literal", "decimal_floating_point_literal", "hex_integer_literal",
                 "number_literal", "imaginary_literal"}
_CALL_TYPES = {"call", "call_expression", "method_invocation"}
_DEFINITION_TYPES = {"function_definition", "function_declaration", "method_declaration", "method_definition",
                     "function_item"}
_CLASS_TYPES = {"class_definition", "class_declaration", "struct_item", "enum_item", "interface_declaration"}
# identifiers and literals kept as they are when no idioms were learned yet
DEFAULT_IDIOMS = frozenset({"self", "cls", "len", "str", "int", "isinstance", "list", "dict", "set", "tuple",
                            "super", "print", "range", "getattr", "setattr", "hasattr", "type", "object",
                            "kwargs", "args", "append", "get", "items", "format", "join", "__init__",
                            "0", "1", "2", "-1", "''", '""', "ValueError", "TypeError", "KeyError"})


@dataclass(frozen=True)
class Token:
    text: str
    kind: str                 # VAR METHOD TYPE STRING NUMBER COMMENT CODE LAYOUT
    start: int = -1           # byte span in the source (-1 for layout tokens and new tokens)
    end: int = -1

    @property
    def abstractable(self) -> bool:
        return self.kind in ABSTRACT_KINDS


@dataclass
class Abstraction:
    tokens: list[str]                                   # the abstract sequence
    mapping: dict[str, str] = field(default_factory=dict)   # abstract id -> concrete text

    def inverse(self) -> dict[tuple[str, str], str]:
        return {(_ABSTRACT_ID.match(k).group(1), v): k for k, v in self.mapping.items()}


@lru_cache(maxsize=16)
def _parser(language: str):
    from indexer.languages import get_spec

    return get_spec(language).parser()


def _is_string(node) -> bool:
    t = node.type
    return ("string" in t and t not in ("string_start", "string_end", "string_content")) or t in (
        "char_literal", "character_literal", "rune_literal", "template_string", "raw_string_literal")


def _identifier_kind(node) -> str:
    parent = node.parent
    if node.type in _TYPE_TYPES:
        return "TYPE"
    if parent is not None:
        if parent.type in _CALL_TYPES and parent.child_by_field_name("function") == node:
            return "METHOD"
        if parent.type in _CALL_TYPES and parent.child_by_field_name("name") == node:
            return "METHOD"     # Java method_invocation
        grand = parent.parent
        if parent.type in ("attribute", "member_expression", "field_expression", "selector_expression") \
                and grand is not None and grand.type in _CALL_TYPES \
                and grand.child_by_field_name("function") == parent and node != parent.children[0]:
            return "METHOD"
        if parent.type in _DEFINITION_TYPES and parent.child_by_field_name("name") == node:
            return "METHOD"
        if parent.type in _CLASS_TYPES and parent.child_by_field_name("name") == node:
            return "TYPE"
    text = node.text.decode("utf-8", "replace")
    if text[:1].isupper() and not text.isupper():
        return "TYPE"           # CamelCase: a class by convention (Python has no type syntax to go by)
    return "VAR"


def _leaves(node, out: list):
    if node.type == "comment":
        out.append((node, "COMMENT"))
        return
    if _is_string(node) and node.type != "concatenated_string":
        out.append((node, "STRING"))
        return
    if node.child_count == 0:
        if node.type in _IDENTIFIER_TYPES or node.type in _TYPE_TYPES:
            out.append((node, _identifier_kind(node)))
        elif node.type in _NUMBER_TYPES:
            out.append((node, "NUMBER"))
        elif node.end_byte > node.start_byte:
            out.append((node, "CODE"))
        return
    for child in node.children:
        _leaves(child, out)


def tokenize(code: str, language: str = "python") -> list[Token]:
    """The tokens of ``code`` (a function's text, or a whole file), ``<NL>`` between lines."""
    data = code.encode("utf-8")
    tree = _parser(language).parse(data)
    leaves: list = []
    _leaves(tree.root_node, leaves)
    out: list[Token] = []
    last_row = None
    for node, kind in leaves:
        if last_row is not None and node.start_point[0] > last_row:
            out.append(Token(NL, "LAYOUT"))
        out.append(Token(node.text.decode("utf-8", "replace"), kind, node.start_byte, node.end_byte))
        last_row = node.end_point[0]
    return out


def code_tokens(tokens: Sequence[Token]) -> list[str]:
    """The texts of the tokens without layout (what exact match compares)."""
    return [t.text for t in tokens if t.kind != "LAYOUT"]


def parses(code: str, language: str = "python") -> bool:
    tree = _parser(language).parse(code.encode("utf-8"))
    return not tree.root_node.has_error


# ------------------------------------------------------------------------------ abstraction
def learn_idioms(token_lists: Iterable[Sequence[Token]], limit: int = 300, min_functions: int = 3) -> list[str]:
    """The ``limit`` identifiers and literals found in the most functions of the data (in at
    least ``min_functions`` of them, so that a small history does not make everything an idiom)."""
    counts: Counter = Counter()
    for tokens in token_lists:
        counts.update({t.text for t in tokens if t.abstractable and t.kind != "COMMENT" and len(t.text) <= 40
                       and not any(ch.isspace() for ch in t.text)})
    return [text for text, n in counts.most_common(limit) if n >= min_functions]


def pair_idioms(pairs: Iterable[dict], limit: int = 300) -> set[str]:
    """Idioms of function-change pairs (dicts with ``before``, ``after``, ``language``): both
    versions count, so that what edits typically add (a common keyword argument) is one."""
    def versions():
        for p in pairs:
            yield tokenize(p["before"], p.get("language", "python"))
            yield tokenize(p["after"], p.get("language", "python"))
    return set(learn_idioms(versions(), limit))


def abstract(tokens: Sequence[Token], idioms: Optional[Iterable[str]] = None,
             mapping: Optional[dict[str, str]] = None) -> Abstraction:
    """The abstract sequence of ``tokens``. Passing the ``mapping`` of the before-version when
    abstracting the after-version reuses its ids (so before and after share one numbering)."""
    idioms = DEFAULT_IDIOMS if idioms is None else idioms
    idioms = idioms if isinstance(idioms, (set, frozenset)) else set(idioms)
    mapping = dict(mapping or {})
    inverse = {(_ABSTRACT_ID.match(k).group(1), v): k for k, v in mapping.items()}
    counts = Counter(_ABSTRACT_ID.match(k).group(1) for k in mapping)
    out = []
    for t in tokens:
        if not t.abstractable or (t.text in idioms and t.kind != "COMMENT") or keyword.iskeyword(t.text):
            out.append(t.text)
            continue
        key = (t.kind, t.text)
        if key not in inverse:
            counts[t.kind] += 1
            inverse[key] = f"{t.kind}_{counts[t.kind]}"
            mapping[inverse[key]] = t.text
        out.append(inverse[key])
    return Abstraction(out, mapping)


def concretize(abstract_tokens: Sequence[str], mapping: dict[str, str]) -> Optional[list[str]]:
    """Real token texts for an abstract sequence; None when it uses an id the mapping lacks."""
    out = []
    for tok in abstract_tokens:
        if _ABSTRACT_ID.match(tok):
            if tok not in mapping:
                return None
            out.append(mapping[tok])
        else:
            out.append(tok)
    return out


# ------------------------------------------------------------------------------ rendering
_NO_SPACE_BEFORE = {")", "]", "}", ",", ":", ".", ";", "(", "["}
_NO_SPACE_AFTER = {"(", "[", "{", ".", "@", "~"}


def _line_indent(code: str, pos: int) -> str:
    start = code.rfind("\n", 0, pos) + 1
    line = code[start:]
    return line[:len(line) - len(line.lstrip(" \t"))]


def render(code: str, original: Sequence[Token], new_texts: Sequence[str], language: str = "python",
           indent_unit: str = "    ") -> str:
    """Code for ``new_texts`` (token texts with ``<NL>``), written over ``code`` whose tokens are
    ``original``: tokens that align with the original keep its spacing and line indentation,
    new ones get conventional spacing, and a new line is indented like the line before it
    (one level deeper after a line ending in ``:`` or ``{``)."""
    data = code.encode("utf-8")
    old_texts = [t.text for t in original]
    aligned: dict[int, int] = {}
    matcher = difflib.SequenceMatcher(None, old_texts, list(new_texts), autojunk=False)
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            aligned[block.b + k] = block.a + k
    pieces: list[str] = []
    line_indent = ""
    prev_new: Optional[int] = None     # index in new_texts of the previous real token
    at_line_start = True
    depth = 0                          # open brackets: `=` inside them is a keyword argument
    for j, text in enumerate(new_texts):
        if text == NL:
            if not at_line_start:
                pieces.append("\n")
            at_line_start = True
            continue
        i = aligned.get(j)
        tok = original[i] if i is not None else None
        if at_line_start:
            if pieces:
                if tok is not None and tok.start >= 0:
                    line_indent = _line_indent(code, len(data[:tok.start].decode("utf-8", "replace")))
                else:
                    last = new_texts[prev_new] if prev_new is not None else ""
                    line_indent = line_indent + (indent_unit if last in (":", "{") else "")
                pieces.append(line_indent)
            at_line_start = False
        elif prev_new is not None:
            pi = aligned.get(prev_new)
            if i is not None and pi is not None and i == pi + 1 and original[pi].end >= 0 and tok.start >= 0:
                gap = data[original[pi].end:tok.start].decode("utf-8", "replace")
                pieces.append(gap if "\n" not in gap else " ")
            else:
                prev = new_texts[prev_new]
                if depth > 0 and "=" in (text, prev) and language == "python":   # PEP 8 keyword arguments
                    pass
                elif not (text in _NO_SPACE_BEFORE or prev in _NO_SPACE_AFTER):
                    pieces.append(" ")
                elif text in ("(", "[") and (keyword.iskeyword(prev) or prev in (",", "=", ":")):
                    pieces.append(" ")
        pieces.append(text)
        depth = max(0, depth + (text in "([{") - (text in ")]}")) if len(text) == 1 else depth
        prev_new = j
    result = "".join(pieces)
    return result + ("\n" if code.endswith("\n") else "")
