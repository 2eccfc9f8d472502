"""Where a generation request comes from in a buffer: a function stub (a body of only a
docstring, ``...`` or ``pass``) or a comment block, found at a line of unsaved text with
tree-sitter; and the replacement lines that put the generated code there.

Lines here are 0-based; a request replaces the whole lines ``[start, end)``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from codeintel.models.metrics import python_tree

from .pysource import FunctionParts, split_function

_COMMENT = re.compile(r"^(\s*)#\s?(.*)$")


@dataclass
class Request:
    kind: str                 # "stub" | "comment"
    requirement: str
    signature: Optional[str]  # the stub's header (None for a comment)
    start: int                # first line to replace (0-based)
    end: int                  # line after the last one replaced
    indent: str               # indentation of the code to insert
    function_line: int        # 1-based line of the stub's def (or of the comment)


def _stub_at(data: bytes, line: int) -> Optional[Request]:
    tree = python_tree(data.decode("utf-8", "surrogateescape"), wrap=False)
    lines = data.split(b"\n")
    column = len(lines[line]) - len(lines[line].lstrip()) if line < len(lines) else 0
    node = tree.root_node.descendant_for_point_range((line, column), (line, column))
    while node is not None and node.type != "function_definition":
        if node.type == "decorated_definition":
            node = node.child_by_field_name("definition")
            break
        node = node.parent
    if node is not None and node.type != "function_definition":
        return None
    if node is None:
        return None
    outer = node.parent if node.parent is not None and node.parent.type == "decorated_definition" else node
    start_byte = data.rfind(b"\n", 0, outer.start_byte) + 1
    text = data[start_byte:node.end_byte].decode("utf-8", "surrogateescape")
    parts: Optional[FunctionParts] = split_function(text)
    if parts is None or parts.body.strip() not in ("", "...", "pass") or not parts.doc:
        return None
    block = node.child_by_field_name("body")
    statements = block.named_children if block is not None else []
    has_doc = bool(statements) and statements[0].type == "expression_statement" \
        and statements[0].named_children and statements[0].named_children[0].type == "string"
    rest = statements[1:] if has_doc else statements
    first_line = rest[0].start_point.row if rest else (statements[0].end_point.row + 1 if statements
                                                         else node.end_point.row + 1)
    if has_doc and first_line == statements[0].end_point.row:   # `"""doc"""; pass` on one line
        return None
    end_line = node.end_point.row + 1
    indent = parts.indent if block is not None and block.start_point.row > node.start_point.row else "    "
    if statements:
        first = statements[0]
        line_start = data.rfind(b"\n", 0, first.start_byte) + 1
        indent = data[line_start:first.start_byte].decode("utf-8", "replace")
    found = re.search(r"(?m)^\s*(async\s+)?def\s", parts.header)
    signature = " ".join(parts.header[found.start() if found else 0:].split()).rstrip(":").rstrip()
    return Request("stub", parts.doc, signature, first_line, max(end_line, first_line), indent,
                   outer.start_point.row + 1)


def _comment_at(lines: list[str], line: int) -> Optional[Request]:
    if not (0 <= line < len(lines)) or not _COMMENT.match(lines[line]):
        return None
    first = last = line
    while first > 0 and _COMMENT.match(lines[first - 1]):
        first -= 1
    while last + 1 < len(lines) and _COMMENT.match(lines[last + 1]):
        last += 1
    indent = _COMMENT.match(lines[first]).group(1)
    text = "\n".join(_COMMENT.match(lines[i]).group(2).rstrip() for i in range(first, last + 1)).strip()
    if not text or text.startswith("!"):
        return None
    return Request("comment", text, None, last + 1, last + 1, indent, first + 1)


def request_at(text: str, line: int) -> Optional[Request]:
    """The generation request at 0-based ``line``: the function stub around it, or the comment
    block it is on; None when there is neither."""
    lines = text.split("\n")
    comment = _comment_at(lines, line)
    if comment is not None:
        return comment
    return _stub_at(text.encode("utf-8", "surrogateescape"), line)


def replacement(request: Request, code: str, body: str) -> str:
    """The text for lines ``[start, end)``: the body for a stub, the whole function after a comment."""
    source = body if request.kind == "stub" else code
    lines = source.rstrip("\n").split("\n") or ["pass"]
    out = "".join((request.indent + l if l.strip() else "") + "\n" for l in lines)
    return out
