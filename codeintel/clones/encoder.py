"""The learned clone encoder at inference: a program (or function) in, one unit vector out.

The encoder (``codeintel.models.bag``; trained as ``models.bag_module.BagEncoder`` by
``contrastive``) reads the program's word sequences in the representation it was trained on
(``representation.streams``: tree-sitter tokens or the linearised AST, as written and
normalised) as hashed n-grams; its output is L2-normalised, so the dot product of two embeddings is the learned similarity (cosine). The projection head
that training adds (as SimCLR and MoCo do) is not part of the saved model.

``active_encoder(repo_root)`` loads the repository's clones model (``codeintel train
clones``), else the built-in one, else gives None (then clone detection uses fingerprints
only). ``model_id`` (16 hex digits of the weights' sha256) names the weights, so stored
embeddings of another model are never mixed with these. Weights may be stored in float16
(the built-in model is); they are computed in float32, in numpy (``models.bag.NumpyBag``), so
embedding never imports torch (the language server stays small and starts fast).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from ..models.registry import CONFIG, WEIGHTS, active_model
from .representation import streams

FEATURE = "clones"


class CloneEncoder:
    """A trained clones model directory, ready to embed (numpy only: no torch import)."""

    def __init__(self, directory: os.PathLike | str):
        from ..models.bag import NumpyBag
        from ..models.numpy_encoder import load_arrays

        self.path = Path(directory)
        self.config = json.loads((self.path / CONFIG).read_text(encoding="utf-8"))
        encoder_config = self.config.get("encoder", {})
        if self.config.get("feature") != FEATURE or encoder_config.get("arch") != "bag":
            raise ValueError(f"{self.path}: not a clones model")
        self.representation = self.config["representation"]
        self.max_words = int(self.config["max_words"])
        self.encoder = NumpyBag(load_arrays(self.path / WEIGHTS), encoder_config)
        self.dim = self.encoder.dim
        self.model_id = hashlib.sha256((self.path / WEIGHTS).read_bytes()).hexdigest()[:16]

    def features(self, source: bytes, language: Optional[str]) -> list[int]:
        return self.encoder.features(streams(source, language, self.representation, self.max_words))

    def embed(self, sources: Sequence[bytes], languages: Sequence[Optional[str]], batch_size: int = 512) -> np.ndarray:
        """float32 (len(sources), dim), rows L2-normalised."""
        out = np.zeros((len(sources), self.dim), dtype=np.float32)
        for start in range(0, len(sources), batch_size):
            rows = [self.features(s, lang) for s, lang in
                    zip(sources[start:start + batch_size], languages[start:start + batch_size])]
            if rows:
                vectors = self.encoder(rows)
                norms = np.linalg.norm(vectors, axis=1, keepdims=True)
                out[start:start + len(rows)] = vectors / np.maximum(norms, 1e-12)
        return out


def load_encoder(directory: os.PathLike | str) -> CloneEncoder:
    return CloneEncoder(directory)


def active_encoder(repo_root: Optional[os.PathLike | str]) -> Optional[CloneEncoder]:
    """The repository's clones model, else the built-in one, else None. A model that cannot
    be loaded (damaged weights, a config of another kind) is reported in one line on stderr
    and the caller goes on with fingerprints only."""
    import sys

    info = active_model(FEATURE, repo_root)
    if info is None:
        return None
    try:
        return CloneEncoder(info.path)
    except (OSError, ValueError, KeyError, ImportError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"codeintel: clones model {info.path} not usable ({reason}); using shared fragments only",
              file=sys.stderr)
        return None
