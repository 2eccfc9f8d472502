"""``generate``: one requirement in, one function out (what the CLI and the language server call).

Retrieve similar functions from the repository's index, sketch the best one with the sketch
model (the repository's own, else the built-in one), let the editor write the body with a
small beam and keep the best candidate that parses (tree-sitter). Without a usable model, the
best retrieved function is copied (renamed to the requested signature) and ``source`` says so.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .mine import requirement_text
from .pysource import assemble, rename, without_doc
from .retrieve import Retrieved, retrieve

log = logging.getLogger("codeintel.sketch")

BUILTIN_MODEL, REPO_MODEL, FALLBACK_COPY = "builtin-model", "repo-model", "fallback:retrieved-copy"


class NothingToGenerate(Exception):
    """No model and nothing similar in the index: there is nothing to copy."""


class Cancelled(Exception):
    """``cancelled()`` said to stop."""


@dataclass
class Generation:
    code: str                                            # the function (header + body)
    parses: bool
    retrieved: list = field(default_factory=list)        # (qualname, path, score, code), best first
    sketch: list = field(default_factory=list)           # (token text, kept) of the exemplar
    source: str = FALLBACK_COPY
    body: str = ""                                       # the body alone, at column 0
    candidates: int = 0                                  # beam candidates considered
    detail: str = ""                                     # why a fallback was used

    def to_dict(self) -> dict:
        return {"code": self.code, "parses": self.parses, "source": self.source, "body": self.body,
                "retrieved": [{"qualname": q, "path": p, "score": s, "code": c} for q, p, s, c in self.retrieved],
                "sketch": [[t, k] for t, k in self.sketch], "candidates": self.candidates, "detail": self.detail}


_dense_cache: dict = {}
_dense_lock = threading.Lock()


def dense_index(store):
    """The store's dense chunk vectors, kept per store and version of its functions."""
    from codeintel.retrieval.dense import DenseIndex

    key = (str(store.path), store.functions_version())
    with _dense_lock:
        if key not in _dense_cache:
            _dense_cache.clear()
            _dense_cache[key] = DenseIndex.build(store, store.path.parent)
        return _dense_cache[key]


def full_signature(signature: Optional[str], exemplar: Optional[Retrieved]) -> Optional[str]:
    """A bare name (``parse_config``) becomes the exemplar's header under that name."""
    if signature and signature.strip().isidentifier():
        base = exemplar.parts.header if exemplar is not None else "def f()"
        return rename(base, signature.strip())
    return signature


def header_for(signature: Optional[str], exemplar: Optional[Retrieved]) -> str:
    if signature:
        return signature
    if exemplar is not None:
        return exemplar.parts.header
    return "def generated()"


def copy_retrieved(exemplar: Retrieved, signature: Optional[str]) -> str:
    """The fallback: the exemplar without its docstring, under the requested signature."""
    if signature:
        return assemble(signature, exemplar.parts.body)
    return without_doc(exemplar.parts)


def best_parsing(header: str, bodies: list[str]) -> tuple[str, str, bool]:
    """The first body (in beam order) whose function parses, else the first: (code, body, parses)."""
    from codeintel.models.metrics import parses

    for body in bodies:
        code = assemble(header, body)
        if parses(code):
            return code, body, True
    body = bodies[0] if bodies else "pass\n"
    return assemble(header, body), body, False


def generate_with(store, predictor, requirement: str, *, signature: Optional[str] = None,
                  exclude: Optional[tuple[str, int]] = None, exclude_paths=(), n_beams: int = 4,
                  source: str = BUILTIN_MODEL, dense=None, cancelled: Optional[Callable[[], bool]] = None,
                  ) -> Generation:
    """``generate`` on an open store with a loaded predictor (None: the copy fallback)."""
    from codeintel.models.metrics import parses

    stop = cancelled or (lambda: False)
    query = requirement_text(requirement, signature)
    found = retrieve(store, query, k=4, dense=dense if dense is not None else dense_index(store),
                     exclude_paths=exclude_paths, exclude=exclude)
    retrieved = [r.as_tuple() for r in found]
    if stop():
        raise Cancelled()
    exemplar = found[0] if found else None
    signature = full_signature(signature, exemplar)
    if predictor is None:
        if exemplar is None:
            raise NothingToGenerate("no sketch model and no similar function in the index to copy")
        code = copy_retrieved(exemplar, signature)
        return Generation(code, parses(code), retrieved, [], FALLBACK_COPY, exemplar.parts.body, 0,
                          "no sketch model: the most similar function, copied")
    header = header_for(signature, exemplar)
    if exemplar is not None:
        encoded, keep, _ = predictor.sketch(query, without_doc(exemplar.parts))
        pieces = predictor.codec.sketch_pieces(encoded, keep)
    else:
        encoded, keep, pieces = None, None, []
    if stop():
        raise Cancelled()
    outputs = predictor.write(query, encoded, keep, n_beams=n_beams)
    code, body, ok = best_parsing(header, [text for text, _ in outputs])
    return Generation(code, ok, retrieved, pieces, source, body, len(outputs))


def generate(root: Path, requirement: str, *, rel_path: Optional[str] = None, line: Optional[int] = None,
             signature: Optional[str] = None, n_beams: int = 4,
             cancelled: Optional[Callable[[], bool]] = None) -> Generation:
    """A function for ``requirement`` from the repository at ``root`` (which has an index).

    ``rel_path``/``line`` (1-based): where the function goes; the function there (a stub) is
    never retrieved. ``signature``: ``def name(args)`` of the function to write (else the
    retrieved function's). Raises ``StoreError`` without an index, ``NothingToGenerate`` when
    there is neither a model nor anything to copy, ``Cancelled`` when ``cancelled()`` is true."""
    from codeintel.models.registry import REPOSITORY, active_model
    from codeintel.store import Store, StoreError, store_path

    if not requirement or not requirement.strip():
        raise ValueError("the requirement is empty")
    index = store_path(root)
    if not index.is_file():
        raise StoreError(f"no index in {root}; run `codeintel index` first")
    predictor, source, problem = None, FALLBACK_COPY, ""
    info = active_model("sketch", root)
    if info is not None:
        try:
            from .model import load_predictor

            predictor = load_predictor(info)
            source = REPO_MODEL if info.source == REPOSITORY else BUILTIN_MODEL
        except Exception as exc:  # noqa: BLE001 - a model that cannot load: say so and copy
            problem = f"the sketch model in {info.path} cannot be used ({type(exc).__name__}: {exc})"
            log.warning("%s", problem)
    with Store.open(index, create=False) as store:
        exclude = None
        if rel_path and line:
            here = store.function_at(rel_path, line)
            if here is not None:
                exclude = (rel_path, here["start_line"])
        result = generate_with(store, predictor, requirement, signature=signature, exclude=exclude,
                               n_beams=n_beams, source=source, cancelled=cancelled)
    if problem:
        result.detail = problem
    return result
