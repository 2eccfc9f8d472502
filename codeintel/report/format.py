"""Small formatting helpers shared by the sections: sizes, dates, counts, percentages."""
from __future__ import annotations

import time
from typing import Optional


def size(n: Optional[int]) -> str:
    if n is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def parameters(n: Optional[int]) -> str:
    """A parameter count: ``1.50M`` from 100,000 on, else the number (``1,377``)."""
    if not n:
        return "-"
    return f"{n / 1e6:.2f}M" if n >= 100_000 else f"{n:,}"


def day(ts: Optional[float]) -> str:
    """A unix time as a UTC date."""
    return time.strftime("%Y-%m-%d", time.gmtime(ts)) if ts is not None else "-"


def moment(ts: Optional[float]) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(ts)) if ts is not None else "-"


def count(n: int, noun: str, plural: Optional[str] = None) -> str:
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "-"


def span(first: Optional[float], last: Optional[float]) -> str:
    """``2024-01-02 .. 2025-03-04 (14 months)``."""
    if first is None or last is None:
        return "-"
    days = (last - first) / 86400
    length = f"{days:.0f} days" if days < 62 else f"{days / 30.44:.0f} months" if days < 730 \
        else f"{days / 365.25:.1f} years"
    return f"{day(first)} .. {day(last)} ({length})"
