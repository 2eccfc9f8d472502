"""The syntax-aware merge (``codeintel.merge.structured``, issue #24 section 1) measured two ways.

    python3 bench/bench_structured_merge.py [--examples DIR] [--corpus DIR] [--no-corpus] [--json OUT]

1. Mergiraf's own test cases (``shared/corpora/merge/mergiraf-examples``), for the folders of the
   languages we have grammars for (java, spork = Java, rust, python, typescript, javascript, go, c,
   cpp): each case's Base/Left/Right merged whole as one file. A case whose expected output still
   has conflict markers is one to leave: None there is right, a text is wrong. Otherwise a text equal
   to ``Expected`` (``ExpectedIdeally`` in ``failing/``) is exact, equal after collapsing whitespace
   is whitespace-equal, anything else is wrong, None is left. Folders of other languages are
   counted as skipped (no grammar).
2. The real conflict regions of the merge corpus (``shared/corpora/merge/*.jsonl.gz``) of those
   languages: the region merged with its context lines, compared with the developer's resolution as
   ``codeintel eval merge`` compares (``squash``); precision (right / answered) and coverage
   (answered / all), per language, beside token-level diff3 on the same regions.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codeintel.merge.structured import structured_merge  # noqa: E402

SHARED = ROOT.parent / "shared" / "corpora" / "merge"
FOLDERS = {"java": "java", "spork": "java", "rust": "rust", "python": "python", "typescript": "typescript",
           "javascript": "javascript", "go": "go", "c": "c", "cpp": "cpp"}
CORPUS_LANGUAGES = {"Python": "python", "Go": "go", "Java": "java", "Rust": "rust", "TypeScript": "typescript",
                    "JavaScript": "javascript", "C++": "cpp", "C": "c"}
MARKER = re.compile(r"^<{7}", re.M)


def _ws(text: str) -> str:
    return " ".join(text.split())


def _case_files(case: Path) -> dict[str, Path]:
    return {p.stem: p for p in case.iterdir() if p.is_file()}


def mergiraf_examples(root: Path) -> dict:
    rows: dict[str, Counter] = defaultdict(Counter)
    skipped: Counter = Counter()
    details = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        for status in ("working", "failing"):
            for case in sorted((folder / status).glob("*")) if (folder / status).is_dir() else []:
                if folder.name not in FOLDERS:
                    skipped[f"{folder.name} (no grammar)"] += 1
                    continue
                files = _case_files(case)
                want = files.get("Expected") or files.get("ExpectedIdeally")
                if not all(k in files for k in ("Base", "Left", "Right")) or want is None:
                    skipped[f"{folder.name} (incomplete case)"] += 1
                    continue
                try:
                    base, left, right, expected = (files[k].read_text("utf-8") if k != "want" else
                                                   want.read_text("utf-8") for k in ("Base", "Left", "Right", "want"))
                except UnicodeDecodeError:
                    skipped[f"{folder.name} (not UTF-8)"] += 1
                    continue
                path = files["Left"].name
                start = time.perf_counter()
                got = structured_merge(base, left, right, path)
                seconds = time.perf_counter() - start
                row = rows[f"{folder.name}/{status}"]
                row["cases"] += 1
                if MARKER.search(expected):
                    outcome = "left, as expected (conflict)" if got is None else "wrong (expected a conflict)"
                elif got is None:
                    outcome = "left"
                elif got == expected:
                    outcome = "exact"
                elif _ws(got) == _ws(expected):
                    outcome = "whitespace-equal"
                else:
                    outcome = "wrong"
                row[outcome] += 1
                details.append({"case": f"{folder.name}/{status}/{case.name}", "outcome": outcome,
                                "seconds": round(seconds, 4)})
    return {"rows": {k: dict(v) for k, v in sorted(rows.items())}, "skipped": dict(skipped), "cases": details}


def corpus_regions(root: Path) -> dict:
    from codeintel.merge.corpus import read_corpus
    from codeintel.merge.patterns import squash

    stats: dict[str, Counter] = defaultdict(Counter)
    seconds = 0.0
    slowest = 0.0
    for ex in read_corpus(root, languages=list(CORPUS_LANGUAGES)):
        if ex.resolution is None:
            continue
        lang = CORPUS_LANGUAGES.get(ex.language or "")
        if lang is None:
            continue
        row = stats[lang]
        row["regions"] += 1
        want = squash(ex.resolution)
        start = time.perf_counter()
        got = structured_merge(ex.base, ex.ours, ex.theirs, ex.path, context_before=ex.context_before,
                               context_after=ex.context_after)
        took = time.perf_counter() - start
        seconds += took
        slowest = max(slowest, took)
        if got is not None:
            row["structured answered"] += 1
            row["structured right"] += squash(got) == want
        token = ex.hunk_plan().candidate
        if token is not None:
            row["diff3 answered"] += 1
            row["diff3 right"] += squash(token) == want
            if got is not None:
                row["both answered"] += 1
        if got is not None and token is None:
            row["structured only"] += 1
            row["structured only right"] += squash(got) == want
    total = Counter()
    for row in stats.values():
        total.update(row)
    stats["all"] = total
    out = {}
    for lang, row in sorted(stats.items(), key=lambda kv: -kv[1]["regions"]):
        n = row["regions"]
        r = dict(row)
        for who in ("structured", "diff3"):
            a, c = row[f"{who} answered"], row[f"{who} right"]
            r[f"{who} precision"] = round(c / a, 3) if a else None
            r[f"{who} coverage"] = round(a / n, 3) if n else None
            r[f"{who} accuracy"] = round(c / n, 3) if n else None
        out[lang] = r
    return {"languages": out, "seconds": round(seconds, 1), "slowest_s": round(slowest, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--examples", type=Path, default=SHARED / "mergiraf-examples")
    ap.add_argument("--corpus", type=Path, default=SHARED)
    ap.add_argument("--no-corpus", action="store_true")
    ap.add_argument("--json", type=Path, help="write every number (and each case's outcome) here")
    ap.add_argument("--show", action="store_true", help="list each Mergiraf case's outcome")
    args = ap.parse_args(argv)
    result = {}
    if args.examples.is_dir():
        ex = mergiraf_examples(args.examples)
        result["mergiraf"] = ex
        print("Mergiraf examples (whole files):")
        cols = ["cases", "exact", "whitespace-equal", "wrong", "left", "left, as expected (conflict)",
                "wrong (expected a conflict)"]
        print("  " + " | ".join(["folder"] + cols))
        total = Counter()
        for name, row in ex["rows"].items():
            total.update(row)
            print("  " + " | ".join([name] + [str(row.get(c, 0)) for c in cols]))
        print("  " + " | ".join(["all"] + [str(total.get(c, 0)) for c in cols]))
        print("  skipped:", ", ".join(f"{k}: {v}" for k, v in sorted(ex["skipped"].items())))
        if args.show:
            for c in ex["cases"]:
                print(f"    {c['outcome']:<32} {c['case']}")
    else:
        print(f"no Mergiraf examples at {args.examples}: skipped")
    if not args.no_corpus and args.corpus.is_dir():
        reg = corpus_regions(args.corpus)
        result["corpus"] = reg
        print(f"\nCorpus conflict regions ({reg['seconds']} s in structured_merge, slowest {reg['slowest_s']} s):")
        print("  language | regions | structured: answered right precision coverage | "
              "token diff3: answered right precision coverage | structured right where diff3 gives none")
        for lang, r in reg["languages"].items():
            print(f"  {lang} | {r['regions']} | {r.get('structured answered', 0)} {r.get('structured right', 0)} "
                  f"{r['structured precision']} {r['structured coverage']} | {r.get('diff3 answered', 0)} "
                  f"{r.get('diff3 right', 0)} {r['diff3 precision']} {r['diff3 coverage']} | "
                  f"{r.get('structured only right', 0)}/{r.get('structured only', 0)}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
