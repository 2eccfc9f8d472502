"""Near-duplicate functions inside an indexed repository: ``codeintel clones``, the report's
Clones section, and ``near_duplicates`` for an editor buffer (the language server's hook).

Functions and methods come from the store's symbols (the indexer found them); each is
tokenised as a slice of its file's token stream and fingerprinted. Pairs are found through
shared fingerprints, compared in full (``fragments.compare``) and kept at or above the
threshold; groups are the connected pairs. Functions shorter than ``min_tokens`` tokens
(getters, one-liners) are left out, and so is a function's overlap with its own nested ones.

With a learned clone encoder (``encoder``), every compared function has an embedding (cached
in the store, see ``embeddings``), and each function's ``NEIGHBOURS`` nearest neighbours by
cosine (``retrieval.ann``) are candidates too. A pair is reported when either signal reaches
its threshold: fragment similarity >= ``threshold`` or learned cosine >= ``learned_threshold``;
every pair carries both scores, which of them it reached (``signals``), and its shared
fragments as the evidence.
"""
from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from .fingerprints import DEFAULT_K, DEFAULT_WINDOW, winnow
from .fragments import Document, compare, fingerprint_index
from .plagiarism import union_clusters
from .tokens import language_of, tokenize

DEFAULT_THRESHOLD = 0.7
DEFAULT_LEARNED_THRESHOLD = 0.95
DEFAULT_MIN_TOKENS = 40
NEIGHBOURS = 10


@dataclass
class FunctionCopy:
    path: str
    qualname: str
    kind: str
    start_line: int
    end_line: int
    tokens: int
    start_byte: int = 0
    end_byte: int = 0

    def as_dict(self) -> dict:
        return {"path": self.path, "qualname": self.qualname, "kind": self.kind, "start_line": self.start_line,
                "end_line": self.end_line, "tokens": self.tokens}


def _function_docs(path: str, language: Optional[str], content: bytes, spans, min_tokens: int,
                   k: int, window: int):
    stream = tokenize(content, language)
    for qualname, kind, start_byte, end_byte, start_line in spans:
        part = stream.slice(start_byte, end_byte)
        if len(part) < min_tokens:
            continue
        info = FunctionCopy(path, qualname, kind, start_line, part.line_of(max(start_byte, end_byte - 1)), len(part),
                            start_byte, end_byte)
        yield info, Document(path, part, winnow(part, k, window))


def _pairs(infos: list, docs: list, threshold: float, max_share: int = 50):
    """(i, j, PairResult) for functions sharing fingerprints and similar enough; nested
    functions (one inside the other) are not pairs."""
    postings: dict = defaultdict(set)
    for i, doc in enumerate(docs):
        for h in set(doc.prints.hashes.tolist()):
            postings[h].add(i)
    counts: dict = defaultdict(int)
    for ids in postings.values():
        if 1 < len(ids) <= max_share:
            ordered = sorted(ids)
            for x in range(len(ordered)):
                for y in range(x + 1, len(ordered)):
                    counts[(ordered[x], ordered[y])] += 1
    out = []
    indexes: dict = {}
    for (i, j), shared in counts.items():
        if _nested(infos[i], infos[j]):
            continue
        if 2 * shared / max(1, len(docs[i].prints) + len(docs[j].prints)) < threshold / 2:
            continue
        if j not in indexes:
            indexes[j] = fingerprint_index([docs[j]])
        result = compare([docs[i]], [docs[j]], indexes[j])
        if result.similarity >= threshold:
            out.append((i, j, result))
    return out


def _nested(a: FunctionCopy, b: FunctionCopy) -> bool:
    return a.path == b.path and (a.start_line <= b.start_line <= a.end_line or b.start_line <= a.start_line <= b.end_line)


def _span_key(blob: str, start_byte: int, end_byte: int) -> int:
    """A stable int64 key of one function's embedding (its ANN key across runs)."""
    digest = hashlib.blake2b(f"{blob}:{start_byte}:{end_byte}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _learned_pairs(infos: list, vectors: np.ndarray, scored: np.ndarray, learned_threshold: float, keys: list,
                   cache: Optional[Path] = None) -> set:
    """(i, j), i < j, of functions among each other's nearest neighbours by ``vectors`` whose
    learned similarity (``scored``: the learned parts) is >= ``learned_threshold`` (nested
    functions are not pairs). From 20,000 functions on, the graph is kept in ``cache``
    between runs (``retrieval.ann.cached_index``)."""
    from ..retrieval.ann import VectorIndex, cached_index

    if len(infos) < 2:
        return set()
    positions: dict = defaultdict(list)    # files with the same content share their keys
    for n, key in enumerate(keys):
        positions[key].append(n)
    first = [ns[0] for ns in positions.values()]
    unique_keys, unique_vectors = [keys[n] for n in first], vectors[first]
    if cache is not None:
        index, stale = cached_index(cache, unique_keys, unique_vectors)
    else:
        index, stale = VectorIndex.build(unique_keys, unique_vectors), set()
    found, _ = index.search(vectors, NEIGHBOURS + 1 + min(len(stale), NEIGHBOURS))
    out = set()
    for i, row_keys in enumerate(found.tolist()):
        for key in row_keys:
            for j in positions.get(key, ()):
                if j != i and not _nested(infos[i], infos[j]) and float(scored[i] @ scored[j]) >= learned_threshold:
                    out.add((min(i, j), max(i, j)))
    return out


def _index_cache(db: Path, model: str) -> Path:
    """``.codeintel/clones-<model>.ann`` beside the store; files of other models are removed."""
    for old in db.parent.glob("clones-*.ann"):
        if old.name != f"clones-{model}.ann":
            old.unlink(missing_ok=True)
    return db.parent / f"clones-{model}.ann"


def _function_vectors(store, encoder, infos: list, sources: dict, progress) -> tuple[np.ndarray, int]:
    """The learned vectors of the compared functions (and, into the store, of their files)."""
    from .embeddings import file_item, repository_vectors

    items = [(sources[f.path][0], f.start_byte, f.end_byte, sources[f.path][2][f.start_byte:f.end_byte],
              sources[f.path][1]) for f in infos]
    items += [file_item(blob, content, language) for blob, language, content in sources.values()]
    vectors, embedded = repository_vectors(store, encoder, items, progress)
    return vectors[:len(infos)], embedded


def find_clones(store, threshold: float = DEFAULT_THRESHOLD, min_tokens: int = DEFAULT_MIN_TOKENS,
                path_prefix: str = "", k: int = DEFAULT_K, window: int = DEFAULT_WINDOW, encoder=None,
                learned_threshold: float = DEFAULT_LEARNED_THRESHOLD, progress=None) -> dict:
    """Groups of near-duplicate functions in the store (JSON-able): each group lists its
    functions and its pairs with both scores and matched line ranges."""
    from indexer.files import git_blob_id

    infos, docs = [], []
    functions = 0
    sources: dict = {}
    for path, language, content, spans in store.function_spans():
        functions += len(spans)
        for info, doc in _function_docs(path, language, content, spans, min_tokens, k, window):
            infos.append(info)
            docs.append(doc)
            sources.setdefault(path, (None, language, content))
    pairs = {(i, j): r for i, j, r in _pairs(infos, docs, threshold)}
    vectors, embedded = None, 0
    if encoder is not None and infos:
        blobs = store.file_blobs(sources)
        sources = {p: ((blobs.get(p) or (0, None))[1] or git_blob_id(c), lang, c) for p, (_, lang, c) in sources.items()}
        vectors, embedded = _function_vectors(store, encoder, infos, sources, progress)
        keys = [_span_key(sources[f.path][0], f.start_byte, f.end_byte) for f in infos]
        cache = _index_cache(Path(store.path), encoder.model_id)
        scored = encoder.learned_part(vectors)
        for i, j in sorted(_learned_pairs(infos, vectors, scored, learned_threshold, keys, cache) - pairs.keys()):
            pairs[(i, j)] = compare([docs[i]], [docs[j]])
    if path_prefix:
        prefix = path_prefix.rstrip("/")
        inside = lambda p: p == prefix or p.startswith(prefix + "/")  # noqa: E731
        pairs = {key: r for key, r in pairs.items() if inside(infos[key[0]].path) or inside(infos[key[1]].path)}

    def pair_dict(i: int, j: int, r) -> dict:
        learned = None if vectors is None else round(float(scored[i] @ scored[j]), 4)
        signals = [name for name, hit in (("fragments", r.similarity >= threshold),
                                          ("learned", learned is not None and learned >= learned_threshold)) if hit]
        return {"a": infos[i].as_dict(), "b": infos[j].as_dict(), "similarity": round(r.similarity, 4),
                "learned_similarity": learned, "signals": signals, "fragments": [f.as_dict() for f in r.fragments]}

    clusters = union_clusters(len(infos), pairs)
    group_of = {i: g for g, members in enumerate(clusters) for i in members}
    pairs_of: list = [[] for _ in clusters]
    for (i, j), r in pairs.items():
        pairs_of[group_of[i]].append(pair_dict(i, j, r))
    groups = []
    for members, group_pairs in zip(clusters, pairs_of):
        group_pairs.sort(key=lambda p: (-max(p["similarity"], p["learned_similarity"] or 0), -p["similarity"]))
        learned = [p["learned_similarity"] for p in group_pairs if p["learned_similarity"] is not None]
        groups.append({"functions": [infos[i].as_dict() for i in members],
                       "similarity": max(p["similarity"] for p in group_pairs),
                       "learned_similarity": max(learned) if learned else None, "pairs": group_pairs})
    groups.sort(key=lambda g: (-max(g["similarity"], g["learned_similarity"] or 0), -len(g["functions"]),
                               g["functions"][0]["path"]))
    return {"threshold": threshold, "min_tokens": min_tokens, "functions": functions, "compared": len(docs),
            "learned_model": None if encoder is None else encoder.model_id,
            "learned_threshold": None if encoder is None else learned_threshold, "embedded": embedded,
            "groups": groups}


@dataclass
class NearDuplicate:
    """A function of the buffer (lines 1-based, inclusive) and its near-duplicate elsewhere."""
    start_line: int
    end_line: int
    name: str
    other_path: str
    other_name: str
    other_start_line: int
    other_end_line: int
    similarity: float
    learned: Optional[float] = None     # learned cosine, with a clones model


MAX_INDEXED_FUNCTIONS = 20_000   # near_duplicates stays quiet on larger indexes (fingerprinting them all is slow)
_indexed_cache: dict = {}
_encoder_cache: dict = {}


def _indexed_functions(db: Path, min_tokens: int, max_functions: int, model: Optional[str] = None, dim: int = 0):
    """The fingerprinted functions of an index, their fingerprint index and (with a model id)
    their stored learned vectors (zeros where the store has none; ``stored`` says which), cached until the
    index's functions change; None when there are more than ``max_functions``."""
    from indexer.files import git_blob_id

    from ..store import Store
    from ..store.embeddings import unpack_vectors

    with Store.open(db, create=False) as store:
        version = store.functions_version()
        if version[0] > max_functions:
            return None
        key = (str(db), min_tokens, model)
        cached = _indexed_cache.get(key)
        if cached is not None and cached[0] == version and (model is None or cached[2] == store.embedding_count(model)):
            return cached[1]
        others_info, others, blobs = [], [], {}
        for path, lang, content, fspans in store.function_spans():
            for info, doc in _function_docs(path, lang, content, fspans, min_tokens, DEFAULT_K, DEFAULT_WINDOW):
                others_info.append(info)
                others.append(doc)
                blobs.setdefault(path, content)
        vectors, count = None, 0
        if model is not None:
            known = store.file_blobs(blobs)
            blobs = {p: (known.get(p) or (0, None))[1] or git_blob_id(c) for p, c in blobs.items()}
            have = store.embeddings(model)
            rows = [have.get((blobs[f.path], f.start_byte, f.end_byte)) for f in others_info]
            vectors = unpack_vectors([row or bytes(2 * dim) for row in rows], dim)
            stored = np.array([row is not None for row in rows], dtype=bool)
            count = store.embedding_count(model)
    built = (others_info, others, fingerprint_index(others), vectors, stored if model is not None else None)
    _indexed_cache[key] = (version, built, count)
    return built


def _buffer_encoder(root: Path):
    """The active clone encoder for ``root``, loaded once per model file."""
    from ..models.registry import WEIGHTS, active_model

    info = active_model("clones", root)
    if info is None:
        return None
    try:
        stamp = (str(info.path), (info.path / WEIGHTS).stat().st_mtime_ns)
    except OSError:
        return None
    cached = _encoder_cache.get(str(root))
    if cached is None or cached[0] != stamp:
        from .embeddings import learned_encoder

        cached = (stamp, learned_encoder(root))
        _encoder_cache[str(root)] = cached
    return cached[1]


def near_duplicates(root: Path, rel_path: str, text: str, threshold: float = DEFAULT_THRESHOLD,
                    min_tokens: int = DEFAULT_MIN_TOKENS, max_functions: int = MAX_INDEXED_FUNCTIONS,
                    learned_threshold: float = DEFAULT_LEARNED_THRESHOLD, learned: bool = True) -> list:
    """Near-duplicates of the functions of an editor buffer (possibly unsaved) among the
    indexed functions of the repository at ``root``; the buffer's own file in the store is
    skipped (its functions are the buffer's). For the language server's hint diagnostics: the
    repository's fingerprints are computed once per version of the index, and an index of more
    than ``max_functions`` functions gives no hints. With a clones model, the buffer's
    functions are embedded and compared with the vectors the store holds (``codeintel
    clones`` fills them; the server does not): a copy is reported when either score reaches
    its threshold, the one with the higher score wins."""
    from indexer.extract import extract
    from indexer.languages import get_spec

    from ..store import store_path

    data = text.encode("utf-8", "surrogateescape")
    language = language_of(rel_path, data)
    if language is None:
        return []
    facts = extract(data, get_spec(language), symbols_only=True)
    spans = [(s.qualname, s.kind, s.start_byte, s.end_byte, s.start_line) for s in facts.symbols
             if s.kind in ("function", "method")]
    mine = list(_function_docs(rel_path, language, data, spans, min_tokens, DEFAULT_K, DEFAULT_WINDOW))
    if not mine:
        return []
    db = store_path(root)
    if not db.is_file():
        return []
    encoder = _buffer_encoder(root) if learned else None
    indexed = _indexed_functions(db, min_tokens, max_functions, encoder.model_id if encoder else None,
                                 encoder.dim if encoder else 0)
    if indexed is None:
        return []
    others_info, others, index, vectors, stored = indexed
    cosines = None
    if vectors is not None and stored.any():
        mine_vectors = encoder.embed([data[i.start_byte:i.end_byte] for i, _ in mine], [language] * len(mine))
        cosines = encoder.learned_part(mine_vectors) @ encoder.learned_part(vectors).T
    out = []
    for n, (info, doc) in enumerate(mine):
        candidates = {d for h in doc.prints.hashes.tolist() for d, _ in index.get(h, ())}
        if cosines is not None:
            candidates.update(np.flatnonzero(cosines[n] >= learned_threshold).tolist())
        best = None
        for c in candidates:
            if others_info[c].path == rel_path:   # the buffer's own file: its functions are the buffer's
                continue
            r = compare([doc], [others[c]])
            cos = float(cosines[n, c]) if cosines is not None and stored[c] else None
            if r.similarity >= threshold or (cos is not None and cos >= learned_threshold):
                score = max(r.similarity, cos or 0.0)
                if best is None or score > best[0]:
                    best = (score, c, r.similarity, cos)
        if best is not None:
            o = others_info[best[1]]
            out.append(NearDuplicate(info.start_line, info.end_line, info.qualname, o.path, o.qualname, o.start_line,
                                     o.end_line, round(best[2], 4), None if best[3] is None else round(best[3], 4)))
    return out
