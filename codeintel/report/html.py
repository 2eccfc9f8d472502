"""The report as one standalone HTML file: inline CSS, inline SVG charts (``svg.py``), every
piece of repository text escaped, and a Content-Security-Policy that forbids loading anything
(no scripts, fonts, images or styles from elsewhere), so the file can be mailed or archived."""
from __future__ import annotations

from html import escape

from . import format as fmt
from . import svg
from .blocks import Bars, Facts, Note, Table, Trend

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
CSS = """
:root { color-scheme: light; }
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f5f6f8; color: #222; }
header { background: #1f2937; color: #f9fafb; padding: 20px 32px; }
header h1 { margin: 0; font-size: 22px; font-weight: 600; }
header .sub { color: #cbd5e1; font-size: 13px; margin-top: 4px; }
nav { margin-top: 10px; }
nav a { color: #93c5fd; margin-right: 16px; text-decoration: none; font-size: 14px; }
main { max-width: 1000px; margin: 0 auto; padding: 8px 24px 40px; }
section { background: #fff; border-radius: 8px; box-shadow: 0 1px 3px rgba(0,0,0,.08); margin: 20px 0; padding: 16px 24px; }
h2 { font-size: 18px; margin: 4px 0 12px; border-bottom: 1px solid #e5e7eb; padding-bottom: 6px; }
h3 { font-size: 14px; margin: 18px 0 6px; color: #374151; }
.facts { display: flex; flex-wrap: wrap; gap: 8px 24px; margin: 6px 0; }
.facts div { font-size: 13px; color: #6b7280; }
.facts b { display: block; font-size: 17px; color: #111827; font-weight: 600; }
table { border-collapse: collapse; font-size: 13px; width: auto; min-width: 60%; }
th { text-align: left; color: #6b7280; font-weight: 600; border-bottom: 1px solid #e5e7eb; padding: 4px 8px; }
td { padding: 3px 8px; border-bottom: 1px solid #f3f4f6; vertical-align: top; overflow-wrap: anywhere; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.note { font-size: 13px; margin: 8px 0; }
.note.dim { color: #6b7280; } .note.warn { color: #b45309; } .note.good { color: #15803d; }
.more { font-size: 12px; color: #6b7280; margin: 4px 8px; }
svg.chart { max-width: 100%; height: auto; display: block; }
footer { text-align: center; font-size: 12px; color: #9ca3af; padding-bottom: 24px; }
"""


def _block(block) -> str:
    if isinstance(block, Facts):
        return '<div class="facts">' + "".join(
            f"<div>{escape(label)}<b>{escape(value)}</b></div>" for label, value in block.items) + "</div>"
    if isinstance(block, Note):
        return f'<p class="note {escape(block.tone)}">{escape(block.text)}</p>'
    if isinstance(block, Table):
        head = "".join(f'<th{" class=n" if k in block.numeric else ""}>{escape(c)}</th>'
                       for k, c in enumerate(block.columns))
        body = "".join("<tr>" + "".join(f'<td{" class=n" if k in block.numeric else ""}>{escape(cell)}</td>'
                                        for k, cell in enumerate(row)) + "</tr>" for row in block.rows)
        more = f'<p class="more">… and {block.more:,} more (see the JSON report)</p>' if block.more else ""
        return f"<h3>{escape(block.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{more}"
    if isinstance(block, Bars):
        return f"<h3>{escape(block.title)}</h3>{svg.bars(block)}"
    if isinstance(block, Trend):
        return f"<h3>{escape(block.title)}</h3>{svg.trend(block)}"
    raise TypeError(f"no HTML for {type(block).__name__}")


def render(report: dict, sections: list) -> str:
    root = report["root"]
    name = root.rstrip("/").rsplit("/", 1)[-1] or root
    nav = "".join(f'<a href="#{escape(key)}">{escape(title)}</a>' for key, title, _ in sections)
    body = "".join(f'<section id="{escape(key)}"><h2>{escape(title)}</h2>{"".join(map(_block, blocks))}</section>'
                   for key, title, blocks in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>codeintel report: {escape(name)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>codeintel report: {escape(name)}</h1>"
        f'<div class="sub">{escape(root)} · indexed {escape(fmt.moment(report.get("last_indexed_at")))}'
        f" · generated {escape(report['generated_at'])}</div><nav>{nav}</nav></header>"
        f"<main>{body}</main><footer>codeintel {escape(report['version'])}</footer></body></html>\n")
