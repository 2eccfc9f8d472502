"""Lexical retrieval: the store's FTS5 index ranked by BM25, queried with the identifiers
around a cursor (any word may match; rarer words weigh more, as BM25 does)."""
from __future__ import annotations

import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

from .text import identifiers

MAX_QUERY_WORDS = 16     # FTS5 OR-queries slow down with every common word (3x from 16 to 32 on the stdlib)


@dataclass
class ChunkHit:
    """One retrieved chunk."""
    chunk_id: int
    path: str
    kind: str
    name: str
    start_line: int
    end_line: int
    text: str
    score: float          # higher is better (BM25, or cosine similarity for dense hits)
    retriever: str        # "bm25" | "dense"


def query_words(text: str, limit: int = MAX_QUERY_WORDS) -> list[str]:
    """The query for ``text``: its identifiers, most frequent first, the latest breaking ties
    (the words nearest the cursor end the text)."""
    names = identifiers(text)
    counts = Counter(names)
    last = {name: i for i, name in enumerate(names)}
    return sorted(counts, key=lambda n: (-counts[n], -last[n]))[:limit]


def bm25_chunks(store, context: str, limit: int = 8, exclude_paths: Iterable[str] = ()) -> list[ChunkHit]:
    """The ``limit`` chunks that best match the identifiers of ``context`` by BM25, leaving out
    chunks of ``exclude_paths`` (the file being edited, held-out files)."""
    words = query_words(context)
    if not words:
        return []
    excluded = set(exclude_paths)
    hits = []
    for row in store.search(" ".join(words), limit=limit * 3 + len(excluded) * 4, any_word=True):
        if row["path"] in excluded:
            continue
        text = textwrap.dedent(store.chunk_text(row["path"], row["start_byte"], row["end_byte"]))
        hits.append(ChunkHit(row["id"], row["path"], row["kind"], row["name"], row["start_line"], row["end_line"],
                             text, float(row["score"]), "bm25"))
        if len(hits) >= limit:
            break
    return hits
