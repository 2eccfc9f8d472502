"""Sketch-based generation: quality on held-out code the model never saw, and latency.

    python3 bench/bench_sketch.py prepare --workdir /tmp/skc
    python3 bench/bench_sketch.py quality --stdlib /tmp/skc/stdlib [--repos rich,pygls] [--model DIR]
                                          [--max-cases 100] [--beams 2]
    python3 bench/bench_sketch.py latency --repo /tmp/skc/stdlib [--requests 30] [--model DIR]

prepare: the built-in model's corpus: the running Python's standard library
(``sysconfig.get_paths()["stdlib"]``) without its tests, site-packages and generated or demo
folders, copied to WORKDIR/stdlib and indexed (``codeintel index``); then train with the
``codeintel train sketch --holdout 0.1`` command in BENCHMARKS.md.

quality: ``codeintel eval sketch`` (the same code) on (a) the stdlib copy with the split the
built-in model was trained with (``--holdout 0.1 --seed 0``: held-out modules never seen in
training; a note is printed if any case file was seen) and (b) installed packages (site-packages)
the model never saw, each split by module the same way. Prints one table: every variant's exact
match, BLEU-4, CodeBLEU, syntax and dataflow match, edit similarity and parse share per target and
the mean over targets, next to the issue's anchors (copying the BM25 body: ES 20 / BLEU-4 9; the
oracle best body: 35 / 19; target: ES >= 40, BLEU-4 >= 25, sketch ahead of both no-sketch variants).

latency: ``codeintel.sketch.generate`` (what the CLI and the language server call; warm after the
first request) for the docstrings of held-out functions: p50/p95/max wall and thread CPU ms.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_completion import _package  # noqa: E402  (the folder of an installed package)

SKIP_TOP = {"site-packages", "test", "__pycache__", "turtledemo", "ensurepip", "lib-dynload"}
SKIP_ANY = {"tests", "test", "__pycache__", "idle_test"}
METRICS = ("exact_match", "bleu4", "codebleu", "syntax_match", "dataflow_match", "edit_similarity", "parse_share")
ANCHORS = {"copy_retrieved (anchor)": {"edit_similarity": 20, "bleu4": 9},
           "oracle_best_body (anchor)": {"edit_similarity": 35, "bleu4": 19},
           "target": {"edit_similarity": 40, "bleu4": 25}}


def prepare(workdir: Path) -> Path:
    src = Path(sysconfig.get_paths()["stdlib"])
    dst = workdir / "stdlib"
    shutil.rmtree(dst, ignore_errors=True)
    count = 0
    for path in sorted(src.rglob("*.py")):
        rel = path.relative_to(src)
        if rel.parts[0] in SKIP_TOP or rel.parts[0].startswith("config-") or SKIP_ANY & set(rel.parts[:-1]):
            continue
        target = dst / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
        count += 1
    subprocess.run([sys.executable, "-m", "codeintel", "index", str(dst), "--no-history", "--quiet"], check=True)
    print(f"{count} files of {src} copied to {dst} and indexed")
    return dst


def _predictor(model_dir):
    from codeintel.models.registry import active_model, read_model_dir
    from codeintel.sketch.model import load_predictor

    info = read_model_dir(model_dir, "sketch", "given") if model_dir else active_model("sketch", None)
    if info is None or not info.usable:
        return None, None
    return load_predictor(info), info


def quality(args) -> dict:
    import tempfile

    from codeintel.sketch.evaluate import evaluate_repository, leak_note

    predictor, info = _predictor(args.model)
    targets = []
    if args.stdlib:
        targets.append(("stdlib (held-out modules)", Path(args.stdlib)))
    for name in [r for r in args.repos.split(",") if r]:
        source = _package(name)
        tmp = Path(tempfile.mkdtemp(prefix=f"bench-sketch-{name}-")) / name
        shutil.copytree(source, tmp, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        targets.append((name, tmp))
    results = {}
    for label, root in targets:
        started = time.perf_counter()
        report = evaluate_repository(root, holdout=args.holdout, max_cases=args.max_cases, seed=args.seed,
                                     predictor=predictor, n_beams=args.beams)
        notes = list(report.notes)
        if info is not None:
            note = leak_note(info.meta, report.held_out_files) if label.startswith("stdlib") else None
            if note:
                notes.append(note)
        results[label] = {"cases": report.cases, "held_out_files": len(report.held_out_files),
                          "seconds": round(time.perf_counter() - started, 1), "metrics": report.metrics,
                          "notes": notes}
        print(f"{label}: {report.cases} cases from {len(report.held_out_files)} held-out files in "
              f"{results[label]['seconds']}s; " + "; ".join(notes), file=sys.stderr)
    _print_table(results)
    return {"model": str(info.path) if info else None, "beams": args.beams, "max_cases": args.max_cases,
            "seed": args.seed, "holdout": args.holdout, "targets": results}


def _print_table(results: dict) -> None:
    variants = []
    for r in results.values():
        variants += [v for v in r["metrics"] if v not in variants]
    header = f"{'variant':28}" + "".join(f"{m:>16}" for m in METRICS)
    for label, r in results.items():
        print(f"\n## {label} ({r['cases']} cases)")
        print(header)
        for v in variants:
            m = r["metrics"].get(v)
            if m:
                print(f"{v:28}" + "".join(f"{m[k]:>16.2f}" for k in METRICS))
    if len(results) > 1:
        print(f"\n## mean over {len(results)} targets")
        print(header)
        for v in variants:
            rows = [r["metrics"][v] for r in results.values() if v in r["metrics"]]
            print(f"{v:28}" + "".join(f"{statistics.mean(m[k] for m in rows):>16.2f}" for k in METRICS))
    for name, anchor in ANCHORS.items():
        print(f"{name:28}" + "".join(f"{anchor[k]:>16}" if k in anchor else f"{'':>16}" for k in METRICS))


def latency(args) -> dict:
    import resource

    from codeintel.sketch import generate
    from codeintel.sketch.mine import cases_from_store
    from codeintel.store import Store, store_path

    root = Path(args.repo)
    if args.model:          # generate() takes the active model: make this one the built-in one
        if Path(args.model).name != "sketch":
            raise SystemExit("--model: give a folder named sketch")
        os.environ["CODEINTEL_BUILTIN_MODELS"] = str(Path(args.model).resolve().parent)
    with Store.open(store_path(root), create=False) as store:
        cases = cases_from_store(store)[::7][:args.requests + 1]
    walls, cpus, sources = [], [], set()
    for n, case in enumerate(cases):
        t0, c0 = time.perf_counter(), time.thread_time()
        result = generate(root, case.requirement, signature=case.signature, n_beams=args.beams)
        if n:                       # the first request loads the model
            walls.append(1000 * (time.perf_counter() - t0))
            cpus.append(1000 * (time.thread_time() - c0))
        sources.add(result.source)

    def pct(values, q):
        values = sorted(values)
        return round(values[min(len(values) - 1, int(q * len(values)))], 1)

    out = {"requests": len(walls), "beams": args.beams, "sources": sorted(sources),
           "wall_ms": {"p50": pct(walls, 0.5), "p95": pct(walls, 0.95), "max": round(max(walls), 1)},
           "cpu_ms": {"p50": pct(cpus, 0.5), "p95": pct(cpus, 0.95), "max": round(max(cpus), 1)},
           "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    print(json.dumps(out, indent=2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--workdir", default="/tmp/skc")
    q = sub.add_parser("quality")
    q.add_argument("--stdlib", default=None, help="The indexed stdlib copy from `prepare`.")
    q.add_argument("--repos", default="rich,pygls", help="Installed packages (comma-separated).")
    q.add_argument("--model", default=None, help="A sketch model folder (default: the built-in one).")
    q.add_argument("--max-cases", type=int, default=100)
    q.add_argument("--beams", type=int, default=2)
    q.add_argument("--holdout", type=float, default=0.1)
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", default=None, help="Also write the results to this file.")
    lat = sub.add_parser("latency")
    lat.add_argument("--repo", required=True)
    lat.add_argument("--requests", type=int, default=30)
    lat.add_argument("--beams", type=int, default=4)
    lat.add_argument("--model", default=None)
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(Path(args.workdir))
    elif args.command == "quality":
        data = quality(args)
        if args.json:
            Path(args.json).write_text(json.dumps(data, indent=2))
    else:
        latency(args)


if __name__ == "__main__":
    main()
