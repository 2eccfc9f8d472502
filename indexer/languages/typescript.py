"""TypeScript: the JavaScript queries plus types, interfaces, enums, namespaces and decorators."""
from __future__ import annotations

import tree_sitter_typescript

from .javascript import (SHARED_DEFINITIONS, SHARED_IMPORTS, SHARED_REFERENCE_TYPES,
                         SHARED_WRAPPER_TYPES, clean_module)
from .spec import LanguageSpec

# shared with tsx.py (the TSX grammar has the same node types plus JSX)
DEFINITIONS = SHARED_DEFINITIONS + """
    (abstract_class_declaration name: (_) @name) @definition.class
    (interface_declaration name: (_) @name) @definition.interface
    (enum_declaration name: (_) @name) @definition.enum
    (type_alias_declaration name: (_) @name) @definition.type
    (internal_module name: [(identifier) (nested_identifier)] @name) @definition.namespace
    (module name: [(identifier) (nested_identifier)] @name) @definition.namespace
    (class_body (abstract_method_signature name: (_) @name) @definition.method)
    (interface_body (method_signature name: (_) @name) @definition.method)
    (ambient_declaration (function_signature name: (_) @name) @definition.function)
    (public_field_definition name: (_) @name value: [(arrow_function) (function_expression)]) @definition.function
"""
IMPORTS = SHARED_IMPORTS + """
    (import_statement (import_require_clause (identifier) @import.alias source: (string) @import.module)) @import
"""
REFERENCE_TYPES = SHARED_REFERENCE_TYPES + ("type_identifier",)
# `namespace X {}` parses inside an expression_statement; `declare ...` inside an ambient_declaration
WRAPPER_TYPES = SHARED_WRAPPER_TYPES + ("expression_statement", "ambient_declaration")
DOC_SKIP_TYPES = ("decorator",)  # method decorators are siblings of the method in a class body

SPEC = LanguageSpec(
    name="typescript",
    extensions=(".ts", ".mts", ".cts"),
    shebangs=("ts-node", "tsx"),
    grammar=tree_sitter_typescript.language_typescript,
    definitions=DEFINITIONS,
    imports=IMPORTS,
    reference_types=REFERENCE_TYPES,
    wrapper_types=WRAPPER_TYPES,
    doc_skip_types=DOC_SKIP_TYPES,
    qualifier_separators=(".",),  # `namespace A.B`
    clean_module=clean_module,
)
