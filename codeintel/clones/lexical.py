"""Fitting the clone encoder's lexical channel (``models.bag.LexicalChannel``) after the
learned part is trained: the IDF table from the training programs' tokens, then the weight
``w`` of the learned cosine against the TF-IDF one (see ``encoder.CloneEncoder``), chosen on
the validation programs, never on what is evaluated.

The weight is the one of ``WEIGHT_GRID`` that retrieves the validation programs best
(MAP@R, when they carry two labels or more); without labels there is nothing to choose it
by, and ``DEFAULT_WEIGHT`` is kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ..models.bag import LEXICAL_TABLE, LexicalChannel, fit_idf, stream_features
from .representation import streams_and_tokens
from .tokens import token_texts

WEIGHT_GRID = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
DEFAULT_WEIGHT = 0.6
NGRAMS = 3


@dataclass
class LexicalFit:
    idf: np.ndarray
    dim: int
    ngrams: int
    weight: float
    val_scores: dict           # weight -> validation MAP@R (empty without labels)

    def config(self) -> dict:
        return {"dim": self.dim, "ngrams": self.ngrams, "weight": self.weight, "table": int(self.idf.shape[0])}


def fit_lexical(programs: Sequence, train_idx: Sequence[int], val_idx: Sequence[int], labels: Sequence[int],
                embed_learned: Callable[[list], np.ndarray], settings, dim: int,
                weight: float | None = None, log: Callable[[str], None] = lambda m: None) -> LexicalFit:
    """``programs``: contrastive.Program; ``labels``: label ids (-1 = none); ``embed_learned``:
    n-gram id rows -> unit vectors of the learned encoder; ``weight`` fixed, or None to choose."""
    from .evaluate import map_at_r

    log(f"fitting the lexical channel on the tokens of {len(train_idx)} programs")
    idf = fit_idf([token_texts(programs[i].code, programs[i].language, raw=True) for i in train_idx],
                  NGRAMS, LEXICAL_TABLE)
    channel = LexicalChannel(idf, dim, NGRAMS)
    val_labels = np.asarray([labels[i] for i in val_idx])
    labelled = val_labels >= 0
    scores: dict = {}
    if weight is None and len(set(val_labels[labelled].tolist())) >= 2:
        kept = [i for i, keep in zip(val_idx, labelled) if keep]
        inputs = [streams_and_tokens(programs[i].code, programs[i].language, settings.representation,
                                     settings.max_words) for i in kept]
        learned = embed_learned([stream_features(s, settings.buckets, settings.ngrams) for s, _ in inputs])
        lexical = channel([tokens for _, tokens in inputs])
        sim_learned, sim_lexical = learned @ learned.T, lexical @ lexical.T
        for w in WEIGHT_GRID:
            scores[w] = round(map_at_r(w * sim_learned + (1 - w) * sim_lexical, val_labels[labelled]), 4)
        weight = max(WEIGHT_GRID, key=lambda w: (scores[w], w))
        log("validation MAP@R by weight of the learned part: "
            + ", ".join(f"{w}: {s}" for w, s in scores.items()) + f"; chosen {weight}")
    return LexicalFit(idf, dim, NGRAMS, DEFAULT_WEIGHT if weight is None else float(weight), scores)
