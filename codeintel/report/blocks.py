"""What a report section is laid out as: a few block types (facts, tables, bar charts, trends,
notes) that both the terminal renderer (``text.py``) and the HTML renderer (``html.py``) know how
to draw. A section turns its JSON data into blocks once; neither renderer knows any section."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Sequence


@dataclass
class Facts:
    """A line of ``label value`` pairs."""
    items: list[tuple[str, str]]


@dataclass
class Note:
    text: str
    tone: str = "dim"          # dim | warn | good


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]]
    numeric: Sequence[int] = ()        # column indexes aligned right
    more: int = 0                      # rows left out (said under the table)


@dataclass
class Bars:
    """Horizontal bars, one per label; with several series the bar of a label is stacked."""
    title: str
    labels: list[str]
    values: list[list[float]]          # per label, one value per series
    series: list[str] = field(default_factory=lambda: [""])
    shown: Optional[list[str]] = None  # per label, the figure written after the bar
    tones: Optional[list[str]] = None  # per label (one series): good | bad | neutral, else the series colour


@dataclass
class Trend:
    """Counts over consecutive periods (months): a sparkline in the terminal, columns in SVG."""
    title: str
    labels: list[str]
    values: list[int]
    unit: str = "commits"


Block = Facts | Note | Table | Bars | Trend
