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


# ------------------------------------------------------------------ the lexical channel
LEXICAL_TABLE = 1 << 20      # rows of the IDF table (n-grams hashed there; few collide)
_SPREAD = np.uint64(0x9E3779B97F4A7C15)   # odd 64-bit constant: mixes a hash into the output dims


def gram_counts(words: Sequence[str], ngrams: int) -> dict[int, int]:
    """{crc32 of an n-gram: how often it occurs} over the n-grams of ``words`` (n = 1..ngrams)."""
    counts: dict[int, int] = {}
    encoded = [w.encode("utf-8", "surrogateescape") for w in words]
    for n in range(1, ngrams + 1):
        for i in range(len(encoded) - n + 1):
            h = zlib.crc32(b"\x00".join(encoded[i:i + n]))
            counts[h] = counts.get(h, 0) + 1
    return counts


def fit_idf(documents: Sequence[Sequence[str]], ngrams: int, table: int = LEXICAL_TABLE) -> np.ndarray:
    """Smoothed inverse document frequency, log((1 + N) / (1 + df)) + 1, of each table row
    over ``documents`` (word sequences): what the lexical channel learns from training data."""
    df = np.zeros(table, dtype=np.float64)
    for words in documents:
        rows = np.fromiter(gram_counts(words, ngrams).keys(), dtype=np.uint64) % np.uint64(table)
        np.add.at(df, rows.astype(np.int64), 1.0)
    return (np.log((1.0 + len(documents)) / (1.0 + df)) + 1.0).astype(np.float32)


class LexicalChannel:
    """Sublinear TF-IDF of a program's token n-grams, feature-hashed with random signs into
    ``dim`` dimensions (signs make the collisions cancel out on average, so dot products
    stay close to the TF-IDF cosine) and L2-normalised. It keeps what a low-dimensional
    learned embedding blurs: exact rare names and string literals shared by two programs.
    The IDF comes from the training programs (``fit_idf``), not from what is searched."""

    def __init__(self, idf: np.ndarray, dim: int, ngrams: int):
        self.idf = np.asarray(idf, dtype=np.float32)
        self.dim, self.ngrams = int(dim), int(ngrams)

    def __call__(self, documents: Sequence[Sequence[str]]) -> np.ndarray:
        out = np.zeros((len(documents), self.dim), dtype=np.float32)
        table = np.uint64(self.idf.shape[0])
        for row, words in enumerate(documents):
            counts = gram_counts(words, self.ngrams)
            if not counts:
                continue
            hashes = np.fromiter(counts.keys(), dtype=np.uint64, count=len(counts))
            tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
            signs = np.where((hashes >> np.uint64(31)) & np.uint64(1), 1.0, -1.0)
            columns = ((hashes * _SPREAD) >> np.uint64(40)) % np.uint64(self.dim)
            values = signs * tf * self.idf[(hashes % table).astype(np.int64)]
            out[row] = np.bincount(columns.astype(np.int64), weights=values, minlength=self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
