"""The learned chooser: scores each candidate resolution of a conflict region and picks the best,
or abstains when even the best scores below the threshold. Inference is numpy only (the merge
driver runs it on the plain install: no torch, no scikit-learn).

The model is a gradient-boosted ensemble of binary trees (trained with scikit-learn's
``HistGradientBoostingClassifier`` in ``chooser_training``) exported to flat arrays in
``model.safetensors``: for every node its feature, threshold, children, whether it is a leaf,
its value and where a missing value goes, and where each tree starts. The score of a candidate is
``sigmoid(baseline + sum of the leaf values it reaches)``: the probability that it is exactly
what the developer would commit (ignoring whitespace). ``config.json`` says
``"architecture": "candidate-chooser"``, the feature names (``chooser_features.FEATURES``; rows
of another layout are refused) and the default threshold.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from .candidates import Candidate, Region, candidates
from .chooser_features import FEATURES, feature_rows

ARCHITECTURE = "candidate-chooser"
ARRAYS = ("feature", "threshold", "left", "right", "leaf", "value", "missing_left", "tree_start")


class TreeEnsemble:
    """Boosted binary trees over flat node arrays; ``predict`` gives probabilities."""

    def __init__(self, arrays: dict, baseline: float, n_features: int):
        missing = [k for k in ARRAYS if k not in arrays]
        if missing:
            raise ValueError(f"chooser weights lack {', '.join(missing)}")
        self.feature = arrays["feature"].astype(np.int64)
        self.threshold = arrays["threshold"].astype(np.float64)
        self.left = arrays["left"].astype(np.int64)
        self.right = arrays["right"].astype(np.int64)
        self.leaf = arrays["leaf"].astype(bool)
        self.value = arrays["value"].astype(np.float64)
        self.missing_left = arrays["missing_left"].astype(bool)
        self.roots = arrays["tree_start"].astype(np.int64)
        self.baseline = float(baseline)
        self.n_features = n_features
        n = len(self.feature)
        if not (len(self.threshold) == len(self.left) == len(self.right) == len(self.leaf) == len(self.value)
                == len(self.missing_left) == n):
            raise ValueError("chooser weights: node arrays of different lengths")
        inner = ~self.leaf
        if (np.any((self.left[inner] < 0) | (self.left[inner] >= n) | (self.right[inner] < 0) | (self.right[inner] >= n))
                or np.any((self.feature[inner] < 0) | (self.feature[inner] >= n_features))
                or np.any((self.roots < 0) | (self.roots >= max(n, 1)))):
            raise ValueError("chooser weights: a node points outside the arrays")

    def raw(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {x.shape}")
        total = np.full(len(x), self.baseline)
        rows = np.arange(len(x))
        for root in self.roots:
            node = np.full(len(x), root)
            for _ in range(64):                      # depth bound: a malformed tree cannot loop
                inner = ~self.leaf[node]
                if not inner.any():
                    break
                vals = x[rows, self.feature[node]]
                go_left = np.where(np.isnan(vals), self.missing_left[node], vals <= self.threshold[node])
                node = np.where(inner, np.where(go_left, self.left[node], self.right[node]), node)
            total += self.value[node]
        return total

    def predict(self, x: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.raw(x)))


@dataclass
class Choice:
    text: Optional[str]              # None: abstained
    score: float                     # the best candidate's score
    generators: list[str]            # the best candidate's generators
    candidates: int


class Chooser:
    """A loaded chooser model."""

    def __init__(self, trees: TreeEnsemble, config: dict):
        self.trees, self.config = trees, config
        names = tuple(config.get("features") or ())
        if names != FEATURES:
            raise ValueError("this chooser was trained on other features; retrain it with `codeintel train merge`")
        self.use_syntax = bool(config.get("syntax", True))
        self.parse = bool(config.get("parse", True))

    @classmethod
    def load(cls, directory, config: dict) -> "Chooser":
        from codeintel.models.numpy_encoder import load_arrays

        arrays = load_arrays(Path(directory) / "model.safetensors")
        return cls(TreeEnsemble(arrays, float(config["baseline"]), len(FEATURES)), config)

    @property
    def threshold(self) -> float:
        return float(self.config.get("threshold", 0.5))

    def score(self, region: Region) -> tuple[list[Candidate], np.ndarray]:
        cands = candidates(region, self.use_syntax)
        if not cands:
            return cands, np.zeros(0)
        return cands, self.trees.predict(feature_rows(region, cands, self.parse))

    def choose(self, region: Region, threshold: float) -> Choice:
        cands, scores = self.score(region)
        return pick(cands, scores, threshold)


def pick(cands: Sequence[Candidate], scores: np.ndarray, threshold: float) -> Choice:
    """The best-scored candidate, or an abstention below ``threshold``."""
    if not len(cands):
        return Choice(None, 0.0, [], 0)
    best = int(np.argmax(scores))
    score = float(scores[best])
    text = cands[best].text if score >= threshold else None
    return Choice(text, score, list(cands[best].generators), len(cands))


__all__ = ["ARCHITECTURE", "Choice", "Chooser", "TreeEnsemble", "pick"]
