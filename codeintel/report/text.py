"""The report on a terminal (rich): a rule per section, facts on one line, tables, and charts
drawn with block characters, so they read the same without colour: stacked bars use a
different shade per series (█ ▒ ░), trends are sparklines (▁▂▃▄▅▆▇█, · for none)."""
from __future__ import annotations

from rich.markup import escape
from rich.table import Table as RichTable
from rich.text import Text

from . import format as fmt
from ..display import printable
from .blocks import Bars, Facts, Note, Table, Trend

SHADES = ("█", "▒", "░", "▓")
COLOURS = ("cyan", "magenta", "yellow", "green")
SPARKS = "▁▂▃▄▅▆▇█"
# where the terminal cannot show them (an ASCII or Latin-1 locale)
ASCII = {**{ch: "_.-=+*%#"[k] for k, ch in enumerate(SPARKS)},
         "█": "#", "▒": "=", "░": "-", "▓": "+", "·": ".", "…": "...", "─": "-"}
TONES = {"dim": "dim", "warn": "yellow", "good": "green", "bad": "red", "neutral": "bright_black"}
LABEL_MAX = 40


def _cut(label: str, width: int) -> str:
    return label if len(label) <= width else "…" + label[-(width - 1):]


def bar_lines(block: Bars, width: int) -> list[Text]:
    """One line per label: the label, a bar scaled to the largest total, the figure."""
    labels = [_cut(printable(label), LABEL_MAX) for label in block.labels]
    label_w = max((len(label) for label in labels), default=0)
    shown = block.shown or [f"{sum(v):,.0f}" for v in block.values]
    shown_w = max((len(s) for s in shown), default=0)
    room = max(10, min(50, width - label_w - shown_w - 4))
    top = max((sum(v) for v in block.values), default=0) or 1
    lines = []
    for i, (label, values, figure) in enumerate(zip(labels, block.values, shown)):
        line = Text(label.ljust(label_w) + "  ")
        used = 0
        tone = TONES.get(block.tones[i]) if block.tones and len(values) == 1 else None
        for k, value in enumerate(values):
            cells = round(room * value / top)
            if value > 0 and cells == 0:
                cells = 1
            line.append(SHADES[k % len(SHADES)] * cells, style=tone or COLOURS[k % len(COLOURS)])
            used += cells
        line.append(" " * max(1, room - used + 1) + figure.rjust(shown_w))
        lines.append(line)
    if len(block.series) > 1:
        legend = Text(" " * (label_w + 2))
        for k, name in enumerate(block.series):
            legend.append(SHADES[k % len(SHADES)], style=COLOURS[k % len(COLOURS)])
            legend.append(f" {name}  ")
        lines.append(legend)
    return lines


def sparkline(values: list[int], width: int) -> tuple[str, int]:
    """The sparkline of ``values`` at most ``width`` wide (consecutive periods summed when
    needed) and how many periods each character stands for."""
    per = max(1, -(-len(values) // max(1, width)))
    sums = [sum(values[i:i + per]) for i in range(0, len(values), per)]
    top = max(sums, default=0) or 1
    chars = "".join("·" if v == 0 else SPARKS[min(len(SPARKS) - 1, (len(SPARKS) * v - 1) // top)] for v in sums)
    return chars, per


def _trend_lines(block: Trend, width: int) -> list[Text]:
    chars, per = sparkline(block.values, width - 4)
    peak = max(range(len(block.values)), key=lambda i: block.values[i]) if block.values else 0
    line = Text("  ")
    line.append(chars, style="cyan")
    unit = "month" if per == 1 else f"{per} months"
    note = (f"  {block.labels[0]} .. {block.labels[-1]}, one character per {unit}; "
            f"peak {block.values[peak]:,} {block.unit} in {block.labels[peak]}") if block.values else ""
    return [line, Text(note, style="dim")]


def _facts_lines(block: Facts, width: int) -> list[Text]:
    """``label value  ·  label value``, a new line rather than a fact cut in two."""
    lines, line = [], Text()
    for label, value in block.items:
        if line.plain and len(line.plain) + 5 + len(label) + 1 + len(value) > width:
            lines.append(line)
            line = Text()
        if line.plain:
            line.append("  ·  ", style="dim")
        line.append(f"{printable(label)} ", style="dim")
        line.append(printable(value), style="bold")
    return lines + [line]


def _table(block: Table) -> RichTable:
    table = RichTable(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for k, column in enumerate(block.columns):
        numeric = k in block.numeric
        table.add_column(column, justify="right" if numeric else "left", overflow="fold", no_wrap=numeric)
    for row in block.rows:
        table.add_row(*(escape(printable(cell)) for cell in row))
    return table


class _AsciiFile:
    """A console's file that writes block characters as ASCII and anything else it cannot
    encode as ``?`` (a terminal in an ASCII or Latin-1 locale)."""

    _TABLE = str.maketrans(ASCII)

    def __init__(self, file, encoding: str):
        self._file, self._encoding = file, encoding

    def write(self, text: str) -> int:
        text = text.translate(self._TABLE).encode(self._encoding, "replace").decode(self._encoding)
        return self._file.write(text)

    def __getattr__(self, name):
        return getattr(self._file, name)


def render(report: dict, sections: list, console) -> None:
    encoding = console.encoding or "ascii"
    if not encoding.lower().replace("-", "").startswith("utf"):
        console.file = _AsciiFile(console.file, encoding)
    width = console.width
    indexed = report.get("last_indexed_at")
    console.print(Text.assemble(("codeintel report ", "bold"), (printable(report["root"]), "bold cyan")))
    console.print(Text(f"indexed {fmt.moment(indexed)}; codeintel {report['version']}", style="dim"))
    for _name, title, blocks in sections:
        console.print()
        console.rule(Text(title, style="bold"), align="left", characters="─")
        for block in blocks:
            if isinstance(block, Facts):
                for line in _facts_lines(block, width):
                    console.print(line)
            elif isinstance(block, Note):
                console.print(Text(printable(block.text), style=TONES.get(block.tone, "")))
            elif isinstance(block, Table):
                console.print(Text(block.title, style="bold underline"))
                console.print(_table(block))
                if block.more:
                    console.print(Text(f"… and {block.more:,} more (see --json)", style="dim"))
            elif isinstance(block, Bars):
                console.print(Text(block.title, style="bold underline"))
                for line in bar_lines(block, width):
                    console.print(line)
            elif isinstance(block, Trend):
                console.print(Text(block.title, style="bold underline"))
                for line in _trend_lines(block, width):
                    console.print(line)
