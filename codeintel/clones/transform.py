"""Semantics-preserving rewrites of a program, done on its tree-sitter tree, for Python, Java,
C/C++ and JavaScript: the disguises a plagiarist uses, to build positive pairs for
evaluation (and, later, contrastive training).

Transformations (``TRANSFORMS``):
- ``rename``: every name the program declares (variables, parameters, functions) renamed
  consistently; names it only uses (library calls) are kept;
- ``comments``: comments and blank lines added between statements;
- ``dead_code``: statements that never run (``if (0) {...}``, ``if False: pass``) inserted;
- ``if_swap``: ``if c A else B`` becomes ``if !(c) B else A``;
- ``for_while``: a C-family ``for (init; cond; step) body`` becomes
  ``init; while (cond) { body step; }`` (loops whose body has ``continue`` are left);
- ``reorder``: adjacent declarations that do not use each other's names are swapped, and so
  are adjacent functions (not in C/C++, where a function must be declared before its use).

Each takes (source bytes, language, random.Random) and returns the new source; a
transformation that finds nothing to change returns the source unchanged.
"""
from __future__ import annotations

import random
import re
from typing import Callable

from .tokens import parser_for

C_FAMILY = {"c", "cpp", "java", "javascript"}
_DECL_PARENTS = ("declarator", "declaration", "parameter", "function_definition", "function_declaration", "method_declaration",
                 "variable_declarator", "formal_parameters", "parameters", "for_in_clause", "for_statement",
                 "assignment", "augmented_assignment", "lambda_parameters", "typed_parameter", "default_parameter",
                 "pattern_list", "tuple_pattern")
_KEEP = {"main", "self", "this", "args", "argv", "argc", "std", "cin", "cout", "endl", "printf", "scanf",
         "String", "System", "console", "Math", "len", "range", "print", "input", "int", "str", "float", "list"}


def _tree(source: bytes, language: str):
    parser, _ = parser_for(language)
    return parser.parse(source)


def _nodes(root, predicate) -> list:
    out, stack = [], [root]
    while stack:
        n = stack.pop()
        if predicate(n):
            out.append(n)
        stack.extend(reversed(n.children))
    return out


def _apply(source: bytes, edits: list) -> bytes:
    """Apply (start, end, replacement) edits that do not overlap (the later first)."""
    out = source
    last = len(source) + 1
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if end > last:
            continue
        out = out[:start] + text + out[end:]
        last = start
    return out


def _text(source: bytes, node) -> bytes:
    return source[node.start_byte:node.end_byte]


def rename(source: bytes, language: str, rng: random.Random) -> bytes:
    tree = _tree(source, language)
    idents = _nodes(tree.root_node, lambda n: n.type in ("identifier", "field_identifier") and n.child_count == 0)
    declared = set()
    for n in idents:
        p = n.parent
        if p is not None and any(k in p.type for k in _DECL_PARENTS):
            declared.add(_text(source, n))
    declared -= {k.encode() for k in _KEEP}
    if not declared:
        return source
    fresh = {name: f"{rng.choice(['tmp', 'val', 'var', 'x', 'obj', 'item'])}{i}_{rng.randint(0, 999)}".encode()
             for i, name in enumerate(sorted(declared))}
    return _apply(source, [(n.start_byte, n.end_byte, fresh[_text(source, n)]) for n in idents
                           if _text(source, n) in fresh])


def _statement_lines(source: bytes) -> list[int]:
    """Byte offsets just after the newline of lines that end a statement (';', '{', '}', or, for
    Python, any non-continuation line)."""
    return [m.end() for m in re.finditer(rb"[;{}:]?[ \t]*\n", source)]


def comments(source: bytes, language: str, rng: random.Random) -> bytes:
    mark = b"#" if language == "python" else b"//"
    words = [b"check the value", b"main loop", b"helper", b"TODO tidy", b"compute result", b"edge case"]
    edits = []
    for m in re.finditer(rb"\n", source):
        if rng.random() < 0.25:
            line_start = source.rfind(b"\n", 0, m.start()) + 1
            indent = re.match(rb"[ \t]*", source[line_start:]).group()
            nxt = re.match(rb"[ \t]*", source[m.end():]).group()
            edits.append((m.end(), m.end(), (nxt or indent) + mark + b" " + rng.choice(words) + b"\n"
                          + (b"\n" if rng.random() < 0.3 else b"")))
    return _apply(source, edits)


def _blocks(tree, language: str) -> list:
    kinds = ("block",) if language == "python" else ("compound_statement", "block", "statement_block")
    return _nodes(tree.root_node, lambda n: n.type in kinds and n.named_child_count > 0)


def dead_code(source: bytes, language: str, rng: random.Random) -> bytes:
    tree = _tree(source, language)
    edits = []
    for block in _blocks(tree, language):
        if rng.random() < 0.5:
            continue
        stmt = rng.choice(block.named_children)
        if stmt.type == "comment":
            continue
        line_start = source.rfind(b"\n", 0, stmt.start_byte) + 1
        indent = source[line_start:stmt.start_byte]
        if indent.strip():
            indent = b"    "
        name = f"unused{rng.randint(0, 999)}".encode()
        if language == "python":
            code = b"if False:\n" + indent + b"    " + name + b" = 0\n" + indent
        elif language == "javascript":
            code = b"if (false) { let " + name + b" = 0; }\n" + indent
        elif language == "java":
            code = b"if (false) { int " + name + b" = 0; }\n" + indent
        else:
            code = b"if (0) { int " + name + b" = 0; }\n" + indent
        edits.append((stmt.start_byte, stmt.start_byte, code))
    return _apply(source, edits)


def if_swap(source: bytes, language: str, rng: random.Random) -> bytes:
    tree = _tree(source, language)
    edits = []
    for n in _nodes(tree.root_node, lambda n: n.type == "if_statement"):
        cond = n.child_by_field_name("condition")
        cons = n.child_by_field_name("consequence")
        alt = n.child_by_field_name("alternative")
        if cond is None or cons is None or alt is None or rng.random() < 0.3:
            continue
        if language == "python":
            if alt.type != "else_clause":
                continue
            body = alt.child_by_field_name("body")
            if body is None or cons.type != "block" or body.type != "block":
                continue
            c = _text(source, cond)
            edits.append((cond.start_byte, body.end_byte,
                          b"not (" + c + b"):" + source[cond.end_byte + 1:cons.start_byte] + _text(source, body)
                          + source[cons.end_byte:body.start_byte] + _text(source, cons)))
        else:
            other = [c for c in alt.named_children] if alt.type == "else_clause" else [alt]
            if len(other) != 1 or other[0].type == "if_statement":
                continue
            c = _text(source, cond)
            if not (c.startswith(b"(") and c.endswith(b")")):
                c = b"(" + c + b")"
            edits.append((cond.start_byte, n.end_byte,
                          b"(!" + c + b") " + _text(source, other[0]) + b" else " + _text(source, cons)))
    return _apply(source, edits)


def for_while(source: bytes, language: str, rng: random.Random) -> bytes:
    if language not in C_FAMILY:
        return source
    tree = _tree(source, language)
    edits = []
    for n in _nodes(tree.root_node, lambda n: n.type == "for_statement"):
        init = n.child_by_field_name("initializer") or n.child_by_field_name("init")
        cond = n.child_by_field_name("condition")
        step = n.child_by_field_name("update") or n.child_by_field_name("increment")
        body = n.child_by_field_name("body")
        if body is None or cond is None or b"continue" in _text(source, body) or rng.random() < 0.2:
            continue
        init_text = _text(source, init) if init is not None else b""
        if init_text and not init_text.rstrip().endswith(b";"):
            init_text += b";"
        step_text = (_text(source, step) + b";") if step is not None else b""
        body_text = _text(source, body)
        if body.type in ("compound_statement", "block", "statement_block"):
            inner = body_text[1:body_text.rfind(b"}")]
        else:
            inner = body_text
        edits.append((n.start_byte, n.end_byte, b"{" + init_text + b" while (" + _text(source, cond) + b") {"
                      + inner + b" " + step_text + b"}}"))
    return _apply(source, edits)


def _names_in(source: bytes, node) -> set:
    return {_text(source, i) for i in _nodes(node, lambda x: x.type == "identifier")}


_FUNCTIONS = {"function_definition", "function_declaration", "method_declaration"}


def reorder(source: bytes, language: str, rng: random.Random) -> bytes:
    tree = _tree(source, language)
    decl = {"declaration", "local_variable_declaration", "lexical_declaration", "variable_declaration",
            "expression_statement"}
    edits = []
    containers = _blocks(tree, language)
    if language != "c" and language != "cpp":  # C needs a function declared before its use
        containers += _nodes(tree.root_node, lambda n: n.type in ("module", "program", "class_body"))
    for block in containers:
        kids = block.named_children
        k = 0
        while k + 1 < len(kids):
            a, b = kids[k], kids[k + 1]
            if a.type in _FUNCTIONS and b.type == a.type and rng.random() < 0.7:
                edits.append((a.start_byte, b.end_byte,
                              _text(source, b) + source[a.end_byte:b.start_byte] + _text(source, a)))
                k += 2
                continue
            if a.type in decl and b.type == a.type and rng.random() < 0.7:
                wa, wb = _names_in(source, a), _names_in(source, b)
                calls = b"(" in _text(source, a) or b"(" in _text(source, b)
                if not (wa & wb) and not calls and source[a.end_byte:b.start_byte].strip() == b"":
                    edits.append((a.start_byte, b.end_byte,
                                  _text(source, b) + source[a.end_byte:b.start_byte] + _text(source, a)))
                    k += 2
                    continue
            k += 1
    return _apply(source, edits)


TRANSFORMS: dict[str, Callable] = {"rename": rename, "comments": comments, "dead_code": dead_code,
                                   "if_swap": if_swap, "for_while": for_while, "reorder": reorder}


def disguise(source: bytes, language: str, names: list[str], rng: random.Random) -> bytes:
    """Apply the named transformations in order."""
    for name in names:
        source = TRANSFORMS[name](source, language, rng)
    return source
