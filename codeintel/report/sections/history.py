"""The History section: commits and their time span, each author's churn (commits, files and
lines changed by their non-merge commits), the files changed most often and those that
conflicted in the most merges, and commits per month."""
from __future__ import annotations

from .. import format as fmt
from ..blocks import Bars, Facts, Note, Table, Trend

NAME = "history"
TITLE = "History"
TOP = 10


def _months(rows: list[tuple[str, int]]) -> list[list]:
    """Every month from the first to the last with commits, the empty ones as 0."""
    if not rows:
        return []
    have = dict(rows)
    year, month = map(int, rows[0][0].split("-"))
    last = rows[-1][0]
    out = []
    while True:
        key = f"{year:04d}-{month:02d}"
        out.append([key, have.get(key, 0)])
        if key >= last:
            return out
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)


def collect(ctx) -> dict:
    store = ctx.store
    totals = store.history_totals()
    return {
        "mined": bool(totals["commits"]) or store.get_meta("history_head") is not None,
        "note": store.get_meta("history_note"),
        **totals,
        "authors_churn": store.author_churn(TOP),
        "hotspots": store.change_hotspots(TOP),
        "conflict_hotspots": store.conflict_hotspots(TOP),
        "months": _months(store.commits_per_month()),
    }


def layout(data: dict) -> list:
    if not data["mined"]:
        return [Note("no history mined: not a git work tree, or indexed with --no-history", "warn")]
    blocks = [Facts([("commits", f"{data['commits']:,}"), ("merges", f"{data['merges']:,}"),
                     ("authors", f"{data['authors']:,}"), ("span", fmt.span(data["first_at"], data["last_at"])),
                     ("lines", f"+{data['insertions']:,} -{data['deletions']:,}")])]
    if data["note"]:
        blocks.append(Note(data["note"], "warn"))
    if data["months"]:
        blocks.append(Trend("commits per month", [m for m, _ in data["months"]], [n for _, n in data["months"]]))
    churn = data["authors_churn"]
    if churn:
        blocks.append(Table("authors (most commits first)",
                            ["author", "commits", "merges", "files", "+lines", "-lines", "active"],
                            [[a["name"] or a["email"] or "?", f"{a['commits']:,}", f"{a['merges']:,}",
                              f"{a['files_changed']:,}", f"+{a['insertions']:,}", f"-{a['deletions']:,}",
                              f"{fmt.day(a['first_at'])}..{fmt.day(a['last_at'])}"] for a in churn],
                            numeric=(1, 2, 3, 4, 5), more=max(0, data["authors"] - len(churn))))
        blocks.append(Bars("lines changed per author", [a["name"] or a["email"] or "?" for a in churn],
                           [[a["insertions"], a["deletions"]] for a in churn], ["added", "removed"],
                           [f"+{a['insertions']:,} -{a['deletions']:,}" for a in churn]))
    hot = data["hotspots"]
    if hot:
        blocks.append(Bars("most changed files (commits)", [h["path"] + ("" if h["exists"] else " (gone)")
                                                            for h in hot],
                           [[h["commits"]] for h in hot], ["commits"], [f"{h['commits']:,}" for h in hot]))
    conflicted = data["conflict_hotspots"]
    if conflicted:
        blocks.append(Table("most conflicted files (git's diff3 on the mined merges)",
                            ["file", "merges with conflicts", "conflict regions"],
                            [[c["path"], f"{c['merges']:,}", f"{c['conflicts']:,}"] for c in conflicted],
                            numeric=(1, 2)))
    elif data["merges"]:
        blocks.append(Note("no mined merge conflicted"))
    return blocks
