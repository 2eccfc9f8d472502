"""The Edits section: what the edits feature learns from (the modified functions of the
history), the model it uses or its fallback, and the places where the edit in the working tree
(against HEAD) applies too, computed now by ``codeintel.edits.propagate``. Those places are
also SARIF results (rule ``codeintel/suggested-edit``)."""
from __future__ import annotations

from ..blocks import Facts, Note, Table

NAME = "edits"
TITLE = "Edits"
LIMIT = 50


def collect(ctx) -> dict:
    from codeintel.edits.propagate import PropagationError, propagate
    from codeintel.models.registry import active_model

    modified = ctx.store.modified_function_count()
    info = active_model("edits", ctx.root)
    model = None
    if info is not None and info.usable:
        model = {"source": info.source, "path": str(info.path), "metrics": info.metrics.get("test", {})}
    suggestions, problem = [], None
    try:
        suggestions = propagate(ctx.root, store=ctx.store)
    except PropagationError as exc:
        problem = str(exc)
    return {"modified_functions": modified, "model": model, "propagation_problem": problem,
            "suggestions_total": len(suggestions),
            "suggestions": [{"path": s.path, "line": s.start_line, "end_line": s.end_line, "qualname": s.qualname,
                             "confidence": s.confidence, "reason": s.reason, "diff": s.diff()}
                            for s in suggestions[:LIMIT]]}


def layout(data: dict) -> list:
    model = data["model"]
    blocks = [Facts([("modified functions in the history", str(data["modified_functions"])),
                     ("suggestions from", f"{model['source']} model" if model
                      else "nearest-neighbour edit transfer (no model trained)")])]
    if data["propagation_problem"]:
        blocks.append(Note(f"edit propagation unavailable: {data['propagation_problem']}", "warn"))
    elif data["suggestions"]:
        blocks.append(Table(f"where your uncommitted edit applies too ({data['suggestions_total']})",
                            ["where", "function", "confidence", "because of"],
                            [[f"{s['path']}:{s['line']}", s["qualname"], f"{s['confidence']:.2f}", s["reason"]]
                             for s in data["suggestions"]], numeric=(2,),
                            more=data["suggestions_total"] - len(data["suggestions"])))
        blocks.append(Note("see the diffs with `codeintel edits propagate`; apply with `--apply N` or `--apply all`"))
    else:
        blocks.append(Note("no other place to repeat an uncommitted edit", "good"))
    return blocks


def sarif_results(data: dict) -> list[dict]:
    return [{"rule": "codeintel/suggested-edit", "path": s["path"], "line": s["line"], "end_line": s["end_line"],
             "message": f"Suggested edit to {s['qualname']} (confidence {s['confidence']:.2f}), from {s['reason']}:\n"
                        + s["diff"],
             "fingerprint": f"{s['path']}:{s['qualname']}:{s['diff']}"} for s in data["suggestions"]]
