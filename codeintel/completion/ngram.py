"""The repository's token n-gram language model, and the beam search that completes a line with it.

Code is repetitive and local (Hindle et al. 2012, "On the naturalness of software"; Tu et al.
2014, "On the localness of software"): an n-gram model counted over the repository's own files,
interpolated with a cache model over the file being edited, is a strong completer that learns
from the repository in seconds (Hellendoorn & Devanbu 2017). This module owns both.

``TokenLM`` holds a token stream (words, single punctuation marks, runs of blanks and line
breaks, so that decoded text is exact) and its positions sorted by their reversed left context
(the token before, then the one before that, ...: ``CONTEXT`` tokens). The positions that follow
a given context then form one contiguous range, found by binary search, and the ranges of the
shorter contexts contain it: backing off is widening the range. The next-token distribution of a
history mixes the ranges of its matched context lengths, the longest weighted most (stupid
backoff, normalised). Memory: four int32 arrays the length of the stream (the stream, the sorted
positions, and the tokens one and two places before each sorted position, kept for the search).

``complete_line`` runs a beam search over a mixture of models (the file's cache and the
repository's) from the text before the cursor to the end of the line; a partly typed word at
the cursor restricts the first token to the words it begins.

``repository_lm(store, language)`` builds the repository's model from the store's file contents
(one language), cached by the index's stamp; ``save``/``load`` keep it as safetensors.
"""
from __future__ import annotations

import math
import re
from bisect import bisect_left
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

TOKEN = re.compile(r"\w+|[^\w\s]|[ \t]+|\r?\n")
CONTEXT = 8                  # tokens of left context (a 9-gram model)
BACKOFF = 0.2                # each shorter context's weight relative to the next longer one
RANGE_SAMPLE = 4096          # a context seen more often is read at evenly spaced places
BOUNDARY = 0                 # token id between documents (and before the first)
MAX_LINE_TOKENS = 24
TOP_TOKENS = 24            # next tokens kept from each context length
ENOUGH_SEEN = 32           # observations after which shorter contexts are not consulted


class TokenLM:
    """A token n-gram model over some texts (see the module docstring)."""

    def __init__(self, words: list[str], stream: np.ndarray, order: np.ndarray):
        self.words = words                       # id -> token text (id 0 is the boundary)
        self.ids = {w: i for i, w in enumerate(words)}
        self.stream = stream                     # int32 token ids, BOUNDARY between documents
        self.order = order                       # int32 positions, sorted by reversed left context
        self._sorted_words: Optional[list[int]] = None   # word ids in the words' order
        self._unigram: Optional[np.ndarray] = None
        self._keys: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ building
    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> "TokenLM":
        from array import array

        words, ids = [""], {"": 0}
        stream = array("i", [BOUNDARY] * CONTEXT)      # 4 bytes a token while counting, not a list's 36
        for text in texts:
            for token in TOKEN.findall(text):
                if token.endswith("\n"):
                    token = "\n"
                i = ids.get(token)
                if i is None:
                    i = ids[token] = len(words)
                    words.append(token)
                stream.append(i)
            stream.extend([BOUNDARY] * CONTEXT)
        array_ = np.frombuffer(stream, dtype=np.int32).copy()
        return cls(words, array_, cls._sort(array_))

    @staticmethod
    def _sort(stream: np.ndarray) -> np.ndarray:
        # positions with a real token to predict; keys: the token before (primary), then further back
        order = np.nonzero(stream[CONTEXT:] != BOUNDARY)[0].astype(np.int32) + CONTEXT
        # least significant key first, each sort stable (as np.lexsort, one key in memory at a time)
        for back in range(CONTEXT, 0, -1):
            order = order[np.argsort(stream[order - back], kind="stable")]
        return order.astype(np.int32)

    def __len__(self) -> int:
        return int(self.order.size)

    # ------------------------------------------------------------------ persistence
    def save(self, path: Path, stamp: str = "") -> None:
        from safetensors.numpy import save_file

        from ..store.files import atomic_path

        joined = "\x00".join(self.words).encode("utf-8", "surrogatepass")
        with atomic_path(path) as tmp:
            save_file({"stream": self.stream, "order": self.order,
                       "words": np.frombuffer(joined, dtype=np.uint8).copy()}, str(tmp),
                      metadata={"stamp": stamp, "context": str(CONTEXT)})

    @classmethod
    def load(cls, path: Path, stamp: str = "") -> Optional["TokenLM"]:
        """The model saved at ``path`` for index ``stamp`` (None if absent, stale or unreadable)."""
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="numpy") as f:
                meta = f.metadata() or {}
                if meta.get("stamp") != stamp or meta.get("context") != str(CONTEXT):
                    return None
                words = bytes(f.get_tensor("words")).decode("utf-8", "surrogatepass").split("\x00")
                return cls(words, f.get_tensor("stream"), f.get_tensor("order"))
        except Exception:  # noqa: BLE001 - a broken cache is rebuilt
            return None

    # ------------------------------------------------------------------ querying
    def _key(self, back: int) -> np.ndarray:
        """The token ``back`` places before each position of ``order`` (cached for the first two)."""
        key = self._keys.get(back)
        if key is None:
            key = self.stream[self.order - back]
            if back <= 2:
                self._keys[back] = key
        return key

    def ranges(self, history: Sequence[str]) -> list[tuple[int, int]]:
        """The ranges of ``order`` after the history's last 1, 2, ... tokens (as long as they occur)."""
        out = []
        lo, hi = 0, len(self.order)
        for back in range(1, CONTEXT + 1):
            if back > len(history):
                break
            token = self.ids.get(history[-back])
            if token is None:
                break
            if back <= 2:
                column = self._key(back)[lo:hi]          # a view: sorted within the range
            else:
                column = self.stream[self.order[lo:hi] - back]
            key = np.int32(token)             # the column's own type: no converted copy of it
            a = int(np.searchsorted(column, key, "left"))
            b = int(np.searchsorted(column, key, "right"))
            if a >= b:
                break
            lo, hi = lo + a, lo + b
            out.append((lo, hi))
        return out

    def next_tokens(self, history: Sequence[str], partial: str = "") -> dict[str, float]:
        """Next-token probabilities after ``history`` (the likeliest ``TOP_TOKENS`` of each context
        length used; {} when not even its last token was seen). With ``partial``, only the words
        longer than it that it begins, and when no context has one, the commonest such words."""
        weights: dict[int, float] = {}
        weight, total, seen = 1.0, 0.0, 0
        for lo, hi in reversed(self.ranges(history)):      # longest context first
            ids, counts = self._counts(lo, hi, partial)
            if counts.size:
                n = int(counts.sum())
                if ids.size > TOP_TOKENS:
                    top = np.argpartition(-counts, TOP_TOKENS)[:TOP_TOKENS]
                    ids, counts = ids[top], counts[top]
                for i, c in zip(ids.tolist(), (counts * (weight / n)).tolist()):
                    weights[i] = weights.get(i, 0.0) + c
                total += weight
                seen += n
            weight *= BACKOFF
            if seen >= ENOUGH_SEEN:
                break
        if not weights:
            return self._prefixed_unigram(partial) if partial else {}
        return {self.words[i]: w / total for i, w in weights.items()}

    def _counts(self, lo: int, hi: int, partial: str) -> tuple[np.ndarray, np.ndarray]:
        positions = self.order[lo:hi]
        if positions.size > RANGE_SAMPLE:
            positions = positions[np.linspace(0, positions.size - 1, RANGE_SAMPLE).astype(np.int64)]
        ids, counts = np.unique(self.stream[positions], return_counts=True)
        if partial:
            keep = np.array([len(self.words[i]) > len(partial) and self.words[i].startswith(partial)
                             for i in ids.tolist()], dtype=bool)
            ids, counts = ids[keep], counts[keep]
        return ids, counts

    def _prefixed_unigram(self, partial: str, limit: int = 16) -> dict[str, float]:
        if self._sorted_words is None:
            self._sorted_words = sorted(range(1, len(self.words)), key=self.words.__getitem__)
            self._unigram = np.bincount(self.stream, minlength=len(self.words))
        keys = self._sorted_words
        at = bisect_left(keys, partial, key=self.words.__getitem__)
        found = []
        while at < len(keys) and self.words[keys[at]].startswith(partial):
            if len(self.words[keys[at]]) > len(partial):
                found.append(keys[at])
            at += 1
        found.sort(key=lambda i: -int(self._unigram[i]))
        found = found[:limit]
        total = float(sum(int(self._unigram[i]) for i in found)) or 1.0
        return {self.words[i]: int(self._unigram[i]) / total for i in found}


BUFFER_BEFORE, BUFFER_AFTER = 200_000, 100_000     # characters of the buffer its cache model counts


def buffer_model(prefix: str, suffix: str) -> TokenLM:
    """The cache model of the buffer being edited: the text before the cursor and after its line
    (the nearest ``BUFFER_BEFORE`` / ``BUFFER_AFTER`` characters of a very large file)."""
    return TokenLM.from_texts([prefix[-BUFFER_BEFORE:], suffix[:BUFFER_AFTER]])


def mixture(models: Sequence[tuple[TokenLM, float]], history: Sequence[str], partial: str = "") -> dict[str, float]:
    """The weighted mixture of the models' next-token distributions (models that know nothing
    of the history give their weight to the others)."""
    out: dict[str, float] = {}
    total = 0.0
    for model, weight in models:
        dist = model.next_tokens(history, partial)
        if not dist:
            continue
        total += weight
        for token, p in dist.items():
            out[token] = out.get(token, 0.0) + weight * p
    return {t: p / total for t, p in out.items()} if total else {}


def split_prefix(prefix: str) -> tuple[list[str], str]:
    """The tokens before the cursor (the last 200 or so) and the partly typed word ('' when none)."""
    tokens = [("\n" if t.endswith("\n") else t) for t in TOKEN.findall(prefix[-800:])]
    partial = ""
    if tokens and prefix and (prefix[-1].isalnum() or prefix[-1] == "_") and tokens[-1][-1:] == prefix[-1]:
        partial = tokens.pop()
    return tokens, partial


def complete_line(models: Sequence[tuple[TokenLM, float]], prefix: str, beam: int = 4,
                  max_tokens: int = MAX_LINE_TOKENS) -> list[tuple[str, float]]:
    """Up to ``beam`` completions of the rest of the cursor's line, best first, each with its
    log-probability. Empty when the models know nothing of the prefix."""
    history, partial = split_prefix(prefix)
    beams: list[tuple[float, list[str], str]] = [(0.0, [], partial)]
    done: list[tuple[float, list[str]]] = []
    memo: dict[tuple, list[tuple[str, float]]] = {}
    for _ in range(max_tokens):
        grown = []
        for logp, out, part in beams:
            context = history + out
            key = (tuple(context[-CONTEXT:]), part)
            best = memo.get(key)
            if best is None:
                dist = mixture(models, context[-CONTEXT:], part)
                best = memo[key] = sorted(dist.items(), key=lambda kv: -kv[1])[:beam]
            if not best:
                if out:
                    done.append((logp, out))
                continue
            for token, p in best:
                if token == "\n":
                    if out:
                        done.append((logp + math.log(p), out))
                    continue
                grown.append((logp + math.log(p), out + [token], ""))
        beams = sorted(grown, key=lambda b: -b[0])[:beam]
        if not beams:
            break
    done.extend((logp, out) for logp, out, _ in beams)
    results: dict[str, float] = {}
    for logp, out in done:
        text = "".join(out)[len(partial):].rstrip()
        if not text:
            continue
        score = logp
        if text not in results or score > results[text]:
            results[text] = score
    return sorted(results.items(), key=lambda kv: -kv[1])[:beam]


# ---------------------------------------------------------------------- the repository's model
CACHE_PREFIX = "ngram_"


def repository_lm(store, language: str, cache_dir: Optional[Path] = None,
                  max_bytes: int = 64 << 20) -> Optional[TokenLM]:
    """The n-gram model of the store's files in ``language`` (None when it has none), from
    ``cache_dir`` when one was saved there for the index's current stamp."""
    stamp = str(store.get_meta("last_indexed_at") or "")
    path = cache_dir / f"{CACHE_PREFIX}{language}.safetensors" if cache_dir is not None else None
    if path is not None and path.is_file():
        model = TokenLM.load(path, stamp)
        if model is not None:
            return model
    texts, size = [], 0
    for rel in store.indexed_paths(language):
        content = store.file_content(rel)
        if not content:
            continue
        size += len(content)
        if size > max_bytes:
            break
        texts.append(content.decode("utf-8", "replace"))
    if not texts:
        return None
    model = TokenLM.from_texts(texts)
    if path is not None:
        try:
            model.save(path, stamp)
        except OSError:
            pass
    return model
