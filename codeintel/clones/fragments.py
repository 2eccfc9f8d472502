"""One pair of documents (or of multi-file submissions) compared: the matched fragments and
the similarity they add up to.

Fingerprints shared by both sides are paired; pairs that follow each other in both
fingerprint sequences (the next kept fingerprint on both sides) are chained into one
fragment, as Dolos does. Fragments are then taken longest first, skipping any that overlaps
one already taken on either side (so each piece of code is matched once, as in JPlag's
greedy tiling). A fragment covers the tokens from its first k-gram's first token to its last
k-gram's last token, which gives exact byte and line ranges on both sides.

Similarity = tokens covered by shared k-grams on both sides / tokens on both sides (tokens
of starter code given as a template are left out of both counts). Coverage counts every
shared k-gram, also those of fragments skipped as overlapping, so that reordered code whose
pieces overlap at their seams still counts as covered.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from .fingerprints import DEFAULT_K, DEFAULT_WINDOW, Fingerprints, winnow
from .tokens import TokenStream, tokenize


@dataclass
class Document:
    """One file of a submission (or one function), tokenised and fingerprinted."""
    path: str
    tokens: TokenStream
    prints: Fingerprints
    offset_line: int = 0          # added to reported lines (a function cut out of its file)
    template_tokens: int = 0      # tokens covered by fingerprints of the template

    @property
    def counted_tokens(self) -> int:
        return max(0, len(self.tokens) - self.template_tokens)

    @classmethod
    def from_text(cls, path: str, text: bytes, language: Optional[str], k: int = DEFAULT_K,
                  window: int = DEFAULT_WINDOW) -> "Document":
        tokens = tokenize(text, language)
        return cls(path, tokens, winnow(tokens, k, window))

    def without(self, hashes: set) -> "Document":
        """This document with the fingerprints in ``hashes`` (a template's) removed."""
        if not hashes or not len(self.prints):
            return self
        drop = np.fromiter((int(h) in hashes for h in self.prints.hashes), dtype=bool, count=len(self.prints))
        if not drop.any():
            return self
        covered = np.zeros(len(self.tokens), dtype=bool)
        for p in self.prints.positions[drop]:
            covered[p:p + self.prints.k] = True
        kept = Fingerprints(self.prints.hashes[~drop], self.prints.positions[~drop], self.prints.k)
        return Document(self.path, self.tokens, kept, self.offset_line, int(covered.sum()))


@dataclass
class Side:
    path: str
    start_byte: int
    end_byte: int
    start_line: int
    end_line: int

    def as_dict(self) -> dict:
        return {"path": self.path, "start_byte": self.start_byte, "end_byte": self.end_byte,
                "start_line": self.start_line, "end_line": self.end_line}


@dataclass
class Fragment:
    a: Side
    b: Side
    tokens: int           # tokens matched (on side a)

    def as_dict(self) -> dict:
        return {"a": self.a.as_dict(), "b": self.b.as_dict(), "tokens": self.tokens}


@dataclass
class PairResult:
    similarity: float
    covered_a: int
    covered_b: int
    total_a: int
    total_b: int
    longest: int
    fragments: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"similarity": round(self.similarity, 4), "covered_a": self.covered_a, "covered_b": self.covered_b,
                "total_a": self.total_a, "total_b": self.total_b, "longest_fragment": self.longest,
                "fragments": [f.as_dict() for f in self.fragments]}


def fingerprint_index(docs: list) -> dict:
    """hash -> [(document index, fingerprint index)] of one side."""
    index: dict = defaultdict(list)
    for d, doc in enumerate(docs):
        for i, h in enumerate(doc.prints.hashes.tolist()):
            index[h].append((d, i))
    return index


def _side(doc: Document, t0: int, t1: int) -> Side:
    sb, eb = int(doc.tokens.starts[t0]), int(doc.tokens.ends[t1])
    return Side(doc.path, sb, eb, doc.tokens.line_of(sb) + doc.offset_line,
                doc.tokens.line_of(max(sb, eb - 1)) + doc.offset_line)


def _token_span(doc: Document, first_fp: int, last_fp: int) -> tuple[int, int]:
    return int(doc.prints.positions[first_fp]), int(doc.prints.positions[last_fp]) + doc.prints.k - 1


def _extend(ka, kb, ta0: int, ta1: int, tb0: int, tb1: int, used_a, used_b) -> tuple[int, int, int, int]:
    """Grow a fragment token by token while both sides go on with equal tokens (winnowing
    keeps only some k-grams, so a match usually starts before its first kept one)."""
    while ta0 > 0 and tb0 > 0 and ka[ta0 - 1] == kb[tb0 - 1] and not used_a[ta0 - 1] and not used_b[tb0 - 1]:
        ta0, tb0 = ta0 - 1, tb0 - 1
    na, nb = ka.shape[0], kb.shape[0]
    while ta1 + 1 < na and tb1 + 1 < nb and ka[ta1 + 1] == kb[tb1 + 1] and not used_a[ta1 + 1] \
            and not used_b[tb1 + 1]:
        ta1, tb1 = ta1 + 1, tb1 + 1
    return ta0, ta1, tb0, tb1


def compare(a: list, b: list, b_index: Optional[dict] = None, max_per_hash: int = 32) -> PairResult:
    """Compare two lists of Documents (two submissions). ``b_index`` (from
    ``fingerprint_index(b)``) may be passed in when ``b`` is compared many times."""
    index = b_index if b_index is not None else fingerprint_index(b)
    chains: dict = defaultdict(list)  # (da, db, ia - jb) -> [ia, jb] pairs
    shared_a = [np.zeros(len(d.tokens), dtype=bool) for d in a]
    shared_b = [np.zeros(len(d.tokens), dtype=bool) for d in b]
    for da, doc in enumerate(a):
        k = doc.prints.k
        for ia, h in enumerate(doc.prints.hashes.tolist()):
            hits = index.get(h)
            if hits and len(hits) <= max_per_hash:
                p = int(doc.prints.positions[ia])
                shared_a[da][p:p + k] = True
                for db, jb in hits:
                    chains[(da, db, ia - jb)].append(ia)
                    q = int(b[db].prints.positions[jb])
                    shared_b[db][q:q + k] = True
    runs = []  # (length, da, ia0, ia1, db, jb0)
    for (da, db, diag), starts in chains.items():
        starts.sort()
        first = prev = starts[0]
        for ia in starts[1:] + [None]:
            if ia is not None and ia == prev + 1:
                prev = ia
                continue
            runs.append((prev - first + 1, da, first, prev, db, first - diag))
            if ia is not None:
                first = prev = ia
    runs.sort(key=lambda r: (-r[0], r[1], r[2], r[4], r[5]))
    used_a = [np.zeros(len(d.tokens), dtype=bool) for d in a]
    used_b = [np.zeros(len(d.tokens), dtype=bool) for d in b]
    fragments = []
    for length, da, ia0, ia1, db, jb0 in runs:
        jb1 = jb0 + length - 1
        ta0, ta1 = _token_span(a[da], ia0, ia1)
        tb0, tb1 = _token_span(b[db], jb0, jb1)
        if used_a[da][ta0:ta1 + 1].any() or used_b[db][tb0:tb1 + 1].any():
            continue
        ta0, ta1, tb0, tb1 = _extend(a[da].tokens.kinds, b[db].tokens.kinds, ta0, ta1, tb0, tb1, used_a[da],
                                     used_b[db])
        used_a[da][ta0:ta1 + 1] = True
        used_b[db][tb0:tb1 + 1] = True
        shared_a[da][ta0:ta1 + 1] = True
        shared_b[db][tb0:tb1 + 1] = True
        fragments.append(Fragment(_side(a[da], ta0, ta1), _side(b[db], tb0, tb1), ta1 - ta0 + 1))
    cov_a = int(sum(u.sum() for u in shared_a))
    cov_b = int(sum(u.sum() for u in shared_b))
    tot_a = sum(d.counted_tokens for d in a)
    tot_b = sum(d.counted_tokens for d in b)
    sim = (cov_a + cov_b) / (tot_a + tot_b) if tot_a + tot_b else 0.0
    fragments.sort(key=lambda f: (f.a.path, f.a.start_byte))
    return PairResult(min(1.0, sim), cov_a, cov_b, tot_a, tot_b, max((f.tokens for f in fragments), default=0),
                      fragments)
