"""k-gram hashes of a token stream and winnowing (Schleimer, Wilkerson and Aiken 2003).

Every run of ``k`` consecutive tokens is hashed (a polynomial hash over the stable token ids,
vectorised with numpy); in every window of ``w`` consecutive k-gram hashes the smallest is
kept. Any match of at least ``w + k - 1`` tokens is then guaranteed to share a kept
fingerprint, and no match shorter than ``k`` tokens is reported. Each fingerprint keeps the
index of its first token, so that it maps back to the text.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .tokens import TokenStream

DEFAULT_K = 12
DEFAULT_WINDOW = 8
_BASE = np.uint64(1099511628211)  # FNV prime: odd, large


@dataclass
class Fingerprints:
    hashes: np.ndarray     # uint64, in text order
    positions: np.ndarray  # int64 index of the k-gram's first token
    k: int

    def __len__(self) -> int:
        return int(self.hashes.shape[0])


def kgram_hashes(kinds: np.ndarray, k: int) -> np.ndarray:
    """One hash per k-gram (n - k + 1 of them; none when the stream is shorter than k)."""
    n = kinds.shape[0] - k + 1
    if n <= 0:
        return np.zeros(0, dtype=np.uint64)
    with np.errstate(over="ignore"):
        h = np.zeros(n, dtype=np.uint64)
        for j in range(k):
            h = h * _BASE + kinds[j:j + n]
        # final avalanche (splitmix64) so that the window minimum is uniformly spread
        h ^= h >> np.uint64(30)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(27)
        h *= np.uint64(0x94D049BB133111EB)
        h ^= h >> np.uint64(31)
    return h


def winnow(tokens: TokenStream, k: int = DEFAULT_K, window: int = DEFAULT_WINDOW) -> Fingerprints:
    """The winnowed fingerprints of a token stream (a short stream keeps its one k-gram, or none)."""
    h = kgram_hashes(tokens.kinds, k)
    if h.shape[0] == 0:
        return Fingerprints(h, np.zeros(0, dtype=np.int64), k)
    if h.shape[0] <= window:
        pos = np.array([int(np.argmin(h))], dtype=np.int64)
    else:
        views = np.lib.stride_tricks.sliding_window_view(h, window)
        # the rightmost minimum of each window (as in the paper): argmin over the reversed window
        pos = (window - 1 - np.argmin(views[:, ::-1], axis=1)) + np.arange(views.shape[0])
        keep = np.ones(pos.shape[0], dtype=bool)
        keep[1:] = pos[1:] != pos[:-1]
        pos = np.unique(pos[keep])
    return Fingerprints(h[pos], pos.astype(np.int64), k)


def all_kgrams(tokens: TokenStream, k: int = DEFAULT_K) -> Fingerprints:
    """Every k-gram as a fingerprint (no winnowing): the exact, denser variant."""
    h = kgram_hashes(tokens.kinds, k)
    return Fingerprints(h, np.arange(h.shape[0], dtype=np.int64), k)
