"""Benchmark of the report (codeintel.report): this script owns measuring how long each section
takes to collect from the store and each output to render, on a large store, against the
summary `codeintel stats` reads (``Store.stats()``) on the same store as the named baseline.

Given ``--repo PATH`` (an indexed repository) it reports that; otherwise it synthesises a store
with ``--commits N`` commits (default 50,000) by 500 authors, 4 changed files each over 3,000
paths, a two-parent merge every 20 commits with a conflicting scenario (real base/ours/theirs/
result texts), and ``--decisions`` merge-driver decisions (default 2,000), half of them on
those merges' blobs so that matching them to the committed result does its real work.
Prints one table of median seconds over ``--runs`` runs (default 5).

    python3 bench/bench_report.py [--commits 50000] [--decisions 2000] [--runs 5] [--repo PATH]
"""
from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeintel.report import SECTION_NAMES, build_report, render_html, render_sarif, render_text  # noqa: E402
from codeintel.store import Store, store_path  # noqa: E402
from indexer.files import git_blob_id  # noqa: E402


def _texts(i: int) -> tuple[str, str, str, str]:
    head = f"import os\n\n\ndef handler_{i}(request):\n    value = request.get('k{i}')\n"
    tail = f"    return value\n\n\ndef other_{i}():\n    return {i}\n"
    base, ours, theirs = (head + f"    result = {call}\n" + tail for call in
                          (f"compute(value, {i})", f"compute_fast(value, {i})", f"compute(value, {i} + 1)"))
    return base, ours, theirs, ours


def synthesise(root: Path, commits: int, decisions: int, seed: int = 1) -> None:
    rnd = random.Random(seed)
    rows, merged = [], []
    for i in range(commits):
        author = rnd.randrange(500)
        cm = {"sha": f"{i:040x}", "parents": ["a"], "author_name": f"Author {author}",
              "author_email": f"a{author}@example.com", "authored_at": 1.5e9 + i * 3000,
              "committed_at": 1.5e9 + i * 3000, "message": "change", "files_changed": 4, "insertions": 10,
              "deletions": 3, "files": [{"path": f"src/f{rnd.randrange(3000)}.py", "change": "M"} for _ in range(4)]}
        if i % 20 == 0:
            base, ours, theirs, result = _texts(i)
            path = f"src/m{i}.py"
            cm["parents"] = ["a", "b"]
            cm["merge_scenarios"] = [{"path": path, "ours_sha": "a", "theirs_sha": "b", "base": base, "ours": ours,
                                      "theirs": theirs, "result": result, "conflicts": 1}]
            merged.append((path, base, ours, theirs))
        rows.append(cm)
    with Store.open(store_path(root)) as store:
        store.write_commits(rows)
        out = []
        for k in range(decisions):
            if k % 2 == 0 and merged:
                path, base, ours, theirs = merged[(k // 2) % len(merged)]
                blobs = [git_blob_id(t.encode()) for t in (base, ours, theirs)]
                resolution = ours.splitlines(True)[5]
            else:
                path, blobs, resolution = f"src/x{k}.py", ["1" * 40, "2" * 40, "3" * 40], "x\n"
            out.append({"at": 1.5e9 + k, "path": path, "hunk": 1, "region": 0, "resolved": k % 3 != 0,
                        "patterns": "A", "confidence": rnd.random(), "reason": "confident", "via": "merge-driver",
                        "base_blob": blobs[0], "ours_blob": blobs[1], "theirs_blob": blobs[2],
                        "resolution": resolution})
        store.record_merge_decisions(out)


def median_seconds(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path)
    ap.add_argument("--commits", type=int, default=50_000)
    ap.add_argument("--decisions", type=int, default=2_000)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    root = args.repo
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="codeintel-bench-report-"))
        start = time.perf_counter()
        synthesise(root, args.commits, args.decisions)
        print(f"synthesised {args.commits:,} commits and {args.decisions:,} decisions in "
              f"{time.perf_counter() - start:.1f}s at {root}")

    def stats():
        with Store.open(store_path(root), create=False) as store:
            store.stats()

    rows = [("baseline: Store.stats() (codeintel stats)", median_seconds(stats, args.runs))]
    for name in SECTION_NAMES:
        rows.append((f"section {name}", median_seconds(lambda: build_report(root, [name]), args.runs)))
    report = build_report(root)
    rows.append(("build_report (all sections)", median_seconds(lambda: build_report(root), args.runs)))

    def text():
        from rich.console import Console

        render_text(report, Console(file=io.StringIO(), width=100, color_system=None))

    rows += [("render_text", median_seconds(text, args.runs)),
             ("render_html", median_seconds(lambda: render_html(report), args.runs)),
             ("render_sarif", median_seconds(lambda: render_sarif(report), args.runs))]
    print(f"\n{'step':<44} {'median s':>9}")
    for name, seconds in rows:
        print(f"{name:<44} {seconds:>9.3f}")
    m = report["sections"]["merges"]
    print(f"\nmerge decisions {m['decisions']['total']:,}, outcomes {m['outcomes']}")


if __name__ == "__main__":
    main()
