"""The views of a plagiarism run: a rich terminal table with side-by-side fragments, a CSV of
the ranked pairs, and one standalone HTML file (inline CSS, everything escaped, the report's
Content-Security-Policy, nothing fetched) with the matched fragments of each pair highlighted
side by side.

Names and lines from submissions are untrusted: on the terminal they go through
``display.printable`` and are never taken as rich markup; on the page they are escaped, and
what the page inlines is bounded (rows, pairs, fragments, lines per fragment, characters per
line, and the page as a whole), each cut said on the page, so a large or deeply nested
submission cannot grow the file without end."""
from __future__ import annotations

import csv
import html
import io

from ..display import printable
from ..report.html import CSP

MAX_LINE_CHARS = 240          # a longer line is cut (terminal and HTML)
MAX_SKIPPED_SHOWN = 20
MAX_TABLE_PAIRS = 1000        # rows of the HTML page's table of pairs
MAX_FRAGMENTS_SHOWN = 20      # fragments of one pair highlighted on the page (the longest)
MAX_FRAGMENT_LINES = 40       # lines of one fragment shown on the page
CONTEXT_LINES = 2             # lines shown around a fragment
MAX_PAGE_CHARS = 4_000_000    # the page stops adding pairs' details here
_COLOURS = ["#ffe08a", "#b5e3ff", "#c8f0b4", "#ffc4d6", "#e0ccff", "#ffd3a8", "#bff3ec", "#f6c1ff"]


def _score(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _cut(line: str, limit: int = MAX_LINE_CHARS) -> str:
    return line if len(line) <= limit else line[:limit] + "…"


def _lines(text: bytes, start: int, end: int) -> list[str]:
    lines = text.decode("utf-8", "replace").splitlines()
    return lines[start - 1:end]


def _doc_text(run, sub_index: int, path: str) -> bytes:
    for d in run.submissions[sub_index].docs:
        if d.path == path:
            return d.tokens.text
    return b""


def _safe(name) -> "Text":
    """A name or line from a submission as terminal text: control characters escaped, and
    taken as text (never as rich markup)."""
    from rich.text import Text

    return Text(printable(name))


def _skipped_lines(run) -> list[str]:
    """What was not read, one line each, at most ``MAX_SKIPPED_SHOWN`` of them."""
    shown = [f"skipped {s.path}: {s.reason}" for s in run.skipped[:MAX_SKIPPED_SHOWN]]
    if len(run.skipped) > MAX_SKIPPED_SHOWN:
        shown.append(f"… and {len(run.skipped) - MAX_SKIPPED_SHOWN:,} more skipped (see --json)")
    return shown


def render_text(run, console, top: int = 20, show: int = 3, context_lines: int = 12) -> None:
    from rich.table import Table
    from rich.text import Text

    subs = run.submissions
    table = Table(title=f"{len(subs)} submissions, {run.candidate_pairs} pairs sharing code", show_lines=False)
    learned = run.learned_model is not None
    columns = [("#", "right"), ("submission A", "left"), ("submission B", "left"), ("similarity", "right")]
    columns += [("learned", "right"), ("combined", "right")] if learned else []
    for col, just in columns + [("fragments", "right"), ("longest", "right")]:
        table.add_column(col, justify=just, overflow="fold")
    for n, p in enumerate(run.pairs[:top], 1):
        style = "bold red" if run.flagged(p) else None
        cells = [str(n), _safe(subs[p.a].name), _safe(subs[p.b].name), _score(p.similarity)]
        cells += [_score(p.learned), _score(p.combined)] if learned else []
        table.add_row(*cells, str(len(p.result.fragments)) if p.result else "-",
                      str(p.result.longest) if p.result else "-", style=style)
    console.print(table)
    if not run.pairs:
        console.print("no two submissions share code")
    if not learned:
        console.print("similarity: tokens covered by shared fragments (no learned clone model used)", style="dim")
    else:
        console.print(Text(f"similarity: tokens covered by shared fragments; learned: cosine of the submissions' "
                           f"vectors (clones model {printable(run.learned_model)}); ranked by combined = their mean; "
                           f"flagged at similarity >= {run.threshold:.2f} or learned >= {run.learned_threshold:.2f}",
                           style="dim"))
    for note in run.notes + _skipped_lines(run):
        console.print(_safe(note), style="dim")
    if run.clusters:
        either = f" or learned >= {run.learned_threshold:.2f}" if learned else ""
        console.print(Text(f"clusters at similarity >= {run.threshold:.2f}{either}:", style="bold"))
        for c in run.clusters:
            console.print(_safe("  " + ", ".join(subs[i].name for i in c)))
    for p in run.pairs[:show]:
        if p.result is None or not p.result.fragments:
            continue
        scores = f"{p.similarity:.2f}" + (f", learned {p.learned:.2f}" if p.learned is not None else "")
        console.print(Text(f"\n{printable(subs[p.a].name)}  <->  {printable(subs[p.b].name)}  ({scores})",
                           style="bold"))
        for f in sorted(p.result.fragments, key=lambda f: -f.tokens)[:5]:
            side = Table(show_header=True, expand=True, box=None)
            side.add_column(_safe(f"{f.a.path}:{f.a.start_line}-{f.a.end_line}"), ratio=1, overflow="fold")
            side.add_column(_safe(f"{f.b.path}:{f.b.start_line}-{f.b.end_line}"), ratio=1, overflow="fold")
            left = _lines(_doc_text(run, p.a, f.a.path), f.a.start_line, f.a.end_line)
            right = _lines(_doc_text(run, p.b, f.b.path), f.b.start_line, f.b.end_line)
            cut = max(len(left), len(right)) > context_lines
            left, right = left[:context_lines], right[:context_lines]
            side.add_row(*(Text("\n".join(printable(_cut(line.expandtabs(4))) for line in lines), style="yellow")
                           for lines in (left, right)))
            console.print(side)
            if cut:
                console.print(f"  … ({f.tokens} tokens matched in all)", style="dim")


def render_csv(run, escape: bool = False) -> str:
    """The ranked pairs as CSV; ``escape``: names through ``printable`` (for a terminal)."""
    name = printable if escape else str
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["a", "b", "similarity", "learned_similarity", "combined", "signals", "fingerprint_estimate",
                "fragments", "longest_fragment", "covered_a", "covered_b", "tokens_a", "tokens_b"])
    for p in run.pairs:
        r = p.result
        w.writerow([name(run.submissions[p.a].name), name(run.submissions[p.b].name), f"{p.similarity:.4f}",
                    "" if p.learned is None else f"{p.learned:.4f}", f"{p.combined:.4f}",
                    " ".join(p.signals(run.threshold, run.learned_threshold)), f"{p.estimate:.4f}",
                    len(r.fragments) if r else "", r.longest if r else "", r.covered_a if r else "",
                    r.covered_b if r else "", r.total_a if r else "", r.total_b if r else ""])
    return out.getvalue()


_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
table.pairs{border-collapse:collapse}table.pairs td,table.pairs th{padding:2px 10px;border-bottom:1px solid #ddd}
td.num{text-align:right;font-variant-numeric:tabular-nums}tr.hot td{color:#a00;font-weight:600}
.pair{margin:2em 0;border-top:2px solid #888}.sides{display:flex;gap:1em}
.side{flex:1;min-width:0;overflow-x:auto}.side h4{margin:.4em 0;font-family:monospace}
pre{font-size:12px;line-height:1.35;margin:0;background:#fafafa;border:1px solid #eee;padding:4px}
pre span.ln{color:#999;user-select:none}pre span.gap{color:#999;font-style:italic}mark{border-radius:2px}
.more{color:#666;font-style:italic}
""" + "".join(f"mark.c{n}{{background:{c}}}" for n, c in enumerate(_COLOURS)) + "\n"


def _shown_windows(ranges: list, count: int) -> list:
    """The (first, last) lines shown of a file of ``count`` lines: each marked range's first
    ``MAX_FRAGMENT_LINES`` lines and ``CONTEXT_LINES`` around them (the file's start if none)."""
    if not ranges:
        return [(1, min(count, MAX_FRAGMENT_LINES))] if count else []
    windows = sorted((max(1, start - CONTEXT_LINES), min(count, min(end, start + MAX_FRAGMENT_LINES - 1)
                                                          + CONTEXT_LINES)) for start, end, _, _ in ranges)
    merged: list = []
    for first, last in windows:
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        elif first <= last:
            merged.append((first, last))
    return merged


def _highlighted(text: bytes, ranges: list) -> str:
    """Excerpts of the file's lines, numbered, with each (start_line, end_line, colour, label)
    marked; what is not shown (lines between excerpts, the rest of a long fragment, the end
    of a long line) is said. The size of the result is bounded whatever the file."""
    lines = text.decode("utf-8", "replace").splitlines()
    out, after = [], 0
    for first, last in _shown_windows(ranges, len(lines)):
        if first > after + 1:
            out.append(f'<span class="gap">    ⋯ lines {after + 1}–{first - 1} not shown</span>')
        for n in range(first, last + 1):
            body = html.escape(_cut(lines[n - 1])) or " "
            mark = next(((colour, label) for start, end, colour, label in ranges if start <= n <= end), None)
            if mark:
                title = f' title="{html.escape(mark[1])}"' if n == first or any(n == r[0] for r in ranges) else ""
                body = f"<mark class=c{mark[0]}{title}>{body}</mark>"
            out.append(f'<span class="ln">{n:>4} </span>{body}')
        after = last
    if after < len(lines):
        out.append(f'<span class="gap">    ⋯ lines {after + 1}–{len(lines)} not shown</span>')
    return "\n".join(out)


def _pair_detail(run, n: int, p) -> str:
    """One pair's sides: the files its (longest ``MAX_FRAGMENTS_SHOWN``) fragments are in, highlighted."""
    subs = run.submissions
    left: dict = {}
    right: dict = {}
    fragments = sorted(enumerate(p.result.fragments), key=lambda mf: -mf[1].tokens)[:MAX_FRAGMENTS_SHOWN]
    for m, f in sorted(fragments, key=lambda mf: mf[0]):
        colour = m % len(_COLOURS)
        left.setdefault(f.a.path, []).append((f.a.start_line, f.a.end_line, colour,
                                              f"fragment {m + 1}: {f.b.path}:{f.b.start_line}-{f.b.end_line}"))
        right.setdefault(f.b.path, []).append((f.b.start_line, f.b.end_line, colour,
                                               f"fragment {m + 1}: {f.a.path}:{f.a.start_line}-{f.a.end_line}"))
    sides = []
    for idx, marks in ((p.a, left), (p.b, right)):
        files = []
        for d in subs[idx].docs:
            if d.path in marks or len(subs[idx].docs) == 1:
                excerpt = _highlighted(d.tokens.text, marks.get(d.path, []))
                files.append(f"<h4>{html.escape(d.path)}</h4><pre>{excerpt}</pre>")
        sides.append(f'<div class="side">{"".join(files)}</div>')
    more = len(p.result.fragments) - len(fragments)
    left_out = f'<p class="more">the {more:,} shortest fragments are not shown</p>' if more > 0 else ""
    return (f'<div class="pair" id="pair{n}"><h3>{n}. {html.escape(subs[p.a].name)} &harr; '
            f'{html.escape(subs[p.b].name)}: {p.similarity:.3f}'
            f'{f", learned {p.learned:.3f}" if p.learned is not None else ""}'
            f' ({len(p.result.fragments)} fragments)</h3>{left_out}'
            f'<div class="sides">{"".join(sides)}</div></div>')


def render_html(run, top: int = 50) -> str:
    """The standalone page: the report's Content-Security-Policy (nothing loaded, no script),
    everything escaped, and a bounded size: at most ``MAX_TABLE_PAIRS`` rows, excerpts of
    the ``top`` pairs while the page is under ``MAX_PAGE_CHARS``, each left-out part said."""
    subs = run.submissions
    rows = []
    has_model = run.learned_model is not None
    for n, p in enumerate(run.pairs[:MAX_TABLE_PAIRS], 1):
        hot = ' class="hot"' if run.flagged(p) else ""
        link = f'<a href="#pair{n}">{n}</a>' if n <= top else str(n)
        learned_cell = (f"<td class=num>{_score(p.learned)}</td><td class=num>{p.combined:.3f}</td>"
                        if has_model else "")
        rows.append(f"<tr{hot}><td class=num>{link}</td><td>{html.escape(subs[p.a].name)}</td>"
                    f"<td>{html.escape(subs[p.b].name)}</td><td class=num>{p.similarity:.3f}</td>{learned_cell}"
                    f"<td class=num>{len(p.result.fragments) if p.result else '-'}</td>"
                    f"<td class=num>{p.result.longest if p.result else '-'}</td></tr>")
    more_rows = len(run.pairs) - len(rows)
    if more_rows > 0:
        rows.append(f'<tr><td colspan=8 class="more">… and {more_rows:,} more pairs not shown here '
                    "(see --csv or --json)</td></tr>")
    clusters = "".join(f"<li>{html.escape(', '.join(subs[i].name for i in c))}</li>" for c in run.clusters)
    learned = (f"learned similarity by clones model {html.escape(run.learned_model)}, ranked by the mean of both "
               f"scores, flagged also at learned &gt;= {run.learned_threshold:.2f}" if run.learned_model
               else "no clone model: fragment similarity only")
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in run.notes + _skipped_lines(run))
    head = ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>codeintel plagiarism report</title><style>{_CSS}</style></head><body><h1>Plagiarism report</h1>"
            f"<p>{len(subs)} submissions, {run.candidate_pairs} pairs share code; threshold {run.threshold:.2f}; "
            f"{learned}.</p>{notes}"
            "<table class=pairs><tr><th>#</th><th>A</th><th>B</th><th>similarity</th>"
            f"{'<th>learned</th><th>combined</th>' if has_model else ''}"
            f"<th>fragments</th><th>longest (tokens)</th></tr>{''.join(rows)}</table>"
            f"<h2>Clusters</h2><ul>{clusters or '<li>none</li>'}</ul>")
    details, size = [], len(head)
    shown = [(n, p) for n, p in enumerate(run.pairs[:top], 1) if p.result is not None]
    for k, (n, p) in enumerate(shown):
        detail = _pair_detail(run, n, p)
        if size + len(detail) > MAX_PAGE_CHARS:
            details.append(f'<p class="more">the details of {len(shown) - k} more pair(s) (#{n} on) are not shown: '
                           f"the page's size limit ({MAX_PAGE_CHARS:,} characters) was reached</p>")
            break
        details.append(detail)
        size += len(detail)
    return head + "".join(details) + "</body></html>\n"
