"""The retriever of sketch-based generation: for a natural-language requirement (a docstring, a
comment, a signature) the functions of the store most like it, by BM25 over the store's
chunks (names weigh more than bodies; a function's chunk holds its signature, docstring,
comments and code) and by hashed dense vectors (``codeintel.retrieval.dense``), the two
rankings fused by reciprocal rank (k = 60). Only function and method chunks count;
``exclude_paths`` (held-out files, the requirement's own file while mining) and
``exclude`` ((path, start line) of the function being written) are never returned.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional

from codeintel.retrieval.lexical import bm25_chunks

from .pysource import FunctionParts, split_function

FUNCTION_KINDS = ("function", "method")
RRF_K = 60


@dataclass
class Retrieved:
    qualname: str
    path: str
    start_line: int
    score: float
    code: str                       # the function as written (dedented)
    parts: FunctionParts            # header / docstring / body

    def as_tuple(self) -> tuple[str, str, float, str]:
        return (self.qualname, self.path, self.score, self.code)


def retrieve(store, requirement: str, k: int = 4, *, dense=None, exclude_paths: Iterable[str] = (),
             exclude: Optional[tuple[str, int]] = None, pool: int = 24) -> list[Retrieved]:
    """The ``k`` functions most like ``requirement``, best first (fused score, higher is better)."""
    excluded = set(exclude_paths)
    rankings = [bm25_chunks(store, requirement, limit=pool, exclude_paths=excluded)]
    if dense is not None:
        rankings.append(dense.search(store, requirement, limit=pool, exclude_paths=excluded))
    fused: dict[tuple[str, int], float] = {}
    hits: dict[tuple[str, int], object] = {}
    for ranking in rankings:
        rank = 0
        for hit in ranking:
            if hit.kind not in FUNCTION_KINDS or (hit.path, hit.start_line) == exclude:
                continue
            key = (hit.path, hit.start_line)
            fused[key] = fused.get(key, 0.0) + 1.0 / (RRF_K + rank)
            hits.setdefault(key, hit)
            rank += 1
    out = []
    for key in sorted(fused, key=lambda key: -fused[key]):
        hit = hits[key]
        parts = split_function(hit.text)
        if parts is None or not parts.body.strip():
            continue
        out.append(Retrieved(hit.name, hit.path, hit.start_line, round(fused[key], 6), hit.text, parts))
        if len(out) >= k:
            break
    return out
