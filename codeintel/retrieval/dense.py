"""Dense retrieval of similar chunks: one vector per chunk, cosine similarity, numpy only.

The vector is a hashed sub-word embedding (the "hashing trick"): every identifier of a chunk
adds its lower-cased whole form and each of its sub-words (``parse_http_file`` -> parse, http,
file) to one of ``DIM`` signed buckets (crc32, stable across runs), counts are damped
(1 + log tf) and the vector is L2-normalised. Unlike BM25 it matches partial names
(``read_config`` finds ``config_reader``) and ranks by the overall vocabulary of a chunk
rather than by rare words. No model is needed; a learned encoder could replace
``embed_texts`` without changing the cache or the search.

The vectors live in ``.codeintel/dense_chunks.safetensors`` (float16 ``vectors`` and int64
``keys``: chunk id and the first 15 hex digits of its file's git blob id), rebuilt for the
chunks whose key changed since the last build and written atomically.
"""
from __future__ import annotations

import math
import os
import textwrap
import threading
import zlib
from collections import Counter
from pathlib import Path
from typing import Iterable, Optional

from .lexical import ChunkHit
from .text import identifiers, subwords

DIM = 512
CACHE_NAME = "dense_chunks.safetensors"


def _features(text: str) -> Counter:
    counts: Counter = Counter()
    for name in identifiers(text):
        low = name.lower()
        counts[low] += 1
        parts = subwords(name)
        if len(parts) > 1:
            counts.update("~" + p for p in parts)
    return counts


def embed_texts(texts: Iterable[str]):
    """``(len(texts), DIM)`` float32 unit vectors (zero for a text without identifiers)."""
    import numpy as np

    texts = list(texts)
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for feature, count in _features(text).items():
            h = zlib.crc32(feature.encode("utf-8", "surrogatepass"))
            out[row, h % DIM] += (1.0 if (h >> 16) & 1 else -1.0) * (1.0 + math.log(count))
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    np.divide(out, norms, out=out, where=norms > 0)
    return out


def _blob_key(blob: Optional[str]) -> int:
    return int(blob[:15], 16) if blob else 0


class DenseIndex:
    """The chunk vectors of one store, loaded from (and kept in step with) the cache file."""

    def __init__(self, keys, vectors):
        self.keys, self.vectors = keys, vectors        # (N, 2) int64, (N, DIM) float32

    def __len__(self) -> int:
        return len(self.keys)

    @classmethod
    def build(cls, store, cache_dir: Optional[os.PathLike | str] = None) -> "DenseIndex":
        """Vectors for every chunk of ``store``: those cached under ``cache_dir`` with the same
        chunk id and blob are reused, the rest embedded; the cache is rewritten when anything changed."""
        import numpy as np

        cached: dict[tuple[int, int], int] = {}
        old = None
        path = Path(cache_dir) / CACHE_NAME if cache_dir else None
        if path and path.is_file():
            try:
                from safetensors.numpy import load_file
                old = load_file(str(path))
                cached = {(int(a), int(b)): i for i, (a, b) in enumerate(old["keys"].tolist())}
            except Exception:   # noqa: BLE001 - a damaged cache is rebuilt, never trusted
                old, cached = None, {}
        rows = list(store.chunk_rows())
        keys = np.array([(r["id"], _blob_key(r["blob"])) for r in rows], dtype=np.int64).reshape(-1, 2)
        vectors = np.zeros((len(rows), DIM), dtype=np.float32)
        missing = [i for i, r in enumerate(rows) if (r["id"], _blob_key(r["blob"])) not in cached]
        missing_set = set(missing)
        reused = [i for i in range(len(rows)) if i not in missing_set] if old is not None else []
        if reused:
            vectors[reused] = old["vectors"][[cached[tuple(keys[i])] for i in reused]].astype(np.float32)
        contents: dict[str, bytes] = {}
        texts = []
        for i in missing:
            r = rows[i]
            if r["path"] not in contents:
                contents = {r["path"]: store.file_content(r["path"]) or b""}   # rows come file by file
            texts.append(contents[r["path"]][r["start_byte"]:r["end_byte"]].decode("utf-8", "replace"))
        if missing:
            vectors[missing] = embed_texts(texts)
        if path and (missing or old is None or len(old["keys"]) != len(rows)):
            _write_cache(path, keys, vectors)
        return cls(keys, vectors)

    def search(self, store, query: str, limit: int = 8, exclude_paths: Iterable[str] = ()) -> list[ChunkHit]:
        """The chunks most similar (cosine) to ``query``, leaving out ``exclude_paths``."""
        import numpy as np

        if not len(self.keys):
            return []
        q = embed_texts([query])[0]
        if not q.any():
            return []
        sims = _similarities(self.vectors, q)
        excluded = set(exclude_paths)
        take = min(len(sims), limit * 3 + 16)
        order = np.argpartition(-sims, take - 1)[:take]
        order = order[np.argsort(-sims[order])]
        hits = []
        rows = store.chunks_by_id(int(self.keys[i, 0]) for i in order)
        score = {int(self.keys[i, 0]): float(sims[i]) for i in order}
        for row in rows:
            if row["path"] in excluded or score[row["id"]] <= 0:
                continue
            text = textwrap.dedent(store.chunk_text(row["path"], row["start_byte"], row["end_byte"]))
            hits.append(ChunkHit(row["id"], row["path"], row["kind"], row["name"], row["start_line"],
                                 row["end_line"], text, score[row["id"]], "dense"))
            if len(hits) >= limit:
                break
        return hits


def _similarities(vectors, q, block: int = 8192):
    """``vectors @ q`` without BLAS: a matrix-vector product this small costs more in OpenBLAS's
    thread start-up (tens of ms on a busy machine) than in arithmetic."""
    import numpy as np

    out = np.empty(len(vectors), dtype=np.float32)
    for start in range(0, len(vectors), block):
        np.multiply(vectors[start:start + block], q, dtype=np.float32).sum(axis=1, out=out[start:start + block])
    return out


_write_lock = threading.Lock()


def _write_cache(path: Path, keys, vectors) -> None:
    from safetensors.numpy import save_file

    from ..store.files import atomic_path

    with _write_lock:
        try:
            with atomic_path(path) as tmp:
                save_file({"keys": keys, "vectors": vectors.astype("float16")}, str(tmp))
        except OSError:
            pass    # a read-only .codeintel: the vectors stay in memory
