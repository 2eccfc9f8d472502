"""Completion in the editor: ``codeintel.completion.complete`` (the learned feature) run in a
worker thread with cancellation, and, where that feature is absent or fails, identifier
completion from the buffer and the index (``codeintel.navigation``). Each item says which
source answered (``detail`` and ``data.source``)."""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

log = logging.getLogger(__name__)

FALLBACK_SOURCE = "fallback:identifiers"


@dataclass
class Candidate:
    text: str          # what to insert at the cursor
    label: str
    source: str
    score: float = 0.0
    kind: Optional[str] = None      # a definition's kind, for identifier candidates
    replaces_prefix: bool = False   # True: ``text`` replaces the identifier prefix before the cursor


def model_complete() -> tuple[Optional[Callable], Optional[str]]:
    """The learned completion function, or None and why not."""
    try:
        from codeintel.completion import complete
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == "codeintel.completion" or exc.name.startswith("codeintel.completion.")):
            return None, "codeintel.completion is not installed"
        return None, f"codeintel.completion cannot load: {exc}"
    except ImportError as exc:
        return None, f"codeintel.completion cannot load: {exc}"
    return complete, None


def completion_settings(root: Optional[Path], overrides: dict):
    """The completion feature's settings (``[completion]`` of .codeintel/config.toml, loaded by
    ``codeintel.config``) with the client's overrides applied; None to let the feature load
    its own (no overrides, or a codeintel without those settings)."""
    if not overrides:
        return None
    try:
        from codeintel import config
        load = config.load_completion_settings
    except (ImportError, AttributeError):
        return None
    try:
        base = load(root) if root is not None else None
    except Exception as exc:  # noqa: BLE001 - a bad config.toml: the client's settings still apply
        log.warning("completion settings: %s", exc)
        base = None
    if base is None:
        from codeintel.completion import CompletionSettings
        base = CompletionSettings()
    try:
        return base.updated(overrides)
    except Exception as exc:  # noqa: BLE001 - a bad client value: say so, keep the file's settings
        log.warning("codeintel.completion settings ignored: %s", exc)
        return base


class Cancellation:
    """A flag a worker polls; a newer request for the same document sets the older one's."""

    def __init__(self):
        self._latest: dict[str, threading.Event] = {}
        self._lock = threading.Lock()

    def start(self, key: str) -> threading.Event:
        event = threading.Event()
        with self._lock:
            old = self._latest.get(key)
            if old is not None:
                old.set()
            self._latest[key] = event
        return event

    def finish(self, key: str, event: threading.Event) -> None:
        with self._lock:
            if self._latest.get(key) is event:
                del self._latest[key]


def worth_listing(text: str) -> bool:
    """A completion list entry says something: not only quotes, brackets or punctuation (a bare
    '"' was offered on ``self.clock.``); the inline suggestion may still be such a rest of line."""
    return any(ch.isalnum() or ch == "_" for ch in text)


def candidates(store, buffer, line: int, byte_col: int, root: Optional[Path], rel: Optional[str],
               overrides: dict, cancelled: Callable[[], bool], n: int = 3,
               identifiers: bool = True) -> list[Candidate]:
    """Model suggestions (when the feature is there), then identifiers that extend the word
    before the cursor. Runs in a worker thread."""
    from codeintel.navigation import identifier_completions

    out: list[Candidate] = []
    complete, why_not = model_complete()
    if complete is not None and root is not None and rel is not None:
        from codeintel.completion.api import fit_to_rest

        text = buffer.data.decode("utf-8", "replace")
        raw = buffer.line_bytes(line)
        character = len(raw[:byte_col].decode("utf-8", "replace"))
        # the editor keeps what follows the cursor: suggestions (whole rests of the line) that end
        # with it are inserted without it, and some may be dropped, so ask for more
        rest = raw[byte_col:].decode("utf-8", "replace").rstrip("\r\n")
        try:
            found = complete(root, rel, text, line, character, 2 * n if rest.strip() else n,
                             settings=completion_settings(root, overrides), cancelled=cancelled)
            for s in fit_to_rest(found, rest)[:n]:
                if s.text:
                    first = s.text.split("\n", 1)[0]
                    out.append(Candidate(s.text, first.strip() or s.text.strip(), s.source, float(s.score)))
        except Exception as exc:  # noqa: BLE001 - a failing model degrades to identifiers
            log.warning("completion model failed (%s: %s); identifiers only", type(exc).__name__, exc)
    elif why_not:
        log.debug("completion: %s; identifiers only", why_not)
    if cancelled():
        return out
    if identifiers or not out:
        prefix, names = identifier_completions(store, buffer, line, byte_col)
        for rank, (name, kind, where) in enumerate(names):
            out.append(Candidate(name, name, f"{FALLBACK_SOURCE} ({where})", -rank, kind, replaces_prefix=True))
        if not identifiers:  # inline: the rest of the best identifier
            out = [Candidate(c.text[len(prefix):], c.label, c.source, c.score) for c in out[:n]
                   if len(c.text) > len(prefix)]
    return out
