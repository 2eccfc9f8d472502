"""Python: definitions, imports and docstrings for tree-sitter-python."""
from __future__ import annotations

import inspect
from typing import Optional

import tree_sitter as ts
import tree_sitter_python

from .spec import LanguageSpec


def _docstring(node: ts.Node, source: bytes) -> Optional[str]:
    body = node.child_by_field_name("body")
    if body is None or body.named_child_count == 0:
        return None
    first = body.named_child(0)  # not named_children: that makes a node of every statement
    if first.type == "expression_statement" and first.named_child_count:
        first = first.named_child(0)
    if first.type != "string":
        return None
    parts = [c for c in first.named_children if c.type == "string_content"]
    text = b"".join(source[c.start_byte:c.end_byte] for c in parts)
    return inspect.cleandoc(text.decode("utf-8", "replace")) or None


SPEC = LanguageSpec(
    name="python",
    extensions=(".py", ".pyi", ".pyw"),
    shebangs=("python", "python2", "python3", "pypy", "pypy3"),
    grammar=tree_sitter_python.language,
    definitions="""
        (class_definition name: (identifier) @name) @definition.class
        (function_definition name: (identifier) @name) @definition.function
    """,
    imports="""
        (import_statement name: (dotted_name) @import.module) @import
        (import_statement name: (aliased_import name: (dotted_name) @import.module
                                                alias: (identifier) @import.alias)) @import
        (import_from_statement module_name: (_) @import.module
                               name: (dotted_name) @import.name) @import
        (import_from_statement module_name: (_) @import.module
                               name: (aliased_import name: (dotted_name) @import.name
                                                     alias: (identifier) @import.alias)) @import
        (import_from_statement module_name: (_) @import.module
                               (wildcard_import) @import.name) @import
    """,
    reference_types=("identifier",),
    wrapper_types=("decorated_definition",),
    docstring=_docstring,
)
