"""The trainable hashed n-gram bag encoder (a ``torch.nn.Module``); see ``models.bag`` for
the features it reads and for the numpy forward pass that inference uses instead."""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from .bag import stream_features


class BagEncoder(nn.Module):
    def __init__(self, buckets: int = 65536, dim: int = 256, ngrams: int = 3):
        super().__init__()
        self.config = {"arch": "bag", "buckets": int(buckets), "dim": int(dim), "ngrams": int(ngrams)}
        self.embedding = nn.EmbeddingBag(buckets, dim, mode="mean")
        self.norm = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    @property
    def dim(self) -> int:
        return self.config["dim"]

    def features(self, streams: Sequence[Sequence[str]]) -> list[int]:
        return stream_features(streams, self.config["buckets"], self.config["ngrams"])

    def forward(self, rows: Sequence[Sequence[int]]) -> torch.Tensor:
        """rows: the n-gram ids of each input -> (len(rows), dim)."""
        flat = torch.tensor([i for row in rows for i in row], dtype=torch.long)
        lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
        offsets = torch.cumsum(lengths, 0) - lengths
        h = self.norm(self.embedding(flat, offsets))
        return h + self.mlp(h)


def bag_from_config(config: dict) -> BagEncoder:
    return BagEncoder(config["buckets"], config["dim"], config["ngrams"])
