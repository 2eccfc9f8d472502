"""The Clones section: groups of near-duplicate functions in the indexed files (the same
search as ``codeintel clones``, with the learned score when a clones model is active), and one SARIF result (rule ``codeintel/clone``) per copy,
pointing at the other copy."""
from __future__ import annotations

from ..blocks import Facts, Note, Table

NAME = "clones"
TITLE = "Clones"
LIMIT = 50


def collect(ctx) -> dict:
    from codeintel.clones.embeddings import learned_encoder
    from codeintel.clones.repo import find_clones

    data = find_clones(ctx.store, encoder=learned_encoder(ctx.root))
    groups = data["groups"]
    return {"threshold": data["threshold"], "min_tokens": data["min_tokens"], "functions": data["functions"],
            "compared": data["compared"], "groups_total": len(groups), "learned_model": data["learned_model"],
            "learned_threshold": data["learned_threshold"],
            "groups": [{"similarity": g["similarity"], "learned_similarity": g["learned_similarity"],
                        "functions": g["functions"],
                        "pairs": [{k: p[k] for k in ("a", "b", "similarity", "learned_similarity")}
                                  for p in g["pairs"]]}
                       for g in groups[:LIMIT]]}


def layout(data: dict) -> list:
    learned = data.get("learned_model") is not None
    either = f" or learned >= {data['learned_threshold']:.2f}" if learned else ""
    blocks = [Facts([("functions", str(data["functions"])),
                     (f"compared ({data['min_tokens']}+ tokens)", str(data["compared"])),
                     (f"groups at similarity >= {data['threshold']:.2f}{either}", str(data["groups_total"]))]
                    + ([("clones model", data["learned_model"])] if learned else []))]
    if not data["groups"]:
        blocks.append(Note("no near-duplicate functions", "good"))
        return blocks
    rows = []
    for n, g in enumerate(data["groups"], 1):
        where = ", ".join(f"{f['qualname']} ({f['path']}:{f['start_line']})" for f in g["functions"][:4])
        if len(g["functions"]) > 4:
            where += f", and {len(g['functions']) - 4} more"
        rows.append([str(n), str(len(g["functions"])), f"{g['similarity']:.2f}"]
                    + ([f"{g['learned_similarity']:.2f}"] if learned else []) + [where])
    blocks.append(Table("near-duplicate functions",
                        ["#", "copies", "similarity"] + (["learned"] if learned else []) + ["functions"], rows,
                        numeric=(0, 1, 2, 3) if learned else (0, 1, 2),
                        more=data["groups_total"] - len(data["groups"])))
    blocks.append(Note("`codeintel clones --json` lists the matched line ranges of every pair", "dim"))
    return blocks


def sarif_results(data: dict) -> list[dict]:
    out = []
    for g in data["groups"]:
        for p in g["pairs"]:
            for here, there in ((p["a"], p["b"]), (p["b"], p["a"])):
                out.append({"rule": "codeintel/clone", "path": here["path"], "line": here["start_line"],
                            "end_line": here["end_line"],
                            "message": f"{here['qualname']} is a near-duplicate ({p['similarity']:.2f}) of "
                                       f"{there['qualname']} in {there['path']}:{there['start_line']}-"
                                       f"{there['end_line']}.",
                            "fingerprint": f"{here['path']}:{here['qualname']}:{there['path']}:{there['qualname']}"})
    return out
