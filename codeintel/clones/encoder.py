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
from .representation import streams_and_tokens

FEATURE = "clones"
LEXICAL_IDF = "lexical.idf"   # the lexical channel's IDF table in the weights


class CloneEncoder:
    """A trained clones model directory, ready to embed (numpy only: no torch import).

    With a lexical channel (``encoder.lexical`` in the config, ``lexical.idf`` in the
    weights), an embedding is the learned vector and the lexical one (``models.bag.
    LexicalChannel``), each unit-length, weighted by sqrt(w) and sqrt(1 - w) and put side by
    side: the dot product of two embeddings is then w * learned cosine + (1 - w) * TF-IDF
    cosine, in one vector that the store and the nearest-neighbour index hold as any other.
    That sum finds neighbours (retrieval: candidates for the comparison, ``eval clones``'
    MAP@R); the learned similarity that is shown and held against thresholds compares the
    learned parts alone (``learned_part``), which renaming does not move."""

    def __init__(self, directory: os.PathLike | str):
        from ..models.bag import LexicalChannel, NumpyBag
        from ..models.numpy_encoder import load_arrays

        self.path = Path(directory)
        self.config = json.loads((self.path / CONFIG).read_text(encoding="utf-8"))
        encoder_config = self.config.get("encoder", {})
        if self.config.get("feature") != FEATURE or encoder_config.get("arch") != "bag":
            raise ValueError(f"{self.path}: not a clones model")
        self.representation = self.config["representation"]
        self.max_words = int(self.config["max_words"])
        arrays = load_arrays(self.path / WEIGHTS)
        lexical = encoder_config.get("lexical")
        self.lexical = None
        self.lexical_weight = 0.0
        if lexical:
            if LEXICAL_IDF not in arrays:
                raise ValueError(f"{self.path}: the config names a lexical channel but the weights lack {LEXICAL_IDF}")
            self.lexical = LexicalChannel(arrays.pop(LEXICAL_IDF), lexical["dim"], lexical["ngrams"])
            self.lexical_weight = float(lexical["weight"])
        self.encoder = NumpyBag(arrays, encoder_config)
        self.learned_dim = self.encoder.dim
        self.dim = self.learned_dim + (self.lexical.dim if self.lexical else 0)
        self.model_id = hashlib.sha256((self.path / WEIGHTS).read_bytes()).hexdigest()[:16]

    def features(self, source: bytes, language: Optional[str]) -> list[int]:
        """The n-gram ids the learned part reads of ``source``."""
        return self.encoder.features(streams_and_tokens(source, language, self.representation, self.max_words)[0])

    def embed(self, sources: Sequence[bytes], languages: Sequence[Optional[str]], batch_size: int = 512) -> np.ndarray:
        """float32 (len(sources), dim), rows L2-normalised."""
        out = np.zeros((len(sources), self.dim), dtype=np.float32)
        for start in range(0, len(sources), batch_size):
            inputs = [streams_and_tokens(s, lang, self.representation, self.max_words) for s, lang in
                      zip(sources[start:start + batch_size], languages[start:start + batch_size])]
            if inputs:
                out[start:start + len(inputs)] = self.vectors([i[0] for i in inputs], [i[1] for i in inputs])
        return out

    def vectors(self, stream_sets: Sequence[Sequence[Sequence[str]]], tokens: Sequence[Sequence[str]]) -> np.ndarray:
        """The embeddings of inputs already split into their streams and raw tokens."""
        learned = unit_rows(self.encoder([self.encoder.features(s) for s in stream_sets]))
        if self.lexical is None:
            return learned
        w = self.lexical_weight
        # both parts are unit vectors, so this is one already, except where an input has no
        # tokens (a zero lexical part): that row is scaled back to unit length
        return unit_rows(np.hstack([np.sqrt(w) * learned, np.sqrt(1.0 - w) * self.lexical(tokens)]))


    def learned_part(self, vectors: np.ndarray) -> np.ndarray:
        return learned_part(vectors, self.learned_dim)


def learned_part(vectors: np.ndarray, dim: Optional[int]) -> np.ndarray:
    """The learned part of embeddings (their first ``dim`` columns) at unit length; the
    vectors themselves when they have no other part (or ``dim`` is None)."""
    if dim is None or vectors.shape[-1] == dim:
        return vectors
    return unit_rows(vectors[..., :dim])


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    return (vectors / np.maximum(np.linalg.norm(vectors, axis=-1, keepdims=True), 1e-12)).astype(np.float32)


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
