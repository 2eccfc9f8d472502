"""Learned clone embeddings of functions, files and submissions: filled lazily, cached in the
store, whatever encoder ``encoder.active_encoder`` gives (nothing here knows how it works).

- ``repository_vectors``: the vectors of an indexed repository's functions and files. Rows of
  another model, or of blobs no indexed file has any more, are dropped first; what the store
  lacks (functions of new or changed files: the key is the file's git blob id and the
  function's byte span) is embedded in batches and written back, so a second run embeds
  nothing. ``codeintel index`` never embeds.
- ``submission_vectors``: a submission's vector is the mean of its files' vectors, each file
  weighted by its counted tokens (starter code given as a template left out), scaled back to
  unit length; a single-file submission's vector is its file's.
- ``archive_vectors``: the vectors of the kept submissions of a plagiarism archive, those
  missing for the active model embedded from the kept files and written back.
"""
from __future__ import annotations

import os
import sqlite3
from typing import Callable, Optional, Sequence

import numpy as np

from ..store.embeddings import FILE_SPAN, pack_vector, unpack_vectors

BATCH = 32
Progress = Optional[Callable[[str, int, int], None]]


def learned_encoder(repo_root: Optional[os.PathLike], enabled: bool = True):
    """The active clone encoder, or None (no model, or the learned signal turned off)."""
    if not enabled:
        return None
    from .encoder import active_encoder

    return active_encoder(repo_root)


def embed(encoder, sources: Sequence[bytes], languages: Sequence[Optional[str]], progress: Progress = None,
          phase: str = "embed") -> np.ndarray:
    """``encoder.embed`` in batches, reporting (phase, done, total) after each."""
    out = np.zeros((len(sources), encoder.dim), dtype=np.float32)
    for start in range(0, len(sources), BATCH):
        end = min(start + BATCH, len(sources))
        out[start:end] = encoder.embed(list(sources[start:end]), list(languages[start:end]))
        if progress:
            progress(phase, end, len(sources))
    return out


def repository_vectors(store, encoder, items: list[tuple[str, int, int, bytes, Optional[str]]],
                       progress: Progress = None) -> tuple[np.ndarray, int]:
    """The vectors of ``items`` (blob, start_byte, end_byte, source, language), in order, and
    how many had to be embedded. A store that cannot be written to is left as it is."""
    try:
        store.drop_stale_embeddings(encoder.model_id)
    except sqlite3.OperationalError:
        pass
    have = store.embeddings(encoder.model_id)
    keys = [(blob, start, end) for blob, start, end, _, _ in items]
    missing = [n for n, key in enumerate(keys) if key not in have]
    fresh = embed(encoder, [items[n][3] for n in missing], [items[n][4] for n in missing], progress)
    packed = {keys[n]: pack_vector(v) for n, v in zip(missing, fresh)}
    if packed:
        try:
            store.put_embeddings(encoder.model_id, [(*key, blob) for key, blob in packed.items()])
        except sqlite3.OperationalError:
            pass
    return unpack_vectors([have.get(key) or packed[key] for key in keys], encoder.dim), len(missing)


def file_item(blob: str, content: bytes, language: Optional[str]) -> tuple:
    return (blob, *FILE_SPAN, content, language)


def submission_vector(file_vectors: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    w = np.maximum(np.asarray(weights, dtype=np.float32), 0)
    if not w.sum():
        w = np.ones_like(w)
    v = (file_vectors * w[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else file_vectors[0]


def submission_vectors(subs: list, encoder, progress: Progress = None) -> np.ndarray:
    """One unit vector per submission (see the module docstring)."""
    docs = [d for s in subs for d in s.docs]
    files = embed(encoder, [d.tokens.text for d in docs], [d.tokens.language for d in docs], progress)
    out = np.zeros((len(subs), encoder.dim), dtype=np.float32)
    at = 0
    for n, s in enumerate(subs):
        out[n] = submission_vector(files[at:at + len(s.docs)], [d.counted_tokens for d in s.docs])
        at += len(s.docs)
    return out


def archive_vectors(store, encoder, load_documents: Callable[[list], list], progress: Progress = None):
    """(names, vectors) of every kept submission; ``load_documents(names)`` gives the
    Submissions of those whose vector for this model is missing, to embed them."""
    kept = store.archive_vectors(encoder.model_id)
    missing = sorted(store.archive_names() - kept.keys())
    if missing:
        subs = load_documents(missing)
        vectors = submission_vectors(subs, encoder, progress)
        fresh = {s.name: pack_vector(v) for s, v in zip(subs, vectors)}
        try:
            store.put_archive_vectors(encoder.model_id, fresh.items())
        except sqlite3.OperationalError:
            pass
        kept.update(fresh)
    names = sorted(kept)
    return names, unpack_vectors([kept[n] for n in names], encoder.dim)
