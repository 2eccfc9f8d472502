"""The Index section: what the indexer holds per language and symbol kind, and every file it
skipped or indexed only in part, grouped by reason (with counts and a few examples)."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath

from .. import format as fmt
from ..blocks import Bars, Facts, Note, Table

NAME = "index"
TITLE = "Index"
UNSUPPORTED = "not a supported language"
EXAMPLES = 3


def reason_group(reason: str) -> str:
    """The kind of a file's problem without its particulars: ``over the size limit (2,100,000
    bytes > 1,048,576)`` and ``3 syntax errors, first at line 12`` become ``over the size limit``
    and ``syntax errors``."""
    text = re.sub(r"\s*\([^)]*\)", "", reason).split(",")[0]
    text = re.sub(r"\s+at (byte|line) [\d,]+", "", text)
    text = re.sub(r"^[\d,]+\s+", "", text).strip()
    if text == "syntax error":
        text = "syntax errors"
    return text or reason


def group_problems(problems: list[dict]) -> list[dict]:
    """Problems grouped by (status, kind of reason), largest group first."""
    groups: dict[tuple[str, str], list[str]] = {}
    for row in problems:
        for part in (row["reason"] or "no reason recorded").split("; "):
            groups.setdefault((row["status"], reason_group(part)), []).append(row["path"])
    out = [{"status": status, "reason": reason, "count": len(paths), "examples": paths[:EXAMPLES]}
           for (status, reason), paths in groups.items()]
    return sorted(out, key=lambda g: (-g["count"], g["status"], g["reason"]))


def collect(ctx) -> dict:
    store = ctx.store
    stats = store.stats()
    totals = store.file_totals()
    problems = store.file_problems()
    unsupported = [p for p in problems if p["reason"] == UNSUPPORTED]
    suffixes = Counter(PurePosixPath(p["path"]).suffix or "(none)" for p in unsupported)
    by_status = totals["by_status"]
    return {
        "files": {"listed": sum(by_status.values()), "indexed": by_status.get("ok", 0),
                  "partial": by_status.get("partial", 0),
                  "skipped": by_status.get("skipped", 0) - len(unsupported), "unsupported": len(unsupported),
                  "indexed_bytes": totals["indexed_bytes"]},
        "languages": store.language_totals(),
        "symbol_kinds": store.symbol_kind_totals(),
        "imports": stats["imports"], "references": stats["references"], "chunks": stats["chunks"],
        "problems": group_problems([p for p in problems if p["reason"] != UNSUPPORTED]),
        "unsupported_by_suffix": dict(suffixes.most_common(8)),
    }


def layout(data: dict) -> list:
    f = data["files"]
    blocks = [Facts([("files", f"{f['listed']:,} listed"), ("indexed", f"{f['indexed'] + f['partial']:,}"),
                     ("with problems", f"{f['partial']:,}"), ("skipped", f"{f['skipped']:,}"),
                     ("other languages", f"{f['unsupported']:,}"), ("code", fmt.size(f["indexed_bytes"]))]),
              Facts([("symbols", f"{sum(data['symbol_kinds'].values()):,}"), ("imports", f"{data['imports']:,}"),
                     ("references", f"{data['references']:,}"), ("search chunks", f"{data['chunks']:,}")])]
    langs = data["languages"]
    if langs:
        blocks.append(Table("languages", ["language", "files", "bytes", "lines", "symbols", "with problems"],
                            [[r["language"], f"{r['files']:,}", fmt.size(r["bytes"]), f"{r['lines']:,}",
                              f"{r['symbols']:,}", f"{r['partial']:,}"] for r in langs], numeric=(1, 2, 3, 4, 5)))
        blocks.append(Bars("code per language", [r["language"] for r in langs], [[r["bytes"]] for r in langs],
                           ["bytes"], [fmt.size(r["bytes"]) for r in langs]))
    else:
        blocks.append(Note("no file in a supported language was indexed", "warn"))
    kinds = data["symbol_kinds"]
    if kinds:
        blocks.append(Bars("symbols per kind", list(kinds), [[v] for v in kinds.values()], ["symbols"],
                           [f"{v:,}" for v in kinds.values()]))
    problems = data["problems"]
    if problems:
        blocks.append(Table("skipped or indexed in part, by reason", ["status", "reason", "files", "for example"],
                            [[g["status"], g["reason"], f"{g['count']:,}", ", ".join(g["examples"])
                              + (" …" if g["count"] > len(g["examples"]) else "")] for g in problems],
                            numeric=(2,)))
    else:
        blocks.append(Note("no file was skipped or indexed only in part", "good"))
    if data["unsupported_by_suffix"]:
        blocks.append(Note("not indexed (no supported language): " + ", ".join(
            f"{suffix} {n}" for suffix, n in data["unsupported_by_suffix"].items())))
    return blocks
