"""The views of a plagiarism run: a rich terminal table with side-by-side fragments, a CSV of
the ranked pairs, and one standalone HTML file (inline CSS, everything escaped, nothing
fetched) with the matched fragments of each pair highlighted side by side."""
from __future__ import annotations

import csv
import html
import io

_COLOURS = ["#ffe08a", "#b5e3ff", "#c8f0b4", "#ffc4d6", "#e0ccff", "#ffd3a8", "#bff3ec", "#f6c1ff"]


def _score(value) -> str:
    return "-" if value is None else f"{value:.2f}"


def _lines(text: bytes, start: int, end: int) -> list[str]:
    lines = text.decode("utf-8", "replace").splitlines()
    return lines[start - 1:end]


def _doc_text(run, sub_index: int, path: str) -> bytes:
    for d in run.submissions[sub_index].docs:
        if d.path == path:
            return d.tokens.text
    return b""


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
        cells = [str(n), subs[p.a].name, subs[p.b].name, _score(p.similarity)]
        cells += [_score(p.learned), _score(p.combined)] if learned else []
        table.add_row(*cells, str(len(p.result.fragments)) if p.result else "-",
                      str(p.result.longest) if p.result else "-", style=style)
    console.print(table)
    if not run.pairs:
        console.print("no two submissions share code")
    if not learned:
        console.print("similarity: tokens covered by shared fragments (no learned clone model used)", style="dim")
    else:
        console.print(f"similarity: tokens covered by shared fragments; learned: cosine of the submissions' vectors "
                      f"(clones model {run.learned_model}); ranked by combined = their mean; flagged at similarity "
                      f">= {run.threshold:.2f} or learned >= {run.learned_threshold:.2f}", style="dim")
    for note in run.notes:
        console.print(note, style="dim")
    if run.clusters:
        either = f" or learned >= {run.learned_threshold:.2f}" if learned else ""
        console.print(Text(f"clusters at similarity >= {run.threshold:.2f}{either}:", style="bold"))
        for c in run.clusters:
            console.print("  " + ", ".join(subs[i].name for i in c))
    for p in run.pairs[:show]:
        if p.result is None or not p.result.fragments:
            continue
        scores = f"{p.similarity:.2f}" + (f", learned {p.learned:.2f}" if p.learned is not None else "")
        console.print(Text(f"\n{subs[p.a].name}  <->  {subs[p.b].name}  ({scores})", style="bold"))
        for f in sorted(p.result.fragments, key=lambda f: -f.tokens)[:5]:
            side = Table(show_header=True, expand=True, box=None)
            side.add_column(f"{f.a.path}:{f.a.start_line}-{f.a.end_line}", ratio=1, overflow="fold")
            side.add_column(f"{f.b.path}:{f.b.start_line}-{f.b.end_line}", ratio=1, overflow="fold")
            left = _lines(_doc_text(run, p.a, f.a.path), f.a.start_line, f.a.end_line)
            right = _lines(_doc_text(run, p.b, f.b.path), f.b.start_line, f.b.end_line)
            cut = max(len(left), len(right)) > context_lines
            left, right = left[:context_lines], right[:context_lines]
            side.add_row(Text("\n".join(left), style="yellow"), Text("\n".join(right), style="yellow"))
            console.print(side)
            if cut:
                console.print(f"  … ({f.tokens} tokens matched in all)", style="dim")


def render_csv(run) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["a", "b", "similarity", "learned_similarity", "combined", "signals", "fingerprint_estimate",
                "fragments", "longest_fragment", "covered_a", "covered_b", "tokens_a", "tokens_b"])
    for p in run.pairs:
        r = p.result
        w.writerow([run.submissions[p.a].name, run.submissions[p.b].name, f"{p.similarity:.4f}",
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
pre span.ln{color:#999;user-select:none}mark{border-radius:2px}
"""


def _highlighted(text: bytes, ranges: list) -> str:
    """The file's lines, numbered, with each (start_line, end_line, colour, label) marked."""
    lines = text.decode("utf-8", "replace").splitlines()
    colour_of: dict = {}
    for start, end, colour, label in ranges:
        for ln in range(start, end + 1):
            colour_of.setdefault(ln, (colour, label))
    out = []
    for n, line in enumerate(lines, 1):
        body = html.escape(line) or " "
        if n in colour_of:
            colour, label = colour_of[n]
            body = f'<mark style="background:{colour}" title="{html.escape(label)}">{body}</mark>'
        out.append(f'<span class="ln">{n:>4} </span>{body}')
    return "\n".join(out)


def render_html(run, top: int = 50) -> str:
    subs = run.submissions
    rows = []
    has_model = run.learned_model is not None
    for n, p in enumerate(run.pairs, 1):
        hot = ' class="hot"' if run.flagged(p) else ""
        link = f'<a href="#pair{n}">{n}</a>' if n <= top else str(n)
        learned_cell = (f"<td class=num>{_score(p.learned)}</td><td class=num>{p.combined:.3f}</td>"
                        if has_model else "")
        rows.append(f"<tr{hot}><td class=num>{link}</td><td>{html.escape(subs[p.a].name)}</td>"
                    f"<td>{html.escape(subs[p.b].name)}</td><td class=num>{p.similarity:.3f}</td>{learned_cell}"
                    f"<td class=num>{len(p.result.fragments) if p.result else '-'}</td>"
                    f"<td class=num>{p.result.longest if p.result else '-'}</td></tr>")
    clusters = "".join(f"<li>{html.escape(', '.join(subs[i].name for i in c))}</li>" for c in run.clusters)
    details = []
    for n, p in enumerate(run.pairs[:top], 1):
        if p.result is None:
            continue
        left: dict = {}
        right: dict = {}
        for m, f in enumerate(p.result.fragments):
            colour = _COLOURS[m % len(_COLOURS)]
            left.setdefault(f.a.path, []).append((f.a.start_line, f.a.end_line, colour,
                                                  f"fragment {m + 1}: {f.b.path}:{f.b.start_line}-{f.b.end_line}"))
            right.setdefault(f.b.path, []).append((f.b.start_line, f.b.end_line, colour,
                                                   f"fragment {m + 1}: {f.a.path}:{f.a.start_line}-{f.a.end_line}"))
        sides = []
        for idx, marks in ((p.a, left), (p.b, right)):
            files = []
            for d in subs[idx].docs:
                if d.path in marks or len(subs[idx].docs) == 1:
                    files.append(f"<h4>{html.escape(d.path)}</h4><pre>{_highlighted(d.tokens.text, marks.get(d.path, []))}</pre>")
            sides.append(f'<div class="side">{"".join(files)}</div>')
        details.append(f'<div class="pair" id="pair{n}"><h3>{n}. {html.escape(subs[p.a].name)} &harr; '
                       f'{html.escape(subs[p.b].name)}: {p.similarity:.3f}'
                       f'{f", learned {p.learned:.3f}" if p.learned is not None else ""}'
                       f' ({len(p.result.fragments)} fragments)</h3>'
                       f'<div class="sides">{"".join(sides)}</div></div>')
    learned = (f"learned similarity by clones model {html.escape(run.learned_model)}, ranked by the mean of both "
               f"scores, flagged also at learned &gt;= {run.learned_threshold:.2f}" if run.learned_model
               else "no clone model: fragment similarity only")
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in run.notes)
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>codeintel plagiarism report</title>"
            f"<style>{_CSS}</style></head><body><h1>Plagiarism report</h1>"
            f"<p>{len(subs)} submissions, {run.candidate_pairs} pairs share code; threshold {run.threshold:.2f}; "
            f"{learned}.</p>{notes}"
            "<table class=pairs><tr><th>#</th><th>A</th><th>B</th><th>similarity</th>"
            f"{'<th>learned</th><th>combined</th>' if has_model else ''}"
            f"<th>fragments</th><th>longest (tokens)</th></tr>{''.join(rows)}</table>"
            f"<h2>Clusters</h2><ul>{clusters or '<li>none</li>'}</ul>{''.join(details)}</body></html>\n")
