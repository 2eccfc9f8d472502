"""Benchmark of plagiarism detection quality (``codeintel eval clones --pairs``): this script
owns building an original/candidate pairs set from a labelled corpus (POJ-104's valid split
by default: problems 65-80, C/C++) and reporting ROC-AUC per obfuscation level for every
scorer (TF-IDF, winnowing, fragment similarity and, with ``--model DIR`` or when a clones
model is active, the learned encoder's cosine).

For ``--programs`` originals (default 400, seeded), candidates are made with the tree-sitter
transformations of ``codeintel.clones.transform`` at four levels: ``light`` (comments, blank
lines), ``renamed`` (+ every declared name renamed), ``medium`` (+ dead code, if/else
swapped) and ``heavy`` (+ for->while, adjacent declarations reordered); ``held-out`` applies
only the two transformations the built-in model never trained on (for->while, reordering), so
its column says whether the model learned more than our augmenter. Negatives are an
independent solution of the same problem (the hard case), one per original. The files and
pairs.csv are written to ``--out`` (kept) or a temp folder, so the same set can be given to
other tools.

    nice python3 bench/bench_clone_pairs.py [--data POJ.jsonl.gz] [--split valid] [--programs 400] [--out DIR]
                                            [--model DIR | --no-model]
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeintel.clones.evaluate import evaluate_pairs, model_scorers, read_pairs  # noqa: E402
from codeintel.models.registry import active_model  # noqa: E402
from codeintel.clones.transform import disguise  # noqa: E402

LEVELS = {"light": ["comments"], "renamed": ["rename", "comments"],
          "medium": ["rename", "comments", "dead_code", "if_swap"],
          "heavy": ["rename", "reorder", "for_while", "if_swap", "dead_code", "comments"],
          "held-out": ["for_while", "reorder"]}
DEFAULT_DATA = str(Path(__file__).resolve().parent.parent.parent / "shared" / "corpora" / "clones" / "poj104_train_valid.jsonl.gz")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--split", default="valid")
    ap.add_argument("--language", default="cpp")
    ap.add_argument("--programs", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--model", type=Path, default=None, help="clones model folder (default: the active one)")
    ap.add_argument("--no-model", action="store_true")
    args = ap.parse_args()
    info = None if args.no_model or args.model else active_model("clones", None)
    model_dir = None if args.no_model else args.model or (info.path if info else None)
    extra = model_scorers(model_dir)[1] if model_dir else {}
    by_label = defaultdict(list)
    with gzip.open(args.data, "rt", encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec.get("split") == args.split:
                by_label[rec["label"]].append(rec)
    rng = random.Random(args.seed)
    pool = [r for recs in by_label.values() for r in recs]
    originals = rng.sample(pool, min(args.programs, len(pool)))
    out = args.out or Path(tempfile.mkdtemp(prefix="clone-pairs-"))
    out.mkdir(parents=True, exist_ok=True)
    ext = ".cpp" if args.language == "cpp" else "." + args.language
    rows = ["original,candidate,is_plagiarism,level"]
    for n, rec in enumerate(originals):
        orig = f"p{n:04d}/original{ext}"
        (out / orig).parent.mkdir(exist_ok=True)
        src = rec["code"].encode()
        (out / orig).write_bytes(src)
        for level, names in LEVELS.items():
            cand = f"p{n:04d}/{level}{ext}"
            (out / cand).write_bytes(disguise(src, args.language, names, random.Random(rng.random())))
            rows.append(f"{orig},{cand},1,{level}")
        other = rng.choice([r for r in by_label[rec["label"]] if r["id"] != rec["id"]])
        neg = f"p{n:04d}/independent{ext}"
        (out / neg).write_bytes(other["code"].encode())
        rows.append(f"{orig},{neg},0,")
    (out / "pairs.csv").write_text("\n".join(rows) + "\n")
    started = time.perf_counter()
    result = evaluate_pairs(read_pairs(str(out / "pairs.csv"), str(out)), str(out), extra=extra)
    seconds = time.perf_counter() - started
    print(f"{len(originals)} originals from {args.data} ({args.split}), {result['pairs']} pairs, "
          f"negatives: an independent solution of the same problem; {seconds:.1f} s; files in {out}"
          + (f"; model {model_dir}" if model_dir else ""))
    levels = list(LEVELS)
    print(f"\n{'scorer':<12}" + "".join(f"{lv:>10}" for lv in levels) + f"{'macro':>10}")
    for name, s in result["scores"].items():
        print(f"{name:<12}" + "".join(f"{s['roc_auc'][lv]:>10.3f}" for lv in levels) + f"{s['macro']:>10.3f}")


if __name__ == "__main__":
    main()
