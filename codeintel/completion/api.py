"""``complete()``: suggestions for a cursor, from the configured backend or the model-free fallback.

    complete(root, rel_path, text, line, character, n=3, *, settings=None, cancelled=None)

``line`` is 1-based, ``character`` a 0-based column in code points; ``text`` is the whole
(possibly unsaved) buffer. Steps: split the buffer at the cursor, build the ranked proposals
from the store (when ``root`` has an index), then ask the backend:

- ``builtin``: the repository's own completion model (``codeintel train completion``), else the
  built-in one; with neither, the fallback (and the suggestion's ``source`` says
  ``fallback:…``);
- ``hf``: a local Hugging Face causal-LM checkpoint (``model_path``), prompt = proposals packed
  in ranked order + the code before the cursor;
- ``http``: an OpenAI-compatible completions server (``url``), the same prompt.

A backend that fails (unloadable checkpoint, unreachable server) does not fail the request:
the fallback answers, and ``Suggestion.source`` names it. The fallback is
``matching.continuations`` over the in-file text and the proposals (``fallback:retrieval``),
then identifiers extending the word at the cursor (``fallback:identifiers``).

Per repository root one ``_Session`` caches the loaded model, the dense index and one store
connection per thread; sessions and model loading are guarded by locks, so worker threads
may call ``complete`` concurrently. A model or ranker trained (or removed) while the session
lives, by ``codeintel train`` in a terminal or from the editor, is picked up by the next
request: the cache is keyed by the model folders' weights files (``registry.model_stamp``).
``cancelled()`` is polled between steps; a cancelled request returns [].
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Optional

from codeintel.config import CompletionSettings, load_completion_settings

from .cursor import Cursor
from .matching import continuations, identifier_completions, proposal_contexts

log = logging.getLogger("codeintel.completion")
DENSE_SYNC_CHUNKS = 20_000   # larger indexes without cached vectors get them built in the background


@dataclass
class Suggestion:
    text: str          # what to insert at the cursor
    score: float       # higher is better
    source: str        # builtin-model | repository-model | hf | http | fallback:retrieval | fallback:identifiers
    detail: str = ""   # a short note (why the fallback answered, which model)

    def to_dict(self) -> dict:
        return {"text": self.text, "score": round(self.score, 4), "source": self.source, "detail": self.detail}


class _Cancelled(Exception):
    pass


class _Session:
    """What is loaded for one repository root."""

    def __init__(self, root: Path):
        self.root = root
        self.lock = threading.Lock()
        self.local = threading.local()
        self.backends: dict[tuple, object] = {}
        self.failures: dict[tuple, str] = {}
        self.built: dict = {}          # key -> (value, index stamp it was built for)
        self.building: set = set()
        self._ranker = None
        self._ranker_stamp = None

    def store(self):
        """This thread's connection to the index (None without one)."""
        from codeintel.store import Store, StoreError, store_path

        path = store_path(self.root)
        if not path.is_file():
            return None
        store = getattr(self.local, "store", None)
        if store is None:
            try:
                store = Store.open(path, create=False)
            except StoreError as exc:
                log.warning("completion without the index: %s", exc)
                return None
            self.local.store = store
        return store

    def dense_index(self, store):
        """The dense chunk vectors, current with the index (``_current``)."""
        from codeintel.retrieval.dense import CACHE_NAME, DenseIndex

        cheap = (store.path.parent / CACHE_NAME).is_file() or store.count_chunks() <= DENSE_SYNC_CHUNKS
        return self._current("dense", store, cheap, lambda s: DenseIndex.build(s, s.path.parent))

    def ngram_model(self, store, language: str):
        """The repository's n-gram model of ``language``, current with the index (``_current``)."""
        from .ngram import CACHE_PREFIX, repository_lm

        cheap = (store.path.parent / f"{CACHE_PREFIX}{language}.safetensors").is_file() \
            or store.count_chunks() <= DENSE_SYNC_CHUNKS
        return self._current(("ngram", language), store, cheap,
                             lambda s: repository_lm(s, language, cache_dir=s.path.parent))

    def _current(self, key, store, cheap: bool, build):
        """What ``build(store)`` makes, rebuilt when the index changes: built here when ``cheap``
        (cached on disk or a small index), otherwise in a background thread, and None (or the
        previous one) until then; None when it cannot be built (logged)."""
        stamp = store.get_meta("last_indexed_at")
        with self.lock:
            value, value_stamp = self.built.get(key, (None, None))
            if value is not None and stamp == value_stamp:
                return value
            if key in self.building:
                return value
            self.building.add(key)
            if not cheap:
                threading.Thread(target=self._build, args=(key, stamp, build), daemon=True,
                                 name=f"codeintel-{key}").start()
                return value
        return self._build(key, stamp, build)

    def _build(self, key, stamp, build):
        try:
            value = build(self.store())
            with self.lock:
                self.built[key] = (value, stamp)
            return value
        except Exception as exc:  # noqa: BLE001 - completion goes on without it
            log.warning("%s unavailable: %s", key, exc)
            return None
        finally:
            with self.lock:
                self.building.discard(key)

    def ranker(self):
        """The active completion ranker, loaded again when its weights change: (ranker or None, why not)."""
        from codeintel.models.registry import model_stamp

        from .ranker import FEATURE, load_ranker

        stamp = model_stamp(self.root, FEATURE)
        with self.lock:
            if self._ranker is None or stamp != self._ranker_stamp:
                self._ranker, self._ranker_stamp = load_ranker(self.root), stamp
            return self._ranker

    def backend(self, settings: CompletionSettings):
        """The loaded backend for ``settings``, or (None, why not)."""
        from codeintel.models.registry import model_stamp

        chosen = (settings.backend, settings.model_path, settings.url, settings.model, settings.api_key_env,
                  settings.timeout)
        # the registry's model: whichever is there now
        key = chosen + (model_stamp(self.root, "completion") if settings.backend not in ("hf", "http") else ())
        with self.lock:
            if key in self.backends:
                return self.backends[key], None
            if key in self.failures:
                return None, self.failures[key]
            for cache in (self.backends, self.failures):      # what the same settings loaded before
                for old in [k for k in cache if k[:len(chosen)] == chosen]:
                    del cache[old]
            try:
                backend, why = _load_backend(self.root, settings)
            except Exception as exc:   # noqa: BLE001 - a broken model never breaks completion
                backend, why = None, f"{type(exc).__name__}: {exc}"
            if backend is None:
                self.failures[key] = why
            else:
                self.backends[key] = backend
            return backend, why


def _load_backend(root: Path, settings: CompletionSettings):
    from codeintel.models.generation import GenerationError, HFCausalLM, HTTPCompletions

    try:
        if settings.backend == "hf":
            if not settings.model_path:
                return None, "backend 'hf' needs model_path in [completion]"
            path = Path(settings.model_path).expanduser()
            if not path.is_absolute():
                path = root / path
            return ("hf", HFCausalLM(path)), None
        if settings.backend == "http":
            if not settings.url:
                return None, "backend 'http' needs url in [completion]"
            return ("http", HTTPCompletions(settings.url, settings.model, settings.api_key_env,
                                            settings.timeout)), None
    except GenerationError as exc:
        return None, str(exc)
    from codeintel.models.registry import active_model

    info = active_model("completion", root)
    if info is None:
        return None, "no completion model (train one with `codeintel train completion`)"
    from .fid import load_predictor

    source = "repository-model" if info.source == "repository" else "builtin-model"
    return (source, load_predictor(info)), None


_sessions: dict[Path, _Session] = {}
_sessions_lock = threading.Lock()


def session_for(root: Path) -> _Session:
    root = Path(root).resolve()
    with _sessions_lock:
        if root not in _sessions:
            _sessions[root] = _Session(root)
        return _sessions[root]


def fallback_suggestions(cursor: Cursor, proposals, n: int, why: str = "", *, ranker=None,
                         ngram=None) -> list[Suggestion]:
    """The model-free answer: with a ranker, the ranked candidates of the continuation matcher
    and the n-gram beam (``ranker.gather``); without, the matcher's own order over the in-file
    text and the proposals. Then identifiers extending the word at the cursor."""
    # plain texts for the buffer: the matcher tokenizes them once (gather or continuations), and
    # identifier_completions only reads the text
    contexts = [cursor.prefix, cursor.suffix] + proposal_contexts(proposals)
    if ranker is not None:
        from .ranker import gather

        detail = "; ".join(x for x in (ranker.name, why) if x)
        out = [Suggestion(t, p, "ranker", detail) for t, p in ranker.rank(gather(cursor, proposals, ngram))[:n]]
    else:
        found = continuations(cursor.prefix, contexts, n=n)
        out = [Suggestion(c.text, float(c.matched) + 0.01 * c.votes, "fallback:retrieval", why) for c in found]
    if len(out) < n:
        have = {s.text for s in out}
        for text in identifier_completions(cursor.prefix, contexts, n=n):
            if text not in have:
                out.append(Suggestion(text, 0.0, "fallback:identifiers", why))
    return out[:n]


def complete(root, rel_path: str, text: str, line: int, character: int, n: int = 3, *,
             settings: Optional[CompletionSettings] = None,
             cancelled: Optional[Callable[[], bool]] = None) -> list[Suggestion]:
    """Suggestions for the cursor at ``line`` (1-based), ``character`` (0-based, code points)
    of ``text`` (the buffer of ``rel_path``, '/'-separated, relative to ``root``). Raises
    ``BadPosition`` for a cursor outside the buffer and ``ConfigError`` for bad settings."""
    from .proposals import make_proposals

    root = Path(root)
    cursor = Cursor.at(rel_path, text, line, character)
    settings = settings or load_completion_settings(root)

    def check() -> None:
        if cancelled is not None and cancelled():
            raise _Cancelled

    try:
        check()
        session = session_for(root)
        store = session.store()
        dense = session.dense_index(store) if store is not None else None
        check()
        proposals = make_proposals(store, cursor, dense=dense)
        check()
        backend, why = session.backend(settings)
        check()
        if backend is not None:
            kind, model = backend
            try:
                found = _ask(kind, model, cursor, proposals, n, settings)
            except Exception as exc:  # noqa: BLE001
                found, why = [], f"{kind} failed: {type(exc).__name__}: {exc}"
                log.warning("completion backend failed: %s", why)
            found = [s for s in found if s.text.strip()]
            if found:
                return found[:n]
            why = why or f"{kind} suggested nothing"
        check()
        ranker, _ = session.ranker()
        ngram = None
        if ranker is not None and store is not None:
            from indexer.languages import language_for_path

            spec = language_for_path(rel_path)
            ngram = session.ngram_model(store, spec.name) if spec is not None else None
        check()
        return fallback_suggestions(cursor, proposals, n, why or "", ranker=ranker, ngram=ngram)
    except _Cancelled:
        return []


def fit_to_rest(found: list[Suggestion], rest: str) -> list[Suggestion]:
    """``complete()``'s suggestions (each the whole rest of the line) as text to insert at a cursor
    that has text after it on its line (``rest``: the closing bracket or quote an editor typed
    ahead, or code being edited in the middle), which an editor keeps. One that ends with that
    text is offered without it (inserted, it makes the suggested line, not a doubled bracket) and
    comes first; one that is only that text suggests nothing and is dropped; the others follow in
    their order (inserted before the text, deleting nothing)."""
    tail = rest.rstrip()
    if not tail.strip():
        return found
    fits, others = [], []
    for s in found:
        text = s.text.rstrip()
        if text.endswith(tail):
            if text[:-len(tail)].strip():
                fits.append(replace(s, text=text[:-len(tail)]))
        else:
            others.append(s)
    return _dedupe(fits + others)


def _ask(kind: str, model, cursor: Cursor, proposals, n: int, settings: CompletionSettings) -> list[Suggestion]:
    if kind in ("hf", "http"):
        from codeintel.models.generation import pack_prompt

        passages = [(f"{p.path or ''} ({p.source}, {p.form})", p.text) for p in proposals
                    if p.source != "in_file_prior"]
        prompt = pack_prompt(passages, cursor.prefix)
        found = model.generate(prompt, settings.max_new_tokens, n)
        return _dedupe([Suggestion(t, s, kind, "") for t, s in found])
    found = model.predict(cursor, proposals, n=n, max_new_tokens=settings.max_new_tokens)
    return _dedupe([Suggestion(t, s, kind, model.name) for t, s in found])


def _dedupe(items: list[Suggestion]) -> list[Suggestion]:
    seen, out = set(), []
    for s in items:
        if s.text not in seen:
            seen.add(s.text)
            out.append(s)
    return out
