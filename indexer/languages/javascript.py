"""JavaScript and JSX: definitions, ES/CommonJS imports and JSDoc for tree-sitter-javascript."""
from __future__ import annotations

import tree_sitter_javascript

from .spec import LanguageSpec

# Query text valid for both the JavaScript and the TypeScript grammars (typescript.py adds to it).
_FN = "value: [(arrow_function) (function_expression) (generator_function)]"
SHARED_DEFINITIONS = f"""
    (function_declaration name: (identifier) @name) @definition.function
    (generator_function_declaration name: (identifier) @name) @definition.function
    (class_declaration name: (_) @name) @definition.class
    (class_body (method_definition name: (_) @name) @definition.method)
    ; `const f = () => ...`: a lone declarator's definition is the whole declaration (its
    ; signature then reads "const f = ..."); in `let a = ..., b = ...` each declarator is one
    ([(lexical_declaration . (variable_declarator name: (identifier) @name {_FN}) .)
      (variable_declaration . (variable_declarator name: (identifier) @name {_FN}) .)] @definition.function)
    ([(lexical_declaration . (variable_declarator name: (identifier) @name value: (class)) .)
      (variable_declaration . (variable_declarator name: (identifier) @name value: (class)) .)] @definition.class)
    (_ (variable_declarator) (variable_declarator name: (identifier) @name {_FN}) @definition.function)
    (_ (variable_declarator name: (identifier) @name {_FN}) @definition.function (variable_declarator))
"""

# One row per imported binding: a default import or `x = require(m)` is (m, None, x), a namespace
# `* as ns` is (m, '*', ns), `{a as b}` is (m, 'a', 'b'); `export ... from m` re-exports count too.
_REQUIRE = 'value: (call_expression function: (identifier) @_req arguments: (arguments . (string) @import.module .))'
SHARED_IMPORTS = f"""
    (import_statement (import_clause (identifier) @import.alias) source: (string) @import.module) @import
    (import_statement (import_clause (namespace_import "*" @import.name (identifier) @import.alias))
                      source: (string) @import.module) @import
    (import_statement (import_clause (named_imports (import_specifier name: _ @import.name alias: (_)? @import.alias)))
                      source: (string) @import.module) @import
    (import_statement . source: (string) @import.module .) @import
    (export_statement (export_clause (export_specifier name: _ @import.name alias: (_)? @import.alias))
                      source: (string) @import.module) @import
    (export_statement "*" @import.name source: (string) @import.module) @import
    (export_statement (namespace_export "*" @import.name (_) @import.alias) source: (string) @import.module) @import
    ((variable_declarator name: (identifier) @import.alias {_REQUIRE}) @import (#eq? @_req "require"))
    ((variable_declarator name: (object_pattern (shorthand_property_identifier_pattern) @import.name) {_REQUIRE}) @import
     (#eq? @_req "require"))
    ((variable_declarator name: (object_pattern (pair_pattern key: (_) @import.name value: (identifier) @import.alias))
                          {_REQUIRE}) @import (#eq? @_req "require"))
    ((expression_statement (call_expression function: (identifier) @_req arguments: (arguments . (string) @import.module .)))
     @import (#eq? @_req "require"))
"""

SHARED_REFERENCE_TYPES = ("identifier", "property_identifier", "shorthand_property_identifier",
                          "private_property_identifier")
SHARED_WRAPPER_TYPES = ("export_statement", "lexical_declaration", "variable_declaration")


def clean_module(text: str) -> str:
    return text.strip("'\"`")


SPEC = LanguageSpec(
    name="javascript",
    extensions=(".js", ".mjs", ".cjs", ".jsx"),
    shebangs=("node", "nodejs", "deno", "bun"),
    grammar=tree_sitter_javascript.language,
    definitions=SHARED_DEFINITIONS + """
        (field_definition property: (_) @name value: [(arrow_function) (function_expression)]) @definition.function
    """,
    imports=SHARED_IMPORTS,
    reference_types=SHARED_REFERENCE_TYPES,
    wrapper_types=SHARED_WRAPPER_TYPES,
    clean_module=clean_module,
)
