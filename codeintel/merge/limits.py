"""How much work one learned merge may cost: this module owns the bounds that hand a conflicted
file back to git's textual merge (the merge driver) or leave its markers (``codeintel resolve``,
the language server) instead of planning and classifying it.

A merge driver runs while ``git merge`` waits, on files a branch someone else wrote brings in:
a conflicted file of a few megabytes (one long line of minified or generated text) or one
with thousands of small token conflicts would otherwise be tokenized, diffed in Python and
given to the classifier conflict by conflict (minutes, gigabytes). The bounds:

- ``max_bytes``: each of base, ours and theirs of a merged file (the text of a file with
  markers, for ``resolve``); default 1 MiB, the indexer's own file-size limit;
- ``max_region_bytes``: each side of one conflicting line hunk (a region); default 32 KiB:
  the token diff inside it is quadratic in the worst case (random punctuation: seconds);
- ``max_conflicts``: token conflicts given to the model for one file; default 256 (the
  classifier costs tens of milliseconds per conflict on a laptop core);
- ``max_seconds`` and ``max_memory_mb``: planning and classifying stop when this much time has
  passed, or the process's peak resident memory grew by this much, since the merge began;
  defaults 10 s and 512 MiB. They are checked between regions and between batches of
  conflicts, and, in a process's main thread (the merge driver, ``codeintel resolve``), also
  every 0.1 s by a timer signal that stops whatever Python code runs then (``enforced``).

The environment can set each (``CODEINTEL_MERGE_MAX_BYTES``, ``CODEINTEL_MERGE_MAX_REGION_BYTES``,
``CODEINTEL_MERGE_MAX_CONFLICTS``, ``CODEINTEL_MERGE_MAX_SECONDS``,
``CODEINTEL_MERGE_MAX_MEMORY_MB``): it is the user's, so it may raise them as well as lower
them; a repository's own ``.codeintel/config.toml`` has no say in them. A value that is not a
positive number is ignored (the default holds).
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, fields
from typing import Iterator, Optional

try:
    import resource
except ImportError:      # not on Windows: no memory figure there
    resource = None

ENV_PREFIX = "CODEINTEL_MERGE_"


class MergeTooCostly(Exception):
    """A merge went past one of its bounds; ``str()`` is the reason, one line."""


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(ENV_PREFIX + name.upper(), "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        return default
    return value if value > 0 else default


def _size(n: float) -> str:
    return f"{int(n):,} bytes"


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    if resource is None:
        return 0.0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024   # bytes on macOS, KiB elsewhere


@dataclass(frozen=True)
class MergeLimits:
    max_bytes: int = 1 << 20
    max_region_bytes: int = 32 << 10
    max_conflicts: int = 256
    max_seconds: float = 10.0
    max_memory_mb: float = 512.0

    @classmethod
    def from_env(cls) -> "MergeLimits":
        """The defaults, each overridden by its ``CODEINTEL_MERGE_*`` variable when set."""
        values = {}
        for f in fields(cls):
            default = f.default
            value = _env_number(f.name, default)
            values[f.name] = int(value) if isinstance(default, int) else value
        return cls(**values)

    def check_sides(self, *sides: bytes | str) -> Optional[str]:
        """Why these versions of a file are too large to plan, or None."""
        biggest = max((len(s) for s in sides), default=0)
        if biggest > self.max_bytes:
            return (f"too large for the merge model ({_size(biggest)}, limit {_size(self.max_bytes)}, "
                    f"{ENV_PREFIX}MAX_BYTES)")
        return None

    def check_region(self, *sides) -> None:
        """Raise MergeTooCostly when one side of a conflict region (a list of lines) is too large."""
        biggest = max((sum(len(line) for line in side) for side in sides), default=0)
        if biggest > self.max_region_bytes:
            raise MergeTooCostly(f"a conflict too large for the merge model ({_size(biggest)}, limit "
                                 f"{_size(self.max_region_bytes)}, {ENV_PREFIX}MAX_REGION_BYTES)")

    def budget(self) -> "Budget":
        return Budget(self)


class Budget:
    """The time and memory one merge may still use, from its creation on; ``check()`` raises
    MergeTooCostly once either is spent, and ``count(n)`` once more than ``max_conflicts``
    token conflicts were planned."""

    def __init__(self, limits: MergeLimits):
        self.limits = limits
        self.started = time.monotonic()
        self.rss_at_start = peak_rss_mb()
        self.conflicts = 0

    def check(self) -> None:
        lim = self.limits
        spent = time.monotonic() - self.started
        if spent > lim.max_seconds:
            raise MergeTooCostly(f"the merge model took more than {lim.max_seconds:g} s "
                                 f"({ENV_PREFIX}MAX_SECONDS)")
        grown = peak_rss_mb() - self.rss_at_start
        if grown > lim.max_memory_mb:
            raise MergeTooCostly(f"the merge model needed more than {lim.max_memory_mb:g} MiB "
                                 f"({ENV_PREFIX}MAX_MEMORY_MB)")

    def count(self, n: int) -> None:
        self.conflicts += n
        if self.conflicts > self.limits.max_conflicts:
            raise MergeTooCostly(f"too many token conflicts for the merge model (more than "
                                 f"{self.limits.max_conflicts}, {ENV_PREFIX}MAX_CONFLICTS)")
        self.check()

    def region(self, *sides) -> None:
        """A conflict region about to be planned: its size, then time and memory."""
        self.limits.check_region(*sides)
        self.check()


@contextlib.contextmanager
def enforced(budget: Budget) -> Iterator[None]:
    """While the block runs, ``budget.check()`` every 0.1 s from a SIGALRM timer: MergeTooCostly
    is raised in whatever Python code runs then (a diff loop included), once: the timer is off
    and the handler gone before it is raised, so the caller's ``except MergeTooCostly`` around
    the ``with`` is the one place it can arrive. Only in the main thread, and only when nothing else uses SIGALRM (a
    test runner's timeout, say); elsewhere the block runs with the cooperative checks alone."""
    usable = (hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
              and signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)
              and signal.getitimer(signal.ITIMER_REAL)[0] == 0)
    if not usable:
        yield
        return

    def on_alarm(signum, frame):
        try:
            budget.check()
        except MergeTooCostly:
            signal.setitimer(signal.ITIMER_REAL, 0)           # raised once, whatever happens next
            signal.signal(signal.SIGALRM, signal.SIG_DFL)
            raise

    signal.signal(signal.SIGALRM, on_alarm)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.1, 0.1)
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
