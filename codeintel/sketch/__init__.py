"""Sketch-based code generation (SkCoder, Li et al. 2023): retrieve a similar function, sketch
it (keep what the requirement needs), edit the sketch into the code.

- ``retrieve``: BM25 + dense retrieval of functions for a requirement.
- ``sketcher`` / ``model``: the keep/drop tagger, the editor, their inputs and loading.
- ``mine``: cases (documented functions) and (requirement, target, exemplar) triples.
- ``train`` / ``evaluate``: ``codeintel train sketch`` and ``codeintel eval sketch``.
- ``api``: ``generate`` (used by ``codeintel generate`` and the language server).

Importing this package imports nothing heavy.
"""
from __future__ import annotations


def __getattr__(name):
    if name in ("generate", "Generation", "NothingToGenerate", "Cancelled"):
        from . import api
        return getattr(api, name)
    raise AttributeError(name)


__all__ = ["generate", "Generation", "NothingToGenerate", "Cancelled"]
