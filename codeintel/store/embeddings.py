"""The store's queries for learned clone embeddings (schema 5): ``clone_embeddings`` (one
vector per function and per file, keyed by model id, git blob id and byte span) and
``clone_submission_embeddings`` (one vector per kept plagiarism submission). Vectors are
stored as little-endian float16 bytes and read back as L2-normalised float32. Mixed into
``Store``."""
from __future__ import annotations

from typing import Iterable

import numpy as np

FILE_SPAN = (0, -1)   # (start_byte, end_byte) of a whole file's row


def pack_vector(vector) -> bytes:
    return np.asarray(vector, dtype="<f2").tobytes()


def unpack_vectors(blobs: list[bytes], dim: int) -> np.ndarray:
    """(len(blobs), dim) float32 rows, scaled back to unit length (float16 rounding)."""
    if not blobs:
        return np.zeros((0, dim), dtype=np.float32)
    v = np.frombuffer(b"".join(blobs), dtype="<f2").astype(np.float32).reshape(len(blobs), dim)
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.divide(v, norms, out=np.zeros_like(v), where=norms > 0)


class EmbeddingQueries:
    conn = None  # provided by Store

    def drop_stale_embeddings(self, model: str) -> int:
        """Delete the rows of other models and of blobs no indexed file has; returns how many."""
        with self.transaction() as c:
            n = c.execute("DELETE FROM clone_embeddings WHERE model != ?", (model,)).rowcount
            n += c.execute("DELETE FROM clone_embeddings WHERE blob NOT IN"
                           " (SELECT blob FROM files WHERE blob IS NOT NULL)").rowcount
        return n

    def embeddings(self, model: str) -> dict[tuple[str, int, int], bytes]:
        """{(blob, start_byte, end_byte): packed vector} of one model."""
        return {(blob, start, end): bytes(vector) for blob, start, end, vector in self.conn.execute(
            "SELECT blob, start_byte, end_byte, vector FROM clone_embeddings WHERE model = ?", (model,))}

    def put_embeddings(self, model: str, rows: Iterable[tuple[str, int, int, bytes]]) -> None:
        with self.transaction() as c:
            c.executemany("INSERT OR REPLACE INTO clone_embeddings(model, blob, start_byte, end_byte, vector)"
                          " VALUES (?, ?, ?, ?, ?)", ((model, *row) for row in rows))

    def embedding_count(self, model: str) -> int:
        return self.conn.execute("SELECT count(*) FROM clone_embeddings WHERE model = ?", (model,)).fetchone()[0]

    def archive_vectors(self, model: str) -> dict[str, bytes]:
        """{submission name: packed vector} of the kept submissions that have one for ``model``."""
        return {name: bytes(vector) for name, vector in self.conn.execute(
            "SELECT s.name, e.vector FROM clone_submission_embeddings e"
            " JOIN clone_submissions s ON s.id = e.submission_id WHERE e.model = ?", (model,))}

    def put_archive_vectors(self, model: str, vectors: Iterable[tuple[str, bytes]]) -> None:
        """Set the vectors of kept submissions (by name) for ``model``; other models' are dropped."""
        with self.transaction() as c:
            c.execute("DELETE FROM clone_submission_embeddings WHERE model != ?", (model,))
            c.executemany("INSERT OR REPLACE INTO clone_submission_embeddings(model, submission_id, vector)"
                          " SELECT ?, id, ? FROM clone_submissions WHERE name = ?",
                          ((model, vector, name) for name, vector in vectors))
