"""Edits learned from the history, suggested for the functions of one file.

``suggest_for_file(root, rel_path, text)`` returns, for each function of ``text`` (the buffer
as the editor has it, saved or not), the most likely edit, best first: from the learned model
when one is trained (``codeintel train edits``; the repository's own, else the built-in one),
else from nearest-neighbour edit transfer over the repository's history (``source`` says
which). Only candidates that parse are kept. The language server can call it as it is; the
nearest-neighbour index is built once per store version and reused.
"""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Optional

from .abstraction import NL, code_tokens, pair_idioms, parses, render, tokenize
from .suggestion import Suggestion, functions_of, make_suggestion

MIN_SCORE = 0.35          # nearest-neighbour: similarity x confidence of the transferred edit
MAX_FUNCTION_TOKENS = 400

_lock = threading.Lock()
_cache: dict = {}


def _history_index(root: Path):
    """The nearest-neighbour index over the store's function changes (None without any)."""
    from ..store import Store, store_path
    from .data import store_pairs
    from .neighbours import NeighbourIndex

    db = store_path(root)
    if not db.exists():
        return None
    key = (str(db), db.stat().st_mtime_ns)
    with _lock:
        if _cache.get("key") == key:
            return _cache["index"]
        with Store.open(db, create=False) as store:
            pairs = [p for p in store_pairs(store) if len(p["before"]) < 20000]
        index = None
        if pairs:
            idioms = pair_idioms(pairs)
            index = NeighbourIndex.from_pairs(pairs, idioms)
        _cache.update(key=key, index=index)
        return index


def suggest_for_file(root: Path, rel_path: str, text: str, limit_per_function: int = 1,
                     model=None) -> list[Suggestion]:
    """Suggested edits for the functions of ``text`` (the content of ``rel_path``)."""
    from indexer.languages import language_for_path

    from .model import active_predictor

    spec = language_for_path(rel_path)
    if spec is None:
        return []
    root = Path(root)
    data = text.encode("utf-8")
    predictor = model if model is not None else active_predictor(root)
    index = None if predictor is not None else _history_index(root)
    if predictor is None and index is None:
        return []
    out = []
    for fn in functions_of(data, spec.name):
        tokens = tokenize(fn.text, spec.name)
        if len(tokens) > MAX_FUNCTION_TOKENS:
            continue
        if predictor is not None:
            candidates = [(texts, score, "model", "the learned edit model")
                          for texts, score in predictor.predict(tokens, spec.name)]
        else:
            candidates = [(texts, score, "nearest-neighbour",
                           f"an edit made to the similar function {index.examples[idx].source}")
                          for texts, score, idx in index.predict(tokens, k=3) if score >= MIN_SCORE]
        kept = 0
        for texts, score, source, reason in candidates:
            new_text = render(fn.text, tokens, texts, spec.name)
            if new_text == fn.text or [t for t in texts if t != NL] == code_tokens(tokens):
                continue
            if not parses(new_text, spec.name):
                continue
            out.append(make_suggestion(rel_path, data, fn, new_text, round(float(score), 3), source, reason))
            kept += 1
            if kept >= limit_per_function:
                break
    return sorted(out, key=lambda s: (-s.confidence, s.start_line))
