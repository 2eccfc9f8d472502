"""What a supported language is: the LanguageSpec record and its compiled tree-sitter objects.

A language module (one per language in this package) builds one LanguageSpec: how files are
recognised (extensions, shebang interpreters), which grammar wheel parses them, and the queries
that find definitions, imports and identifier references. Everything else in the indexer is
language-neutral and reads only these fields.

Query conventions (captures):
- definitions: ``@definition.<kind>`` on the whole definition node with ``@name`` on its name;
  kinds are function, method, class, struct, interface, enum, trait, type, namespace.
  ``@scope`` with ``@name`` marks a node that only contributes to qualified names (a Rust
  ``impl`` block, say). ``@receiver`` names the owner of a method declared outside its type
  (Go receivers).
- imports: one match per imported item, with ``@import.module`` and optional ``@import.name`` and
  ``@import.alias``; the whole statement may be captured as ``@import``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Optional

import tree_sitter as ts


@dataclass(frozen=True, eq=False)
class LanguageSpec:
    name: str
    extensions: tuple[str, ...]
    grammar: Callable[[], object]
    definitions: str
    imports: str = ""
    shebangs: tuple[str, ...] = ()
    # node types whose text is an identifier occurrence worth recording as a reference
    reference_types: tuple[str, ...] = ("identifier",)
    comment_types: tuple[str, ...] = ("comment",)
    # nodes that wrap a definition (export statements, decorators, templates): a leading
    # comment is looked for before the outermost wrapper
    wrapper_types: tuple[str, ...] = ()
    # nodes allowed between a doc comment and its definition (attributes, annotations)
    doc_skip_types: tuple[str, ...] = ()
    # language-specific docstring extractor (node, source) -> str | None; default: leading comment
    docstring: Optional[Callable[[ts.Node, bytes], Optional[str]]] = None
    # separator of qualified names inside a name node (C++ ``a::b``, Rust paths)
    qualifier_separators: tuple[str, ...] = ("::",)
    # how an import's module text is normalised (strip quotes, etc.)
    clean_module: Optional[Callable[[str], str]] = None
    extra: dict = field(default_factory=dict)

    @cached_property
    def language(self) -> ts.Language:
        return ts.Language(self.grammar())

    @cached_property
    def definitions_query(self) -> ts.Query:
        return ts.Query(self.language, self.definitions)

    @cached_property
    def imports_query(self) -> Optional[ts.Query]:
        return ts.Query(self.language, self.imports) if self.imports.strip() else None

    @cached_property
    def references_pattern(self) -> str:
        alternatives = " ".join(f"({t})" for t in self.reference_types)
        return f"[{alternatives}] @ref"

    @cached_property
    def combined_query(self) -> ts.Query:
        """Definitions, imports and references in one query: one walk of the tree finds every
        node the three are about (the indexer then groups the definitions and imports into
        matches where they were found, see ``indexer.extract``)."""
        return ts.Query(self.language, "\n".join((self.definitions, self.imports, self.references_pattern)))

    @cached_property
    def combined_roles(self) -> tuple[str, ...]:
        """What each pattern of ``combined_query`` finds: "definition", "import" or "reference"."""
        query = self.combined_query
        definitions_end = len(self.definitions.encode())
        imports_end = definitions_end + 1 + len(self.imports.encode())
        return tuple("definition" if query.start_byte_for_pattern(i) < definitions_end
                     else "import" if query.start_byte_for_pattern(i) < imports_end else "reference"
                     for i in range(query.pattern_count))

    def parser(self) -> ts.Parser:
        return ts.Parser(self.language)
