"""C: function, struct/union/enum and typedef definitions, #include imports for tree-sitter-c."""
from __future__ import annotations

import tree_sitter_c

from .spec import LanguageSpec


def function_patterns(name: str, wrappers: tuple[str, ...] = ("pointer_declarator declarator:",)) -> str:
    """Function definitions whose function_declarator may sit under pointer (or reference) declarators."""
    decl = f"(function_declarator declarator: {name})"
    patterns = [decl]
    for _ in range(2):  # T *f(), T **f()
        decl = "[" + " ".join(f"({w} {decl})" for w in wrappers) + "]"
        patterns.append(decl)
    return "\n".join(f"(function_definition declarator: {d}) @definition.function" for d in patterns)


TAGGED = (("struct_specifier", "struct"), ("union_specifier", "struct"), ("enum_specifier", "enum"))
_TYPEDEF_NAME = """[
    (type_identifier) @name
    (pointer_declarator declarator: (type_identifier) @name)
    (array_declarator declarator: (type_identifier) @name)
    (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name)))
]"""


def tagged_patterns(tagged=TAGGED, typedef_types: str = "(macro_type_specifier)") -> str:
    """struct/union/enum with a body, and typedefs (anonymous-body ones take the typedef's name)."""
    out = []
    for node, kind in tagged:
        out.append(f"({node} name: (type_identifier) @name body: (_)) @definition.{kind}")
        out.append(f"(type_definition type: ({node} !name body: (_)) declarator: (type_identifier) @name)"
                   f" @definition.{kind}")
        # `typedef struct tag {...} alias;`: the struct is its own symbol, so the alias's definition is its
        # name alone (a typedef node would enclose the struct and nest it as "alias.tag")
        out.append(f"(type_definition type: ({node} name: (_) body: (_)) declarator: (type_identifier) @name"
                   f" @definition.type)")
    bodiless = " ".join(f"({node} !body)" for node, _ in tagged)
    out.append(f"(type_definition type: [{bodiless} (primitive_type) (sized_type_specifier) (type_identifier)"
               f" {typedef_types}] declarator: {_TYPEDEF_NAME}) @definition.type")
    return "\n".join(out)


INCLUDES = "(preproc_include path: (_) @import.module) @import"


def strip_include(text: str) -> str:
    return text.strip().strip('<>"')


SPEC = LanguageSpec(
    name="c",
    extensions=(".c", ".h"),
    grammar=tree_sitter_c.language,
    definitions=function_patterns("(identifier) @name") + "\n" + tagged_patterns(),
    imports=INCLUDES,
    reference_types=("identifier", "type_identifier", "field_identifier"),
    wrapper_types=("type_definition", "declaration", "field_declaration"),
    clean_module=strip_include,
)
