"""A hashed n-gram bag encoder: a word sequence in, one vector out, cheap enough to train and
run on two CPU cores.

Every n-gram of the sequence (n = 1..``ngrams``) is hashed (crc32, stable across runs and
machines) into one of ``buckets`` rows of an embedding table (an input may be several
sequences, "streams", hashed apart: ``stream_features``); the rows of an input are
averaged (``torch.nn.EmbeddingBag``), layer-normalised and refined by a residual MLP. Word
order is seen through the n-grams, as in fastText. ``BagEncoder.config`` is what goes into a
model directory's ``config.json``; ``bag_from_config`` rebuilds the module.
"""
from __future__ import annotations

import zlib
from typing import Sequence

import torch
from torch import nn


def ngram_ids(words: Sequence[str], buckets: int, ngrams: int, salt: int = 0) -> list[int]:
    """The bucket of every n-gram of ``words`` (n = 1..ngrams); ``salt`` hashes another
    stream's n-grams elsewhere. At least one id (bucket 0 stands for the empty sequence)."""
    out: list[int] = []
    seed = zlib.crc32(bytes([salt])) if salt else 0
    encoded = [w.encode("utf-8", "surrogateescape") for w in words]
    for n in range(1, ngrams + 1):
        for i in range(len(encoded) - n + 1):
            out.append(zlib.crc32(b"\x00".join(encoded[i:i + n]), seed) % buckets)
    return out or [0]


def stream_features(streams: Sequence[Sequence[str]], buckets: int, ngrams: int) -> list[int]:
    """The n-gram buckets of each stream, each stream salted by its position."""
    out: list[int] = []
    for salt, words in enumerate(streams):
        out.extend(ngram_ids(words, buckets, ngrams, salt))
    return out or [0]


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
        """rows: the n-gram ids of each sequence -> (len(rows), dim)."""
        flat = torch.tensor([i for row in rows for i in row], dtype=torch.long)
        lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
        offsets = torch.cumsum(lengths, 0) - lengths
        h = self.norm(self.embedding(flat, offsets))
        return h + self.mlp(h)


def bag_from_config(config: dict) -> BagEncoder:
    return BagEncoder(config["buckets"], config["dim"], config["ngrams"])
