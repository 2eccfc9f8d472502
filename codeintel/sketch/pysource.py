"""Python functions as sketch-based generation sees them: a header (decorators and the ``def``
line(s)), a docstring, and a body (the statements after the docstring, dedented to column
0). Parsed with tree-sitter; also puts a header and a generated body back together and names
the function stubs (a body of only a docstring, ``...`` or ``pass``) generation fills in.
"""
from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from typing import Optional

from codeintel.models.metrics import parses, python_tree

_DEF_NAME = re.compile(r"^(\s*(?:async\s+)?def\s+)([A-Za-z_]\w*)")


@dataclass
class FunctionParts:
    header: str        # from the first decorator or 'def' to the ':' that opens the body
    doc: str           # the docstring's text ("" when none)
    body: str          # the statements after the docstring, dedented ("" for a stub)
    indent: str        # the body's indentation in the original text


def _function_node(tree):
    node = tree.root_node
    for child in node.named_children:
        if child.type == "decorated_definition":
            inner = child.child_by_field_name("definition")
            if inner is not None and inner.type == "function_definition":
                return child, inner
        if child.type == "function_definition":
            return child, child
    return None, None


def split_function(code: str) -> Optional[FunctionParts]:
    """The parts of the first function defined in ``code`` (a dedented function's text)."""
    code = textwrap.dedent(code)
    data = code.encode("utf-8", "surrogatepass")
    outer, func = _function_node(python_tree(code))
    if func is None:
        return None
    block = func.child_by_field_name("body")
    if block is None:
        return None
    header = data[outer.start_byte:block.start_byte].decode("utf-8", "replace").rstrip()
    statements = block.named_children
    doc = ""
    first = 0
    if statements and statements[0].type == "expression_statement" and statements[0].named_children \
            and statements[0].named_children[0].type == "string":
        literal = statements[0].named_children[0]
        parts = [c for c in literal.named_children if c.type == "string_content"]
        doc = inspect_clean("".join(data[c.start_byte:c.end_byte].decode("utf-8", "replace") for c in parts))
        first = 1
    statements = statements[first:]
    if not statements:
        return FunctionParts(header, doc, "", "    ")
    start = statements[0].start_byte
    line_start = data.rfind(b"\n", 0, start) + 1
    indent = data[line_start:start].decode("utf-8", "replace")
    if indent.strip():        # a body on the def line: `def f(): return 1`
        body = data[start:block.end_byte].decode("utf-8", "replace")
        return FunctionParts(header, doc, body.strip() + "\n", "    ")
    body = data[line_start:block.end_byte].decode("utf-8", "replace")
    return FunctionParts(header, doc, textwrap.dedent(body).rstrip() + "\n", indent)


def inspect_clean(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)


def is_stub(parts: FunctionParts) -> bool:
    """A function whose body is empty, ``...`` or ``pass`` (after any docstring)."""
    return parts.body.strip() in ("", "...", "pass")


def without_doc(parts: FunctionParts) -> str:
    """The function's code without its docstring: header + indented body."""
    return assemble(parts.header, parts.body)


def assemble(header: str, body: str, indent: str = "    ") -> str:
    """A function from a header (``def f(x)`` with or without the ':') and a body at column 0."""
    head = header.rstrip()
    if not head.endswith(":"):
        head += ":"
    lines = body.rstrip().splitlines() or ["pass"]
    return head + "\n" + "\n".join(indent + line if line.strip() else "" for line in lines) + "\n"


def rename(header: str, name: str) -> str:
    """``header`` with the function's name replaced by ``name``."""
    lines = header.splitlines()
    for i, line in enumerate(lines):
        if _DEF_NAME.match(line):
            lines[i] = _DEF_NAME.sub(lambda m: m.group(1) + name, line, count=1)
            break
    return "\n".join(lines)


def name_of(header: str) -> Optional[str]:
    for line in header.splitlines():
        found = _DEF_NAME.match(line)
        if found:
            return found.group(2)
    return None


def body_parses(header: str, body: str) -> bool:
    return parses(assemble(header if name_of(header) else "def _f()", body))
