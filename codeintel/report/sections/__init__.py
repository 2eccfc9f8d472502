"""The report's sections, in the order they are shown. Each is one module with

- ``NAME`` and ``TITLE``;
- ``collect(ctx: Context) -> dict``: JSON-able data, read from the store (and model registry) only;
- ``layout(data: dict) -> list[Block]``: how the data is drawn (``codeintel.report.blocks``);
- optionally ``sarif_results(data: dict) -> list[dict]``: SARIF results (rule ids from
  ``codeintel.report.sarif.RULES``).

Adding a section is one module here and its name in ``_MODULES``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from ...store import Store

_MODULES = ("index", "history", "merges", "models", "clones", "edits", "findings")


@dataclass
class Context:
    root: Path
    store: Store


def names() -> list[str]:
    return list(_MODULES)


def get(name: str) -> ModuleType:
    if name not in _MODULES:
        raise KeyError(name)
    return importlib.import_module(f"{__name__}.{name}")
