"""Inline SVG charts for the HTML report, drawn here (no JavaScript, no external resources):
horizontal (stacked) bars and a column chart for trends. Every label is escaped."""
from __future__ import annotations

from html import escape

from .blocks import Bars, Trend

PALETTE = ("#2f7ed8", "#e0699a", "#f0a030", "#3aa66a")
TONES = {"good": "#2e9d5b", "bad": "#d9534f", "neutral": "#9ca3af"}
FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"'


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".")


def bars(block: Bars, width: int = 880) -> str:
    row_h, gap = 16, 5
    label_w = min(300, 12 + 8 * max((len(label) for label in block.labels), default=4))
    shown = block.shown or [f"{sum(v):,.0f}" for v in block.values]
    figure_w = 10 + 7 * max((len(s) for s in shown), default=1)
    room = max(80, width - label_w - figure_w)
    legend_h = 22 if len(block.series) > 1 else 0
    height = legend_h + len(block.labels) * (row_h + gap) + gap
    top = max((sum(v) for v in block.values), default=0) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="{escape(block.title)}" {FONT}>',
           f"<title>{escape(block.title)}</title>"]
    if legend_h:
        x = label_w
        for k, name in enumerate(block.series):
            out.append(f'<rect x="{x}" y="4" width="12" height="12" rx="2" fill="{PALETTE[k % len(PALETTE)]}"/>'
                       f'<text x="{x + 16}" y="14" fill="#333">{escape(name)}</text>')
            x += 30 + 7 * len(name)
    for i, (label, values, figure) in enumerate(zip(block.labels, block.values, shown)):
        y = legend_h + gap + i * (row_h + gap)
        text_label = label if len(label) * 8 <= label_w - 12 else "…" + label[-((label_w - 12) // 8 - 1):]
        out.append(f'<text x="{label_w - 8}" y="{y + 14}" text-anchor="end" fill="#333">'
                   f"<title>{escape(label)}</title>{escape(text_label)}</text>")
        x = float(label_w)
        for k, value in enumerate(values):
            w = room * value / top
            if value > 0:
                name = block.series[k] if k < len(block.series) else ""
                tone = block.tones[i] if block.tones and len(values) == 1 else None
                colour = TONES.get(tone, PALETTE[k % len(PALETTE)])
                out.append(f'<rect x="{_num(x)}" y="{y}" width="{_num(max(w, 1.5))}" height="{row_h}" rx="2" '
                           f'fill="{colour}"><title>{escape(label)}: {value:,.0f} '
                           f"{escape(name)}</title></rect>")
            x += w
        out.append(f'<text x="{_num(x + 6)}" y="{y + 14}" fill="#555">{escape(figure)}</text>')
    out.append("</svg>")
    return "".join(out)


def trend(block: Trend, width: int = 880, height: int = 170) -> str:
    left, bottom, top_pad = 40, 22, 10
    n = max(1, len(block.values))
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    step = plot_w / n
    top = max(block.values, default=0) or 1
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="{escape(block.title)}" {FONT}>',
           f"<title>{escape(block.title)}</title>",
           f'<line x1="{left}" y1="{top_pad + plot_h}" x2="{width - 10}" y2="{top_pad + plot_h}" stroke="#bbb"/>',
           f'<text x="{left - 6}" y="{top_pad + 10}" text-anchor="end" fill="#555">{top:,}</text>',
           f'<text x="{left - 6}" y="{top_pad + plot_h}" text-anchor="end" fill="#555">0</text>']
    for i, (label, value) in enumerate(zip(block.labels, block.values)):
        h = plot_h * value / top
        x = left + i * step
        out.append(f'<rect x="{_num(x + step * 0.1)}" y="{_num(top_pad + plot_h - h)}" '
                   f'width="{_num(max(step * 0.8, 1))}" height="{_num(h)}" fill="{PALETTE[0]}">'
                   f"<title>{escape(label)}: {value:,} {escape(block.unit)}</title></rect>")
    every = max(1, round(n / 8))
    for i in range(0, len(block.labels), every):
        out.append(f'<text x="{_num(left + (i + 0.5) * step)}" y="{height - 6}" text-anchor="middle" '
                   f'fill="#555">{escape(block.labels[i])}</text>')
    out.append("</svg>")
    return "".join(out)
