"""C++: the C definitions plus classes, methods (inline and `Foo::bar`), namespaces and templates."""
from __future__ import annotations

import tree_sitter_cpp

from .c import INCLUDES, TAGGED, function_patterns, strip_include, tagged_patterns
from .spec import LanguageSpec

# (alternatives are listed flat: a capture on a nested [...] only takes its first alternative)
_NAME = "(identifier) @name (field_identifier) @name (destructor_name) @name (operator_name) @name"
_NS = "scope: (namespace_identifier)"
_LAST = "name: [(identifier) (field_identifier) (destructor_name) (operator_name)]"
# `Foo::bar` and `Foo<T>::bar`: the class is the @receiver; `ns::Foo::bar` (namespaces only) is
# named whole, the extractor splitting it on "::"
_FUNCTION_NAME = f"""[
    {_NAME}
    (qualified_identifier scope: [(namespace_identifier) @receiver (template_type name: (type_identifier) @receiver)]
                          name: [{_NAME}])
    (qualified_identifier {_NS} name: (qualified_identifier {_NS} {_LAST})) @name
    (qualified_identifier {_NS} name: (qualified_identifier {_NS} name: (qualified_identifier {_NS} {_LAST}))) @name
    (qualified_identifier {_NS} name: (qualified_identifier scope: (template_type name: (type_identifier) @receiver)
                                                            name: [{_NAME}]))
]"""

SPEC = LanguageSpec(
    name="cpp",
    extensions=(".cc", ".cpp", ".cxx", ".c++", ".hh", ".hpp", ".hxx", ".h++", ".ipp"),
    grammar=tree_sitter_cpp.language,
    definitions="\n".join([
        function_patterns(_FUNCTION_NAME, ("pointer_declarator declarator:", "reference_declarator")),
        tagged_patterns((("class_specifier", "class"),) + TAGGED,
                        "(template_type) (qualified_identifier) (decltype) (placeholder_type_specifier)"),
        "(alias_declaration name: (type_identifier) @name) @definition.type",
        "(namespace_definition name: [(namespace_identifier) (nested_namespace_specifier)] @name) @definition.namespace",
    ]),
    imports=INCLUDES,
    reference_types=("identifier", "type_identifier", "field_identifier", "namespace_identifier"),
    wrapper_types=("template_declaration", "type_definition", "declaration", "field_declaration"),
    clean_module=strip_include,
)
