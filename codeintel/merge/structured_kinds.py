"""Which syntax nodes the syntax-aware merge (``codeintel.merge.structured``) may treat as
order-free, per tree-sitter grammar of the indexer's languages.

When both sides insert different elements at the same place of a sequence, the merge keeps both
(ours then theirs) only where the order of that sequence does not matter:

* ``PARENTS``: containers all of whose children commute (the entries of a list/dict/set literal or
  of an enum, the members of a class body, the names of an import list, the cases of a switch);
* ``ELEMENTS``: node types that commute wherever they stand (imports, top-level definitions,
  decorators and annotations, switch cases);
* ``SEPARATORS``: anonymous tokens that may travel with the inserted elements (``,`` ``;``).

Function arguments and parameters, statements in a body and anything not listed keep their order:
both sides inserting there stays a conflict. The tables are keyed by ``LanguageSpec.name``.
"""
from __future__ import annotations

from typing import Optional

SEPARATORS = frozenset({",", ";", "\n"})
COMMENTS = frozenset({"comment", "line_comment", "block_comment"})

_JS_PARENTS = {"array", "object", "enum_body", "switch_body", "named_imports", "export_clause",
               "class_body", "interface_body", "object_type", "object_pattern"}
_JS_ELEMENTS = {"import_statement", "function_declaration", "generator_function_declaration",
                "class_declaration", "abstract_class_declaration", "method_definition",
                "public_field_definition", "field_definition", "interface_declaration",
                "type_alias_declaration", "enum_declaration", "property_signature", "method_signature",
                "decorator", "switch_case", "export_statement", "module", "ambient_declaration"}

PARENTS: dict[str, frozenset] = {
    "python": frozenset({"list", "set", "dictionary", "import_from_statement"}),
    "javascript": frozenset(_JS_PARENTS),
    "typescript": frozenset(_JS_PARENTS),
    "tsx": frozenset(_JS_PARENTS),
    "java": frozenset({"class_body", "interface_body", "enum_body", "annotation_type_body",
                       "array_initializer", "element_value_array_initializer", "switch_block",
                       "modifiers", "throws", "type_list"}),
    "go": frozenset({"import_spec_list", "literal_value", "field_declaration_list",
                     "interface_type"}),
    "rust": frozenset({"use_list", "enum_variant_list", "field_declaration_list", "declaration_list",
                       "field_initializer_list", "match_block"}),
    "c": frozenset({"enumerator_list", "initializer_list", "field_declaration_list"}),
    "cpp": frozenset({"enumerator_list", "initializer_list", "field_declaration_list"}),
}

_C_ELEMENTS = {"preproc_include", "function_definition", "type_definition", "struct_specifier",
               "enum_specifier", "union_specifier", "field_declaration", "enumerator", "case_statement"}

ELEMENTS: dict[str, frozenset] = {
    "python": frozenset({"import_statement", "import_from_statement", "future_import_statement",
                         "function_definition", "class_definition", "decorated_definition",
                         "decorator"}),
    "javascript": frozenset(_JS_ELEMENTS),
    "typescript": frozenset(_JS_ELEMENTS),
    "tsx": frozenset(_JS_ELEMENTS),
    "java": frozenset({"import_declaration", "class_declaration", "interface_declaration",
                       "enum_declaration", "record_declaration", "annotation_type_declaration",
                       "method_declaration", "constructor_declaration", "field_declaration",
                       "annotation", "marker_annotation", "enum_constant",
                       "switch_block_statement_group", "switch_rule"}),
    "go": frozenset({"import_declaration", "import_spec", "function_declaration", "method_declaration",
                     "type_declaration", "expression_case", "type_case", "default_case",
                     "communication_case"}),
    "rust": frozenset({"use_declaration", "function_item", "impl_item", "struct_item", "enum_item",
                       "trait_item", "mod_item", "const_item", "static_item", "type_item",
                       "macro_definition", "function_signature_item", "match_arm", "enum_variant",
                       "field_declaration", "attribute_item"}),
    "c": frozenset(_C_ELEMENTS),
    "cpp": frozenset(_C_ELEMENTS | {"template_declaration", "namespace_definition", "class_specifier",
                                    "using_declaration", "alias_declaration"}),
}

# fields that name a node, tried in order, to pair an element with its base version
_NAME_FIELDS = ("name", "key", "declarator", "declaration", "definition", "pattern")


def signature(node, depth: int = 0) -> Optional[bytes]:
    """A short identity of a node (its type and name) that survives edits of its body, or None."""
    if depth > 3:
        return None
    for field in _NAME_FIELDS:
        child = node.child_by_field_name(field)
        if child is None:
            continue
        if child.child_count == 0 or child.type.endswith("identifier") or child.type in ("dotted_name",
                                                                                        "string"):
            text = child.text or b""
            return node.type.encode() + b"\0" + text if len(text) <= 200 else None
        inner = signature(child, depth + 1)
        if inner is not None:
            return node.type.encode() + b"\0" + inner
    return None


def order_free(language: str, parent_type: str, inserted_types: list[str]) -> bool:
    """May both sides' insertions at one place of ``parent_type`` be kept, ours then theirs?
    ``inserted_types``: the types of the named, non-comment nodes inserted (both sides)."""
    if parent_type in PARENTS.get(language, ()):
        return True
    elements = ELEMENTS.get(language, frozenset())
    return bool(inserted_types) and all(t in elements for t in inserted_types)


__all__ = ["COMMENTS", "ELEMENTS", "PARENTS", "SEPARATORS", "order_free", "signature"]
