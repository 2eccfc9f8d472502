"""Retrieval over the store, shared by completion, sketch and clones.

- ``text``: code tokens, identifiers and their sub-words, token budgets.
- ``lexical``: BM25 over the store's FTS5 chunk index (``Store.search``).
- ``dense``: a dense vector per chunk (hashed sub-word embedding, numpy only), cached in
  ``.codeintel/dense_chunks.safetensors`` keyed by chunk id and file blob id, and
  cosine-similarity search over it.

Nothing here imports torch.
"""
from .lexical import ChunkHit, bm25_chunks
from .dense import DenseIndex, embed_texts

__all__ = ["ChunkHit", "bm25_chunks", "DenseIndex", "embed_texts"]
