"""The Merges section: the merge driver's decisions (resolved or left, confidence, patterns,
why it abstained) and how often what it resolved was later kept.

"Kept" is well defined when the merge was committed and mined: each decision records the git
blob ids of the base, ours and theirs it merged and its hunk's position among the file's
conflicts (``region``); the mined merge scenario of the same path whose three texts have those
blob ids is the merge it took part in. Its committed result is localized per conflict region
exactly as the training data is (``codeintel.merge.corpus``: git's diff3 hunks, bookends),
and a resolved hunk counts as kept when the developer's committed lines equal the driver's
(trailing whitespace aside), changed otherwise. A hunk the driver left is "resolved by hand"
once its merge is found. When several mined merges have the same three blobs (a merge amended
or redone), the latest is taken. Decisions without blob ids (recorded by schema 2) or whose merge is
not in the mined history (not committed yet, indexed before the commit, a rebase) are counted
apart.
"""
from __future__ import annotations

from collections import Counter

from .. import format as fmt
from ..blocks import Bars, Facts, Note, Table

NAME = "merges"
TITLE = "Merges"
BINS = 10
RECENT = 10
KEPT, CHANGED, UNKNOWN, BY_HAND = "kept", "changed", "not localized", "resolved by hand"
UNMATCHED, UNTRACKED = "merge not in the mined history", "recorded without blob ids"
OUTCOME_ORDER = {KEPT: "good", CHANGED: "bad", BY_HAND: "neutral", UNKNOWN: "neutral", UNMATCHED: "neutral",
                 UNTRACKED: "neutral"}


def _blob(text) -> str:
    from indexer.files import git_blob_id

    return git_blob_id((text or "").encode("utf-8", "surrogateescape"))


def _lines(text: str) -> list[str]:
    from codeintel.merge.diff3 import split_lines

    return [line.rstrip() for line in split_lines(text)]


def outcomes(decisions: list[dict], scenarios: list[dict]) -> list[str]:
    """The outcome of each decision (same order), see the module doc."""
    from codeintel.merge.corpus import examples_from_texts

    by_sides: dict[tuple, list[dict]] = {}
    for sc in scenarios:
        if sc["ours"] is None or sc["theirs"] is None or sc["result"] is None:
            continue
        key = (sc["path"], _blob(sc["base"]), _blob(sc["ours"]), _blob(sc["theirs"]))
        by_sides.setdefault(key, []).append(sc)
    regions: dict[tuple, list] = {}
    out = []
    for d in decisions:
        if not d.get("ours_blob") or not d.get("theirs_blob") or d.get("region") is None:
            out.append(UNTRACKED)
            continue
        key = (d["path"], d["base_blob"] or _blob(""), d["ours_blob"], d["theirs_blob"])
        found = by_sides.get(key)
        if not found:
            out.append(UNMATCHED)
            continue
        sc = found[-1]   # the latest: an amended or redone merge leaves the earlier one in the store
        where = (sc["merge"], sc["path"])
        if where not in regions:
            regions[where] = [ex.resolution for ex in examples_from_texts(
                sc["base"], sc["ours"], sc["theirs"], sc["result"], path=sc["path"], token_labels=False)]
        committed = regions[where]
        if d["region"] >= len(committed) or committed[d["region"]] is None:
            out.append(UNKNOWN)
        elif not d["resolved"]:
            out.append(BY_HAND)
        else:
            out.append(KEPT if _lines(committed[d["region"]]) == _lines(d["resolution"] or "") else CHANGED)
    return out


def _histogram(decisions: list[dict]) -> dict:
    bins = {"resolved": [0] * BINS, "left": [0] * BINS}
    for d in decisions:
        if d["confidence"] is None:
            continue
        k = min(BINS - 1, max(0, int(d["confidence"] * BINS)))
        bins["resolved" if d["resolved"] else "left"][k] += 1
    labels = [f"{k / BINS:.1f}-{(k + 1) / BINS:.1f}" for k in range(BINS)]
    return {"bins": labels, **bins}


def collect(ctx) -> dict:
    store = ctx.store
    decisions = store.merge_decision_rows()
    paths = sorted({d["path"] for d in decisions})
    results = outcomes(decisions, store.merge_scenarios_at(paths)) if decisions else []
    patterns: dict[str, Counter] = {}
    for d in decisions:
        for p in filter(None, (d["patterns"] or "").split(",")):
            patterns.setdefault(p, Counter())["resolved" if d["resolved"] else "left"] += 1
    resolved = sum(1 for d in decisions if d["resolved"])
    tally = Counter(results)
    judged = tally[KEPT] + tally[CHANGED]
    return {
        "scenarios": store.merge_scenario_totals(),
        "decisions": {"total": len(decisions), "resolved": resolved, "left": len(decisions) - resolved,
                      "files": len(paths), "first_at": decisions[0]["at"] if decisions else None,
                      "last_at": decisions[-1]["at"] if decisions else None,
                      "via": dict(Counter(d["via"] for d in decisions).most_common()),
                      "models": dict(Counter(d["model"] or "none" for d in decisions).most_common())},
        "confidence": _histogram(decisions),
        "patterns": [{"pattern": p, "resolved": c["resolved"], "left": c["left"]}
                     for p, c in sorted(patterns.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))],
        "left_reasons": [{"reason": r, "count": n} for r, n in Counter(
            d["reason"] or "-" for d in decisions if not d["resolved"]).most_common()],
        "outcomes": {name: tally[name] for name in OUTCOME_ORDER if tally[name]},
        "kept_rate": round(tally[KEPT] / judged, 4) if judged else None,
        "recent": [{"at": d["at"], "path": d["path"], "region": d["region"], "resolved": bool(d["resolved"]),
                    "patterns": d["patterns"], "confidence": d["confidence"], "outcome": o}
                   for d, o in list(zip(decisions, results))[-RECENT:][::-1]],
    }


def layout(data: dict) -> list:
    sc = data["scenarios"]
    blocks = [Facts([("mined merges", f"{sc['merges']:,}"), ("files merged on both sides", f"{sc['files']:,}"),
                     ("conflicting", f"{sc['conflicting_files']:,}"), ("conflict regions", f"{sc['conflicts']:,}")])]
    d = data["decisions"]
    if not d["total"]:
        blocks.append(Note("the merge driver has made no decisions here yet "
                           "(`codeintel install-merge-driver`, then merge as usual)"))
        return blocks
    blocks.append(Facts([("driver decisions", f"{d['total']:,}"), ("resolved", f"{d['resolved']:,}"),
                         ("left to the user", f"{d['left']:,}"), ("files", f"{d['files']:,}"),
                         ("period", f"{fmt.day(d['first_at'])} .. {fmt.day(d['last_at'])}")]))
    o = data["outcomes"]
    kept, changed = o.get(KEPT, 0), o.get(CHANGED, 0)
    if kept + changed:
        blocks.append(Note(f"later kept: {kept} of {kept + changed} resolved hunks whose merge was committed "
                           f"({fmt.percent(kept, kept + changed)}); {changed} changed by the developer",
                           "good" if kept >= changed else "warn"))
    blocks.append(Bars("what became of each decision", list(o), [[n] for n in o.values()], ["decisions"],
                       [f"{n:,}" for n in o.values()], tones=[OUTCOME_ORDER[name] for name in o]))
    conf = data["confidence"]
    blocks.append(Bars("confidence", conf["bins"], [[r, l] for r, l in zip(conf["resolved"], conf["left"])],
                       ["resolved", "left"], [f"{r + l:,}" for r, l in zip(conf["resolved"], conf["left"])]))
    if data["patterns"]:
        blocks.append(Table("by pattern", ["pattern", "resolved", "left"],
                            [[p["pattern"], f"{p['resolved']:,}", f"{p['left']:,}"] for p in data["patterns"]],
                            numeric=(1, 2)))
    if data["left_reasons"]:
        blocks.append(Table("why conflicts were left", ["reason", "hunks"],
                            [[r["reason"], f"{r['count']:,}"] for r in data["left_reasons"]], numeric=(1,)))
    blocks.append(Table("latest decisions", ["when", "file", "hunk", "decision", "confidence", "outcome"],
                        [[fmt.moment(r["at"]), r["path"], "-" if r["region"] is None else str(r["region"] + 1),
                          ("resolved " if r["resolved"] else "left ") + (r["patterns"] or ""),
                          "-" if r["confidence"] is None else f"{r['confidence']:.2f}", r["outcome"]]
                         for r in data["recent"]], numeric=(2, 4), more=max(0, d["total"] - len(data["recent"]))))
    return blocks
