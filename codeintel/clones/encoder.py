"""The learned clone encoder's interface: ``CloneEncoder`` (``model_id``, ``dim``, ``embed``)
and ``active_encoder(repo_root)``.

# STAND-IN: replaced by the lead's encoder at merge
This file holds only the interface with a deterministic stand-in, so that the store, the ANN
index and the front ends can be built and tested before the trained encoder lands: a hashed
bag of the normalised token 1-3-grams (``tokens.token_texts``), 64 signed buckets, damped
counts (1 + log tf), L2-normalised. It is active exactly when a clones model directory is
(``models.registry.active_model("clones", repo_root)``: the repository's
``.codeintel/models/clones/``, else the built-in one); its ``model_id`` is the first 16 hex
digits of the sha256 of that directory's ``model.safetensors``, whose weights it ignores.
"""
from __future__ import annotations

import hashlib
import math
import os
import zlib
from collections import Counter
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

STAND_IN_DIM = 64


class CloneEncoder:
    """Embeds programs (a function, a file) as L2-normalised float32 vectors."""

    def __init__(self, model_id: str, dim: int = STAND_IN_DIM):
        self.model_id = model_id
        self.dim = dim

    def embed(self, sources: Sequence[bytes], languages: Sequence[Optional[str]]) -> np.ndarray:
        """float32 (len(sources), dim), rows L2-normalised; a source that cannot be parsed still gets a vector."""
        from .tokens import token_texts

        out = np.zeros((len(sources), self.dim), dtype=np.float32)
        for row, (source, language) in enumerate(zip(sources, languages)):
            words = token_texts(source, language)
            grams: Counter = Counter()
            for n in (1, 2, 3):
                grams.update(" ".join(words[i:i + n]) for i in range(len(words) - n + 1))
            for gram, count in grams.items():
                h = zlib.crc32(gram.encode("utf-8", "surrogatepass"))
                out[row, h % self.dim] += (1.0 if (h >> 16) & 1 else -1.0) * (1.0 + math.log(count))
            norm = float(np.linalg.norm(out[row]))
            if norm > 0:
                out[row] /= norm
            else:
                out[row, 0] = 1.0   # no tokens at all: still a unit vector
        return out


def _weights_id(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def active_encoder(repo_root: Optional[os.PathLike]) -> Optional[CloneEncoder]:
    """The repository's clones model (.codeintel/models/clones/), else the built-in one, else None.
    Loading imports torch: call it only when embeddings are needed."""
    from ..models.registry import WEIGHTS, active_model

    info = active_model("clones", repo_root)
    if info is None:
        return None
    return CloneEncoder(_weights_id(info.path / WEIGHTS))
