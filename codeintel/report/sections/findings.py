"""The Findings section: what a code-scanning user would act on in the indexed files today:
conflict markers left in a file (a merge committed or saved unresolved) and files that parse
only in part. These are also the results of the SARIF log (``--sarif``)."""
from __future__ import annotations

from ..blocks import Note, Table

NAME = "findings"
TITLE = "Findings"
LIMIT = 200


def conflict_markers(store) -> list[dict]:
    """One finding per conflict left in an indexed file, with its line span."""
    from codeintel.merge.markers import parse_conflicts

    out = []
    for path, content in store.files_containing(b"<<<<<<<"):
        text = content.decode("utf-8", "replace")
        line = 1
        for seg in parse_conflicts(text):
            lines = seg.text.count("\n")
            if seg.conflict:
                last = line + max(0, lines - (1 if seg.text.endswith("\n") else 0))
                out.append({"path": path, "line": line, "end_line": last,
                            "ours": len(seg.ours), "theirs": len(seg.theirs), "labels": list(seg.labels)})
            line += lines
    return out


def collect(ctx) -> dict:
    markers = conflict_markers(ctx.store)
    partial = [p for p in ctx.store.file_problems() if p["status"] == "partial"]
    return {"conflict_markers": markers[:LIMIT], "conflict_markers_total": len(markers),
            "partial_files": [{"path": p["path"], "language": p["language"], "reason": p["reason"],
                               "errors": p["error_count"], "line": p["first_error_line"]} for p in partial[:LIMIT]],
            "partial_total": len(partial)}


def layout(data: dict) -> list:
    blocks = []
    markers = data["conflict_markers"]
    if markers:
        blocks.append(Table(f"conflict markers left ({data['conflict_markers_total']})", ["where", "lines"],
                            [[f"{m['path']}:{m['line']}", f"{m['line']}-{m['end_line']}"] for m in markers],
                            more=data["conflict_markers_total"] - len(markers)))
    else:
        blocks.append(Note("no conflict markers in the indexed files", "good"))
    partial = data["partial_files"]
    if partial:
        blocks.append(Table(f"files that parse only in part ({data['partial_total']})", ["where", "problem"],
                            [[f"{p['path']}:{p['line'] or 1}", p["reason"] or "-"] for p in partial],
                            more=data["partial_total"] - len(partial)))
    return blocks


def sarif_results(data: dict) -> list[dict]:
    out = []
    for m in data["conflict_markers"]:
        out.append({"rule": "codeintel/conflict-markers", "path": m["path"], "line": m["line"],
                    "end_line": m["end_line"],
                    "message": f"Unresolved merge conflict: conflict markers left on lines {m['line']}-{m['end_line']} "
                               f"({m['ours']} line(s) of ours, {m['theirs']} of theirs).",
                    "fingerprint": f"{m['path']}:{m['ours']}:{m['theirs']}:{m['labels']}"})
    for p in data["partial_files"]:
        out.append({"rule": "codeintel/partial-parse", "path": p["path"], "line": p["line"] or 1,
                    "end_line": p["line"] or 1,
                    "message": f"{p['language'] or 'This file'} is indexed only in part: {p['reason']}. "
                               "Symbols after the error may be missing from search, references and completion.",
                    "fingerprint": f"{p['path']}:{p['reason']}"})
    return out
