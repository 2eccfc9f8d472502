"""Rust: items, impl scopes, use/extern crate imports and doc comments for tree-sitter-rust."""
from __future__ import annotations

import re
from typing import Optional

import tree_sitter as ts
import tree_sitter_rust

from .spec import LanguageSpec

_COMMENTS = ("line_comment", "block_comment")
_MARKER = re.compile(r"^\s*(?:/\*[*!]?|\*/|\*(?!/)|//[/!]?)\s?")


def _last_row(node: ts.Node) -> int:
    # doc line comments (`///`, `//!`) include their newline, so they end at column 0 of the next row
    end = node.end_point
    return end.row - 1 if end.column == 0 and end.row > node.start_point.row else end.row


def _docstring(node: ts.Node, source: bytes) -> Optional[str]:
    """The comments directly above the item (attributes may stand between); never `//!`/`/*!`."""
    prev, row = node.prev_sibling, node.start_point.row
    while prev is not None and prev.type == "attribute_item":
        prev, row = prev.prev_sibling, prev.start_point.row
    first, lines = prev, []
    while prev is not None and prev.type in _COMMENTS and _last_row(prev) >= row - 1:
        text = source[prev.start_byte:prev.end_byte].decode("utf-8", "replace")
        before = prev.prev_sibling
        if text.startswith(("//!", "/*!")) or (
                before is not None and before.type not in _COMMENTS and before.end_point.row == prev.start_point.row):
            break  # an inner doc comment, or a trailing comment of the previous statement
        lines[:0] = [_MARKER.sub("", ln.strip(), count=1).removesuffix("*/").rstrip() for ln in text.splitlines()]
        prev, row = before, prev.start_point.row
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    if lines:
        return "\n".join(lines)
    # "" rather than None keeps the generic leading-comment fallback from taking an inner doc comment
    return "" if first is not None and first.type in _COMMENTS and first.end_point.row >= row - 1 else None


# the implemented type names an impl's scope (alternatives flat: a capture on a nested [...] only
# takes its first alternative)
_IMPL_TYPE = "(type_identifier) @name (scoped_type_identifier) @name (generic_type type: (_) @name)"

SPEC = LanguageSpec(
    name="rust",
    extensions=(".rs",),
    grammar=tree_sitter_rust.language,
    definitions=f"""
        (function_item name: (identifier) @name) @definition.function
        (function_signature_item name: (identifier) @name) @definition.function
        (struct_item name: (type_identifier) @name) @definition.struct
        (union_item name: (type_identifier) @name) @definition.struct
        (enum_item name: (type_identifier) @name) @definition.enum
        (trait_item name: (type_identifier) @name) @definition.trait
        (type_item name: (type_identifier) @name) @definition.type
        (mod_item name: (identifier) @name body: (_)) @definition.namespace
        (impl_item type: [{_IMPL_TYPE} (reference_type type: [{_IMPL_TYPE}])]) @scope
    """,
    imports="""
        (use_declaration argument: (identifier) @import.module) @import
        (use_declaration argument: (scoped_identifier path: (_) @import.module name: (_) @import.name)) @import
        (use_declaration argument: (use_as_clause path: (identifier) @import.module alias: (_) @import.alias)) @import
        (use_declaration argument: (use_as_clause path: (scoped_identifier path: (_) @import.module name: (_) @import.name)
                                                  alias: (_) @import.alias)) @import
        (use_declaration argument: (use_wildcard (_) @import.module "*" @import.name)) @import
        (use_declaration argument: (scoped_use_list path: (_) @import.module
            list: (use_list [(identifier) (self) (scoped_identifier)] @import.name))) @import
        (use_declaration argument: (scoped_use_list path: (_) @import.module
            list: (use_list (use_as_clause path: (_) @import.name alias: (_) @import.alias)))) @import
        (extern_crate_declaration name: (_) @import.module alias: (_)? @import.alias) @import
    """,
    reference_types=("identifier", "type_identifier", "field_identifier"),
    comment_types=_COMMENTS,
    doc_skip_types=("attribute_item",),
    docstring=_docstring,
)
