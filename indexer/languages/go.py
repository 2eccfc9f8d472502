"""Go: definitions, receivers, imports and doc comments for tree-sitter-go."""
from __future__ import annotations

import tree_sitter_go

from .spec import LanguageSpec

# A receiver type is T, *T, T[P] or *T[P]; @receiver is always the bare type name.
_RECEIVER = """[
    (type_identifier) @receiver
    (pointer_type (type_identifier) @receiver)
    (generic_type type: (type_identifier) @receiver)
    (pointer_type (generic_type type: (type_identifier) @receiver))
]"""


def _type_patterns(spec: str, kind: str) -> str:
    # `type X ...` alone is captured whole (so the signature starts with "type");
    # inside `type ( ... )` each spec is its own definition.
    return f"""
        ((type_declaration {spec}) @definition.{kind} (#not-match? @definition.{kind} "^type[^A-Za-z0-9_]*[(]"))
        (type_declaration "(" {spec} @definition.{kind})
    """


def _spec(type_pattern: str) -> str:
    return f"(type_spec name: (type_identifier) @name type: {type_pattern})"


SPEC = LanguageSpec(
    name="go",
    extensions=(".go",),
    grammar=tree_sitter_go.language,
    definitions=f"""
        (function_declaration name: (identifier) @name) @definition.function
        (method_declaration receiver: (parameter_list (parameter_declaration type: {_RECEIVER}))
                            name: (field_identifier) @name) @definition.method
        {_type_patterns(_spec("(struct_type)"), "struct")}
        {_type_patterns(_spec("(interface_type)"), "interface")}
        {_type_patterns(_spec("[(type_identifier) (qualified_type) (generic_type) (pointer_type) (slice_type)"
                              " (array_type) (map_type) (channel_type) (function_type)]"), "type")}
        {_type_patterns("(type_alias name: (type_identifier) @name)", "type")}
        (interface_type (method_elem name: (field_identifier) @name) @definition.method)
    """,
    imports="""
        (import_spec name: (_)? @import.alias path: (_) @import.module) @import
    """,
    reference_types=("identifier", "type_identifier", "field_identifier", "package_identifier"),
    clean_module=lambda text: text.strip("\"`"),
)
