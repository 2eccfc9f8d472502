"""Benchmark: learned edits and edit propagation on real Python histories, time split.

    python bench/bench_edits.py [--corpus DIR] [--holdout psf/requests] [--cut YYYY-MM-DD]
                                [--max-cases N] [--model DIR]

Trains nothing: measures, on the same test cases, the copy baseline, nearest-neighbour edit
transfer and (with ``--model``) a trained edits model; then edit propagation on the test
commits that change several functions. Prints tables and writes the JSON to stdout's end.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeintel.edits.data import default_cut, read_corpus, time_split  # noqa: E402
from codeintel.edits.evaluate import evaluate  # noqa: E402

DEFAULT_CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "edits"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--holdout", default="psf/requests", help="Repository tested on only ('' = none).")
    ap.add_argument("--cut", default=None)
    ap.add_argument("--max-cases", type=int, default=1000)
    ap.add_argument("--model", type=Path, default=None)
    args = ap.parse_args()
    files = sorted(args.corpus.glob("*.jsonl*"))
    if not files:
        print(f"no corpus files in {args.corpus}; nothing to measure", file=sys.stderr)
        return 0
    pairs = read_corpus(files)
    cut = args.cut or default_cut(pairs)
    holdout = {args.holdout} if args.holdout else None
    train, test = time_split(pairs, cut, holdout)
    model = None
    if args.model:
        from codeintel.edits.model import EditPredictor

        model = EditPredictor(args.model)
    started = time.monotonic()
    result = evaluate(train, test, model=model.candidates if model else None,
                      idioms=model.idioms if model else None, max_cases=args.max_cases)
    seconds = time.monotonic() - started
    print(f"corpus: {', '.join(f.name for f in files)}; cut {cut}; held-out repos: {args.holdout or 'none'}; "
          f"train {len(train)} pairs, test {len(test)} pairs; {seconds:.0f} s")
    print(f"\n{'system':<20}{'size':<8}{'cases':>6}{'top-1':>8}{'top-5':>8}{'top-10':>8}{'edit sim':>10}")
    for system, buckets in result["suggestion"].items():
        if system == "seconds":
            continue
        for bucket in ("small", "medium", "all"):
            s = buckets.get(bucket)
            if s:
                print(f"{system:<20}{bucket:<8}{s['cases']:>6}{s['exact_match_top1']:>8.1%}{s['exact_match_top5']:>8.1%}"
                      f"{s['exact_match_top10']:>8.1%}{s['edit_similarity']:>10.3f}")
    prop = result["propagation"]
    print(f"\npropagation: {prop['commits']} test commits with several changed functions, "
          f"{prop['functions_to_predict']} functions to predict, {prop['distractors_per_commit']} distractors each")
    print(f"{'threshold':>10}{'predicted':>11}{'correct':>9}{'precision':>11}{'recall':>9}")
    for row in prop["curve"]:
        p = "-" if row["precision"] is None else f"{row['precision']:.1%}"
        r = "-" if row["recall"] is None else f"{row['recall']:.1%}"
        print(f"{row['threshold']:>10}{row['predicted']:>11}{row['correct']:>9}{p:>11}{r:>9}")
    print(json.dumps({"cut": cut, "holdout": args.holdout, "train": len(train), "test": len(test), **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
