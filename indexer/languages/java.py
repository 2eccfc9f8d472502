"""Java: classes, records, interfaces, enums, methods, imports and Javadoc for tree-sitter-java."""
from __future__ import annotations

import tree_sitter_java

from .spec import LanguageSpec

SPEC = LanguageSpec(
    name="java",
    extensions=(".java",),
    grammar=tree_sitter_java.language,
    definitions="""
        (class_declaration name: (identifier) @name) @definition.class
        (record_declaration name: (identifier) @name) @definition.class
        (interface_declaration name: (identifier) @name) @definition.interface
        (annotation_type_declaration name: (identifier) @name) @definition.interface
        (enum_declaration name: (identifier) @name) @definition.enum
        (method_declaration name: (identifier) @name) @definition.method
        (constructor_declaration name: (identifier) @name) @definition.method
        (compact_constructor_declaration name: (identifier) @name) @definition.method
    """,
    # module = the package path (or the class, for static imports), name = the last component
    imports="""
        (import_declaration (scoped_identifier scope: (_) @import.module name: (identifier) @import.name) .) @import
        (import_declaration (scoped_identifier) @import.module (asterisk) @import.name) @import
    """,
    reference_types=("identifier", "type_identifier"),
    comment_types=("line_comment", "block_comment"),
)
