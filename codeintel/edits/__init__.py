"""Learned edits (Tufano et al., ICSE 2019) and edit propagation.

- ``abstraction``: tree-sitter tokens, typed-id abstraction with idioms, rendering back to code;
- ``patterns``: one function's change generalised into an abstract edit with holes, applied elsewhere;
- ``propagate``: the user's edit (working tree vs a commit) proposed wherever else it fits;
- ``neighbours``: nearest-neighbour edit transfer from the history (fallback and baseline);
- ``model``: the encoder-decoder on abstracted before -> after (train, beam search, back to code);
- ``suggest``: suggestions for one file's functions (model, else nearest neighbour);
- ``evaluate``: time-split evaluation against baselines; ``data``: corpus and store pairs;
- ``suggestion``: what is proposed, and writing it safely; ``commands``: the CLI.

Entry points for front ends: ``suggest_for_file``, ``apply_suggestions`` and
``user_edits`` here; ``propagate`` from ``codeintel.edits.propagate`` (a package attribute of
that name is the submodule once it has been imported, so it is not re-exported here).
"""
_EXPORTS = {"user_edits": "propagate", "suggest_for_file": "suggest",
            "Suggestion": "suggestion", "apply_suggestions": "suggestion"}
__all__ = list(_EXPORTS)


def __getattr__(name: str):
    """Imported on first use, so that the CLI's start-up does not load tree-sitter."""
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(name)
