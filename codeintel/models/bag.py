"""A hashed n-gram bag encoder: word sequences in, one vector out, cheap enough to train and
run on two CPU cores. This module owns its features and its forward pass in numpy (what
inference runs: no torch import); ``models.bag_module`` is the same network in torch, for
training, with the same weight names.

Every n-gram of a sequence (n = 1..``ngrams``) is hashed (crc32, stable across runs and
machines) into one of ``buckets`` rows of an embedding table; an input may be several
sequences ("streams"), hashed apart by a per-stream salt (``stream_features``). The rows of
an input are averaged, layer-normalised and refined by a residual MLP (GELU). Word order is
seen through the n-grams, as in fastText.
"""
from __future__ import annotations

import zlib
from typing import Sequence

import numpy as np


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


class NumpyBag:
    """The forward pass of ``bag_module.BagEncoder`` from its saved weights (float16 or 32)."""

    def __init__(self, state: dict, config: dict):
        self.config = dict(config)
        self.dim = int(config["dim"])
        w = {k: np.asarray(v, dtype=np.float32) for k, v in state.items()}
        self.table = w["embedding.weight"]
        self.norm_w, self.norm_b = w["norm.weight"], w["norm.bias"]
        self.w1, self.b1 = w["mlp.0.weight"].T.copy(), w["mlp.0.bias"]
        self.w2, self.b2 = w["mlp.2.weight"].T.copy(), w["mlp.2.bias"]
        if self.table.shape != (config["buckets"], self.dim):
            raise ValueError(f"embedding table {self.table.shape} does not match the config")

    def features(self, streams: Sequence[Sequence[str]]) -> list[int]:
        return stream_features(streams, self.config["buckets"], self.config["ngrams"])

    def __call__(self, rows: Sequence[Sequence[int]]) -> np.ndarray:
        """rows: the n-gram ids of each input -> float32 (len(rows), dim)."""
        from scipy.sparse import csr_matrix
        from scipy.special import erf

        lengths = np.fromiter((len(r) for r in rows), dtype=np.int64, count=len(rows))
        flat = np.fromiter((i for r in rows for i in r), dtype=np.int64, count=int(lengths.sum()))
        indptr = np.concatenate(([0], np.cumsum(lengths)))
        weights = np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)
        # the mean of each input's rows, as one sparse (inputs x buckets) product with the table
        h = csr_matrix((weights, flat, indptr), shape=(len(rows), self.table.shape[0])) @ self.table
        mean = h.mean(-1, keepdims=True)
        var = ((h - mean) ** 2).mean(-1, keepdims=True)
        h = (h - mean) / np.sqrt(var + 1e-5) * self.norm_w + self.norm_b
        inner = h @ self.w1 + self.b1
        inner = 0.5 * inner * (1.0 + erf(inner / np.sqrt(2.0)))
        return (h + inner @ self.w2 + self.b2).astype(np.float32)
