"""TSX: TypeScript with JSX, using the TypeScript module's queries on the tsx grammar."""
from __future__ import annotations

import tree_sitter_typescript

from .spec import LanguageSpec
from .typescript import DEFINITIONS, DOC_SKIP_TYPES, IMPORTS, REFERENCE_TYPES, WRAPPER_TYPES, clean_module

SPEC = LanguageSpec(
    name="tsx",
    extensions=(".tsx",),
    grammar=tree_sitter_typescript.language_tsx,
    definitions=DEFINITIONS,
    imports=IMPORTS,
    reference_types=REFERENCE_TYPES,
    wrapper_types=WRAPPER_TYPES,
    doc_skip_types=DOC_SKIP_TYPES,
    qualifier_separators=(".",),
    clean_module=clean_module,
)
