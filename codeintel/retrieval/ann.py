"""Nearest-neighbour search over L2-normalised float32 vectors with int64 keys: the one vector
index of the package (clone embeddings of functions, files and submissions).

``VectorIndex.build(keys, vectors)``, ``add``, ``search(queries, k) -> (keys, scores)`` (the
score is the inner product, i.e. the cosine of unit vectors), ``save(path)`` / ``load(path)``.
Below ``exact_below`` vectors (default 20,000) the search is exact (one matrix product with
numpy, blocked); from there on it goes through a usearch HNSW graph (inner-product metric,
connectivity 16, expansion 128 when adding and searching), built the moment the index
crosses the threshold and kept up to date by ``add``. The exact search is also the reference
the tests and ``bench/bench_ann.py`` measure the graph's recall against.

``cached_index(path, keys, vectors)`` keeps an index in a file between runs: loaded, the new
keys added, saved again, rebuilt only when many of its keys are gone (a graph of 100,000
vectors takes about a minute to build on 2 cores, under half a second to load).

Saved as one ``.npz`` file (keys, vectors, settings as JSON and, above the threshold, the
usearch graph's own serialisation), written to a temporary file in the same folder and
renamed over the target, read back with ``allow_pickle=False``.
"""
from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
import numpy as np

EXACT_BELOW = 20_000
FORMAT = "codeintel-ann-1"
_BLOCK = 256
MAX_STALE = 0.1


class VectorIndex:
    def __init__(self, dim: int, exact_below: int = EXACT_BELOW, connectivity: int = 16,
                 expansion_add: int = 128, expansion_search: int = 128):
        if dim <= 0:
            raise ValueError("dim must be positive")
        self.dim = int(dim)
        self.exact_below = int(exact_below)
        self.settings = {"connectivity": connectivity, "expansion_add": expansion_add,
                         "expansion_search": expansion_search}
        self.keys = np.zeros(0, dtype=np.int64)
        self.vectors = np.zeros((0, self.dim), dtype=np.float32)
        self._graph = None

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def backend(self) -> str:
        return "usearch" if self._graph is not None else "exact"

    @classmethod
    def build(cls, keys, vectors, **settings) -> "VectorIndex":
        vectors = np.asarray(vectors, dtype=np.float32)
        index = cls(vectors.shape[1] if vectors.ndim == 2 else settings.pop("dim"), **settings)
        index.add(keys, vectors)
        return index

    # ------------------------------------------------------------------ adding
    def _checked(self, keys, vectors) -> tuple[np.ndarray, np.ndarray]:
        keys = np.asarray(keys, dtype=np.int64).reshape(-1)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim or vectors.shape[0] != keys.shape[0]:
            raise ValueError(f"expected {keys.shape[0]} vectors of {self.dim} dimensions, got shape {vectors.shape}")
        if np.unique(keys).shape[0] != keys.shape[0] or np.isin(keys, self.keys).any():
            raise ValueError("keys must be unique")
        return keys, vectors

    def add(self, keys, vectors) -> None:
        keys, vectors = self._checked(keys, vectors)
        if not keys.shape[0]:
            return
        self.keys = np.concatenate([self.keys, keys])
        self.vectors = np.concatenate([self.vectors, vectors])
        if self._graph is not None:
            self._graph.add(keys.view(np.uint64), vectors)
        elif len(self) >= self.exact_below:
            self._graph = self._new_graph()
            self._graph.add(self.keys.view(np.uint64), self.vectors)

    def _new_graph(self):
        from usearch.index import Index

        return Index(ndim=self.dim, metric="ip", dtype="f32", **self.settings)

    # ------------------------------------------------------------------ searching
    def search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest keys of each query and their scores, best first: int64 and
        float32 arrays of shape (len(queries), k); missing neighbours are key -1, score -inf."""
        q = np.ascontiguousarray(queries, dtype=np.float32)
        if q.ndim == 1:
            q = q[None, :]
        if q.shape[1] != self.dim:
            raise ValueError(f"queries have {q.shape[1]} dimensions, the index {self.dim}")
        out_keys = np.full((q.shape[0], k), -1, dtype=np.int64)
        out_scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        if k <= 0 or not len(self) or not q.shape[0]:
            return out_keys, out_scores
        if self._graph is not None:
            found = self._graph.search(q, k)
            if hasattr(found, "counts"):
                counts = np.asarray(found.counts).reshape(-1)
            else:   # one query: usearch answers with a Matches of the found ones only
                counts = np.array([len(found.keys)])
                found = _Padded(found.keys, found.distances, k)
            mask = np.arange(k)[None, :] < counts[:, None]
            got = np.asarray(found.keys).reshape(q.shape[0], -1)[:, :k].view(np.int64)
            dist = np.asarray(found.distances, dtype=np.float32).reshape(q.shape[0], -1)[:, :k]
            out_keys[mask] = got[mask]
            out_scores[mask] = 1.0 - dist[mask]
            return out_keys, out_scores
        return self.exact_search(q, k)

    def exact_search(self, queries, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Exact top-k by a blocked matrix product (the reference for the graph's recall)."""
        q = np.ascontiguousarray(queries, dtype=np.float32).reshape(-1, self.dim)
        n = len(self)
        take = min(k, n)
        out_keys = np.full((q.shape[0], k), -1, dtype=np.int64)
        out_scores = np.full((q.shape[0], k), -np.inf, dtype=np.float32)
        for start in range(0, q.shape[0], _BLOCK):
            sims = q[start:start + _BLOCK] @ self.vectors.T
            top = np.argpartition(-sims, take - 1, axis=1)[:, :take] if take < n else \
                np.broadcast_to(np.arange(n), (sims.shape[0], n))
            top_scores = np.take_along_axis(sims, top, axis=1)
            order = np.argsort(-top_scores, axis=1, kind="stable")
            top = np.take_along_axis(top, order, axis=1)
            out_keys[start:start + _BLOCK, :take] = self.keys[top]
            out_scores[start:start + _BLOCK, :take] = np.take_along_axis(top_scores, order, axis=1)
        return out_keys, out_scores

    # ------------------------------------------------------------------ files
    def save(self, path: os.PathLike | str) -> None:
        from ..store.files import atomic_output

        target = Path(path)
        meta = {"format": FORMAT, "dim": self.dim, "exact_below": self.exact_below, **self.settings}
        arrays = {"keys": self.keys, "vectors": self.vectors,
                  "meta": np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
        if self._graph is not None:
            arrays["graph"] = np.frombuffer(bytes(self._graph.save()), dtype=np.uint8)
        with atomic_output(target, sync=True) as fh:
            np.savez(fh, **arrays)

    @classmethod
    def load(cls, path: os.PathLike | str) -> "VectorIndex":
        """An index saved by ``save``; ValueError when the file is not one."""
        try:
            with np.load(Path(path), allow_pickle=False) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                if meta.get("format") != FORMAT:
                    raise ValueError(f"{path}: not a codeintel vector index")
                index = cls(meta["dim"], meta["exact_below"], meta["connectivity"], meta["expansion_add"],
                            meta["expansion_search"])
                index.keys = np.asarray(data["keys"], dtype=np.int64)
                index.vectors = np.asarray(data["vectors"], dtype=np.float32).reshape(-1, index.dim)
                graph = bytes(data["graph"]) if "graph" in data.files else None
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise ValueError(f"{path}: cannot read the vector index ({exc})") from None
        if graph is not None:
            from usearch.index import Index

            index._graph = Index.restore(graph)
            index._graph.expansion_search = index.settings["expansion_search"]
        elif len(index) >= index.exact_below:
            index._graph = index._new_graph()
            index._graph.add(index.keys.view(np.uint64), index.vectors)
        return index


class _Padded:
    """One query's matches in the shape of a batch of one (padded to ``k``)."""

    def __init__(self, keys, distances, k: int):
        self.keys = np.zeros((1, k), dtype=np.uint64)
        self.distances = np.full((1, k), np.inf, dtype=np.float32)
        self.keys[0, :len(keys)] = keys
        self.distances[0, :len(distances)] = distances


def unit_rows(vectors) -> np.ndarray:
    """float32 rows scaled to length 1 (a zero row stays zero)."""
    v = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(v, axis=-1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)



def cached_index(path: os.PathLike | str, keys, vectors, max_stale: float = MAX_STALE,
                 **settings) -> tuple[VectorIndex, set]:
    """An index of ``keys``/``vectors`` kept in ``path`` (only from ``exact_below`` vectors on:
    smaller ones are built in memory, as exact search needs no graph). The saved index is
    loaded and the missing keys added; it is built anew when the file is unusable, of another
    dimension, or more than ``max_stale`` of its keys are no longer in ``keys``. Returns the
    index and its stale keys (to skip in results)."""
    keys = np.asarray(keys, dtype=np.int64)
    vectors = np.asarray(vectors, dtype=np.float32)
    fresh = VectorIndex(vectors.shape[1], **settings)
    if keys.shape[0] < fresh.exact_below:
        fresh.add(keys, vectors)
        return fresh, set()
    index = None
    try:
        index = VectorIndex.load(path)
    except ValueError:
        pass
    if index is not None and index.dim == fresh.dim:
        stale = index.keys[~np.isin(index.keys, keys)]
        if stale.shape[0] <= max_stale * len(index):
            new = ~np.isin(keys, index.keys)
            if new.any():
                index.add(keys[new], vectors[new])
                _save_quietly(index, path)
            return index, set(stale.tolist())
    fresh.add(keys, vectors)
    _save_quietly(fresh, path)
    return fresh, set()


def _save_quietly(index: VectorIndex, path) -> None:
    """The cache is only a shortcut: a folder that cannot be written to leaves it out."""
    with contextlib.suppress(OSError):
        index.save(path)
