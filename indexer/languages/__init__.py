"""The registry of supported languages: which LanguageSpec parses a given path.

Adding a language is one module in this package that defines ``SPEC`` plus its name in
``_MODULES``; nothing else in the indexer changes.
"""
from __future__ import annotations

import importlib
import os
import re
from functools import lru_cache
from typing import Optional

from .spec import LanguageSpec

_MODULES = ("python", "javascript", "typescript", "tsx", "java", "go", "rust", "c", "cpp")


@lru_cache(maxsize=None)
def all_specs() -> tuple[LanguageSpec, ...]:
    specs = []
    for mod in _MODULES:
        try:
            specs.append(importlib.import_module(f"{__name__}.{mod}").SPEC)
        except ModuleNotFoundError as exc:  # a language module not written yet
            if exc.name != f"{__name__}.{mod}":
                raise
    return tuple(specs)


@lru_cache(maxsize=None)
def _by_extension() -> dict[str, LanguageSpec]:
    return {ext: spec for spec in all_specs() for ext in spec.extensions}


def get_spec(name: str) -> LanguageSpec:
    for spec in all_specs():
        if spec.name == name:
            return spec
    raise KeyError(name)


def language_names() -> list[str]:
    return [spec.name for spec in all_specs()]


def language_for_shebang(first_line: bytes) -> Optional[LanguageSpec]:
    """``#!/usr/bin/python3 -u``, ``#!/usr/bin/env node``, ``#!/usr/bin/env -S deno run``."""
    if not first_line.startswith(b"#!"):
        return None
    words = first_line[2:].decode("utf-8", "replace").split()
    if not words:
        return None
    prog = os.path.basename(words[0])
    if prog == "env":
        args = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        if not args:
            return None
        prog = os.path.basename(args[0])
    prog = re.sub(r"[\d.]+$", "", prog) or prog
    for spec in all_specs():
        if prog in {re.sub(r"[\d.]+$", "", s) for s in spec.shebangs}:
            return spec
    return None


def language_for_path(path: str) -> Optional[LanguageSpec]:
    """By extension only; files without a known extension may still match by shebang."""
    _, ext = os.path.splitext(path)
    return _by_extension().get(ext.lower()) if ext else None
