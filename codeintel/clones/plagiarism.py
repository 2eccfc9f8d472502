"""Many submissions compared at once: what ``codeintel plagiarism DIR…`` computes.

A submission is one file or one sub-folder (all its source files) of a given folder, read by
``submissions`` (no link followed, sizes bounded, what is skipped kept in ``Run.skipped``). Every
pair is scored first by the fingerprints it shares (a sparse product, so 1,000 submissions
take about a second); the best ``limit`` pairs are then compared in full (matched fragments
and token coverage, ``fragments.compare``) and ranked by that. Fingerprints of starter code
(``template``) and fingerprints found in more than ``max_share`` of all submissions are
ignored. Pairs at or above ``threshold`` are joined into clusters. Past submissions kept in
an archive store (``--against``) are compared with the new ones, not with each other.

With a learned clone encoder, each submission also has a vector (``embeddings``: the mean of
its files' vectors weighted by their counted tokens) and its ``NEIGHBOURS`` nearest
submissions by cosine (``retrieval.ann``; for an archive, the new submission's nearest kept
ones) are compared in full too, whatever they share. Every compared pair then has both
scores, and pairs are ranked by their mean, ``combined = (fragment similarity + learned
cosine) / 2`` (by the fragment similarity alone without a model). A pair is flagged, and
joined into clusters, when fragment similarity >= ``threshold`` or learned cosine >=
``learned_threshold``.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Optional

import numpy as np

from .encoder import learned_part
from .fingerprints import DEFAULT_K, DEFAULT_WINDOW
from .fragments import Document, compare, fingerprint_index
from .submissions import (MAX_FILE_BYTES, Submission, SubmissionError, load_submissions,  # noqa: F401 (the API)
                          template_hashes)

DEFAULT_LEARNED_THRESHOLD = 0.9
NEIGHBOURS = 10


@dataclass
class RankedPair:
    a: int
    b: int
    estimate: float              # from shared fingerprints only
    result: object = None        # fragments.PairResult once compared in full
    learned: Optional[float] = None

    @property
    def similarity(self) -> float:
        return self.result.similarity if self.result is not None else self.estimate

    @property
    def combined(self) -> float:
        """What pairs are ranked by: the mean of both scores, or the fragment similarity alone."""
        return self.similarity if self.learned is None else (self.similarity + self.learned) / 2

    def signals(self, threshold: float, learned_threshold: float) -> list[str]:
        """The scores that reach their threshold (a pair is flagged when any does)."""
        return [name for name, hit in (("fragments", self.similarity >= threshold),
                                       ("learned", self.learned is not None and self.learned >= learned_threshold))
                if hit]


@dataclass
class Run:
    submissions: list
    pairs: list                  # RankedPair, best first
    clusters: list               # lists of submission indices
    threshold: float
    candidate_pairs: int
    seconds: float
    template_fingerprints: int = 0
    ignored_common: int = 0
    learned_model: Optional[str] = None
    notes: list = field(default_factory=list)
    learned_threshold: float = DEFAULT_LEARNED_THRESHOLD
    skipped: list = field(default_factory=list)   # submissions.Skipped: what was not read, and why

    def flagged(self, pair: RankedPair) -> bool:
        return bool(pair.signals(self.threshold, self.learned_threshold))

    def as_dict(self) -> dict:
        subs = self.submissions
        return {
            "submissions": [{"name": s.name, "origin": s.origin, "files": [d.path for d in s.docs],
                             "tokens": s.tokens} for s in subs],
            "pairs": [{"a": subs[p.a].name, "b": subs[p.b].name, "similarity": round(p.similarity, 4),
                       "fingerprint_estimate": round(p.estimate, 4),
                       "learned_similarity": None if p.learned is None else round(p.learned, 4),
                       "combined": round(p.combined, 4),
                       "signals": p.signals(self.threshold, self.learned_threshold),
                       **({k: v for k, v in p.result.as_dict().items() if k != "similarity"} if p.result else {})}
                      for p in self.pairs],
            "clusters": [[subs[i].name for i in c] for c in self.clusters],
            "threshold": self.threshold,
            "learned_threshold": self.learned_threshold if self.learned_model else None,
            "ranking": "combined = (similarity + learned_similarity) / 2" if self.learned_model else "similarity",
            "candidate_pairs": self.candidate_pairs,
            "template_fingerprints": self.template_fingerprints, "ignored_common_fingerprints": self.ignored_common,
            "learned_model": self.learned_model, "notes": self.notes, "seconds": round(self.seconds, 2),
            "skipped": [s.as_dict() for s in self.skipped],
        }


def _shared_counts(subs: list, max_share: float):
    """Upper-triangle (i, j, shared fingerprints) for every pair sharing one, and how many
    fingerprints were dropped as too common."""
    from scipy import sparse

    rows, cols = [], []
    for i, s in enumerate(subs):
        hs = np.unique(np.concatenate([d.prints.hashes for d in s.docs]) if s.docs else np.zeros(0, np.uint64))
        rows.append(np.full(hs.shape[0], i, dtype=np.int64))
        cols.append(hs)
    if not rows:
        return np.zeros(0, int), np.zeros(0, int), np.zeros(0), np.zeros(0), 0
    r = np.concatenate(rows)
    uniq, c = np.unique(np.concatenate(cols), return_inverse=True)
    m = sparse.csr_matrix((np.ones(r.shape[0], dtype=np.float32), (r, c)), shape=(len(subs), uniq.shape[0]))
    df = np.asarray(m.sum(axis=0)).ravel()
    limit = max(2, int(max_share * len(subs))) if len(subs) >= 10 else len(subs)
    common = df > limit
    if common.any():
        m = m[:, np.flatnonzero(~common)]
    sizes = np.asarray(m.sum(axis=1)).ravel()
    inter = sparse.triu(m @ m.T, k=1).tocoo()
    return inter.row, inter.col, inter.data, sizes, int(common.sum())


def union_clusters(n: int, edges: Iterable[tuple[int, int]]) -> list:
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict = {}
    for i in range(n):
        groups.setdefault(find(i), []).append(i)
    return sorted((g for g in groups.values() if len(g) > 1), key=lambda g: (-len(g), g))


def apply_template(subs: list, template: Optional[set]) -> None:
    """Drop the template's fingerprints from every document (and its tokens from the counts)."""
    if template:
        for s in subs:
            s.docs = [d.without(template) for d in s.docs]


def _neighbour_pairs(subs: list, vectors: np.ndarray, only_new_vs_archive: bool) -> set:
    """(i, j), i < j, of each submission and its nearest ones by learned cosine (new ones and
    their nearest kept ones when comparing with an archive)."""
    from ..retrieval.ann import VectorIndex

    archive = np.array([s.origin == "archive" for s in subs])
    pool = np.flatnonzero(archive) if only_new_vs_archive else np.arange(len(subs))
    queries = np.flatnonzero(~archive) if only_new_vs_archive else pool
    if len(pool) == 0 or len(queries) == 0:
        return set()
    keys, _ = VectorIndex.build(pool, vectors[pool]).search(vectors[queries], NEIGHBOURS + 1)
    return {(min(q, k), max(q, k)) for q, row in zip(queries.tolist(), keys.tolist()) for k in row
            if k >= 0 and k != q}


def detect(subs: list, template: Optional[set] = None, threshold: float = 0.5, limit: int = 200,
           max_share: float = 0.5, vectors: Optional[np.ndarray] = None, learned_name: Optional[str] = None,
           only_new_vs_archive: bool = False, learned_threshold: float = DEFAULT_LEARNED_THRESHOLD,
           learned_dim: Optional[int] = None) -> Run:
    """Rank the pairs of ``subs`` (see the module docstring). ``vectors`` (one embedding per
    submission, in order) add the ANN candidates and the learned score, which compares the
    first ``learned_dim`` columns (``encoder.learned_part``; all of them when None)."""
    started = time.perf_counter()
    n_template = len(template or ())
    apply_template(subs, template)
    i, j, shared, sizes, n_common = _shared_counts(subs, max_share)
    if only_new_vs_archive and len(i):
        origin = np.array([s.origin == "archive" for s in subs])
        keep = origin[i] != origin[j]
        i, j, shared = i[keep], j[keep], shared[keep]
    denom = sizes[i] + sizes[j] if len(i) else np.zeros(0)
    est = np.where(denom > 0, 2 * shared / np.maximum(denom, 1), 0.0) if len(i) else np.zeros(0)
    order = np.argsort(-est, kind="stable")[:limit]
    candidates = {(int(i[o]), int(j[o])): float(est[o]) for o in order.tolist()}
    if vectors is not None:
        estimates = dict(zip(zip(i.tolist(), j.tolist()), est.tolist()))
        for pair in sorted(_neighbour_pairs(subs, vectors, only_new_vs_archive) - candidates.keys()):
            candidates[pair] = estimates.get(pair, 0.0)
    indexes = {}
    pairs = []
    scored = None if vectors is None else learned_part(vectors, learned_dim)
    for (a, b), estimate in candidates.items():
        if b not in indexes:
            indexes[b] = fingerprint_index(subs[b].docs)
        pair = RankedPair(a, b, estimate, compare(subs[a].docs, subs[b].docs, indexes[b]))
        if vectors is not None:
            pair.learned = float(scored[a] @ scored[b])
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.combined, -p.similarity, subs[p.a].name, subs[p.b].name))
    run = Run(subs, pairs, [], threshold, int(len(i)), 0.0, n_template, n_common, learned_name,
              learned_threshold=learned_threshold)
    run.clusters = union_clusters(len(subs), ((p.a, p.b) for p in pairs if run.flagged(p)))
    if len(i) > limit:
        run.notes.append(f"{len(i)} pairs share fingerprints; the best {limit} by shared fingerprints were compared "
                         f"in full (--limit)" + (", and each submission with its nearest ones by learned similarity"
                                                 if vectors is not None else ""))
    run.seconds = time.perf_counter() - started
    return run


def load_archived(store, names: Iterable[str], k: int = DEFAULT_K, window: int = DEFAULT_WINDOW) -> list:
    """The named kept submissions of an archive store, tokenised and fingerprinted."""
    by_name: dict = {}
    for name, path, language, content in store.archive_documents(names):
        by_name.setdefault(name, []).append(Document.from_text(path, bytes(content), language, k, window))
    return [Submission(name, docs, "archive") for name, docs in by_name.items()]


def archive_submissions(store, new: list, k: int = DEFAULT_K, window: int = DEFAULT_WINDOW,
                        also: Iterable[str] = ()) -> list:
    """The kept submissions of an archive store that share a fingerprint with ``new``, and
    those named in ``also`` (by name; a kept submission with a new one's name is the same
    submission and is skipped)."""
    hashes = {int(h) for s in new for d in s.docs for h in d.prints.hashes}
    skip = {s.name for s in new}
    names = store.archive_candidates(hashes, exclude=skip)
    return load_archived(store, sorted(set(names) | (set(also) - skip)), k, window)


def nearest_archived(store, encoder, new_vectors: np.ndarray, progress=None) -> tuple[dict, set]:
    """({kept name: vector} for every kept submission, the names nearest to the new ones)."""
    from ..retrieval.ann import VectorIndex
    from .embeddings import archive_vectors

    names, vectors = archive_vectors(store, encoder, lambda wanted: load_archived(store, wanted), progress)
    if not names or not len(new_vectors):
        return dict(zip(names, vectors)), set()
    keys, _ = VectorIndex.build(np.arange(len(names)), vectors).search(new_vectors, NEIGHBOURS)
    return dict(zip(names, vectors)), {names[n] for n in keys.ravel().tolist() if n >= 0}


def keep_in_archive(store, subs: list, vectors: Optional[np.ndarray] = None, model: Optional[str] = None) -> int:
    """Add (or replace) the new submissions in the archive store, with their learned vectors
    when given (one per submission of ``subs``)."""
    from ..store.embeddings import pack_vector

    new = [n for n, s in enumerate(subs) if s.origin == "new"]
    kept = store.archive_add((subs[n].name, [(d.path, d.tokens.language, d.tokens.text, d.prints.hashes.tolist())
                                             for d in subs[n].docs]) for n in new)
    if vectors is not None and model:
        store.put_archive_vectors(model, [(subs[n].name, pack_vector(vectors[n])) for n in new])
    return kept
