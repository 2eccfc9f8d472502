"""The Models section: for each learned feature the model it uses (this repository's own or
the built-in one), its size and headline metrics, or what the feature falls back to; and what
of the repository's own settings and models is ignored because the user has not trusted it."""
from __future__ import annotations

from pathlib import Path

from .. import format as fmt
from ..blocks import Note, Table

NAME = "models"
TITLE = "Models"


def _where(path: Path, root: Path) -> str:
    try:
        return Path(path).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


HEADLINE = ("precision", "accuracy", "coverage", "exact_match", "edit_similarity", "map_at_r", "f1")


def headline(metrics: dict, limit: int = 3) -> list[list]:
    """The held-out (``test``) figures when there are, the well-known ones first, and the best
    named baseline on the first of them."""
    scores = metrics.get("test") if isinstance(metrics.get("test"), dict) else metrics
    flat = {k: v for k, v in scores.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
    keys = [k for k in HEADLINE if k in flat] + [k for k in flat if k not in HEADLINE]
    out = [[k, flat[k]] for k in keys[:limit]]
    baselines = metrics.get("baselines")
    if out and isinstance(baselines, dict):
        first = out[0][0]
        scored = [(b[first], name) for name, b in baselines.items()
                  if isinstance(b, dict) and isinstance(b.get(first), (int, float))]
        if scored:
            value, name = max(scored)
            out.append([f"best baseline ({name}) {first}", value])
    return out


def collect(ctx) -> dict:
    from codeintel.config import repository_trust
    from codeintel.models.registry import FALLBACKS, FEATURES, list_models

    found = list_models(ctx.root)
    features = []
    for feature in FEATURES:
        mine = [info for info in found if info.feature == feature]
        active = next((info for info in mine if info.active), None)
        row = {"feature": feature, "active": None, "fallback": None if active else FALLBACKS.get(feature),
               "skipped": [{"path": _where(i.path, ctx.root), "reason": i.problem} for i in mine if not i.usable]}
        if active:
            row["active"] = {"source": active.source, "path": _where(active.path, ctx.root),
                             "size_bytes": active.size_bytes, "parameters": active.parameters,
                             "date": active.meta.get("date"),
                             "metrics": headline(active.metrics)}
        features.append(row)
    return {"features": features, "trust": repository_trust(ctx.root)}


def layout(data: dict) -> list:
    rows = []
    for row in data["features"]:
        a = row["active"]
        if a:
            params = fmt.parameters(a["parameters"])
            metrics = ", ".join(f"{name} {value:.3g}" for name, value in a["metrics"]) or "-"
            where = a["source"] if a["source"] == "built-in" else f"{a['source']}: {a['path']}"
            rows.append([row["feature"], where, fmt.size(a["size_bytes"]), params, metrics])
        else:
            rows.append([row["feature"], "none", "-", "-", f"falls back to {row['fallback']}"])
    blocks = [Table("learned features", ["feature", "model", "size", "parameters", "held-out metrics"],
                    rows, numeric=(2, 3))]
    for note in data.get("trust", {}).get("ignored", []):
        blocks.append(Note(note, "warn"))
    for row in data["features"]:
        for s in row["skipped"]:
            blocks.append(Note(f"{row['feature']}: skipped {s['path']}: {s['reason']}", "warn"))
    return blocks
