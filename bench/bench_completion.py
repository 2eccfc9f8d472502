"""Completion: quality on held-out files of real repositories the model never saw, and latency.

    python3 bench/bench_completion.py quality [--repos rich,click,git,pygments,flask] [--model DIR] [--ranker DIR | --no-ranker]
    python3 bench/bench_completion.py finetune [--repos rich,pygments] [--train-seeds N] [--ranker DIR]
    python3 bench/bench_completion.py ngram [--root /usr/lib/python3.11]
    python3 bench/bench_completion.py latency [--repo rich] [--requests 200] [--model DIR] [--ranker DIR | --no-ranker]

quality: for each repository (packages installed in site-packages, split by repository; none
is in the built-in model's training corpus, the CPython standard library) it runs the same
evaluation as ``codeintel eval completion`` (held-out files, the context index built on a copy
without them, seeded holes) and prints one table: each predictor's exact match, edit similarity
and identifier F1 on the rest of the line, per repository and the mean over repositories
(the figure to compare with the issue's anchors: best model-free 24 % rest-of-line exact match).

finetune: the built-in ranker against one fine-tuned on the repository (``codeintel train
completion-ranker`` on a copy without the held-out files, starting from the built-in ranker), on
the same held-out cases.

ngram: the repository's n-gram model on a large tree (the standard library by default): built
from the index, then loaded from its cache, each in a fresh process (time, resident memory
added), beside the dense vectors built from the same index.

latency: ``complete()`` (what the language server calls; the session is warm after the first
request) at seeded random points of the repository's own files, >= 200 requests: p50/p95/max
in ms (wall clock, and the CPU time of the calling thread, which a machine shared with other jobs
inflates less), and the process's resident memory with the model loaded. Backends: the model-free
answer (the ranked candidates with the built-in ranker, or the matcher's order with --no-ranker)
and, with a model, the FiD model.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_REPOS = "rich,click,git,pygments,flask,jsonschema,mpmath"


def _package(name: str) -> Path:
    """The folder of an installed package (its source is the repository evaluated)."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{name}: not an installed package")
    return Path(list(spec.submodule_search_locations)[0])


def _predictor(model_dir):
    if not model_dir:
        return None
    from codeintel.completion.fid import load_predictor
    from codeintel.models.registry import read_model_dir

    info = read_model_dir(model_dir, "completion", "given")
    if not info.usable:
        raise SystemExit(f"{model_dir}: {info.problem}")
    return load_predictor(info)


def _ranker_dir(args) -> "Path | None":
    """The completion ranker the run uses: --ranker DIR, else the built-in one (none with --no-ranker)."""
    from codeintel.models.registry import builtin_dir

    if args.no_ranker:
        return None
    path = Path(args.ranker) if args.ranker else builtin_dir("completion-ranker")
    return path if (path / "model.safetensors").is_file() else None


def quality(args) -> dict:
    from codeintel.completion.evaluate import evaluate_repository
    from codeintel.completion.ranker import Ranker

    model = _predictor(args.model)
    ranker_dir = _ranker_dir(args)
    ranker = Ranker.load(ranker_dir, str(ranker_dir)) if ranker_dir else None
    print(f"ranker: {ranker_dir or 'none'}", file=sys.stderr)
    results = {}
    for name in args.repos.split(","):
        started = time.perf_counter()
        report = evaluate_repository(_package(name), holdout=args.holdout, max_files=args.max_files,
                                     per_file=args.per_file, max_cases=args.max_cases, seed=args.seed, model=model,
                                     ranker=ranker)
        results[name] = {"cases": report.cases, "held_out_files": len(report.held_out_files),
                         "metrics": report.metrics, "seconds": round(time.perf_counter() - started, 1)}
        print(f"{name}: {report.cases} cases from {len(report.held_out_files)} held-out files "
              f"({results[name]['seconds']}s)", file=sys.stderr)
    predictors = list(next(iter(results.values()))["metrics"])
    header = f"{'predictor':<20}" + "".join(f"{r:>20}" for r in results) + f"{'mean':>20}"
    print("rest-of-line exact match / edit similarity / identifier F1 (all cases)")
    print(header)
    means = {}
    for p in predictors:
        cells, em, es, f1 = [], [], [], []
        for r in results.values():
            m = r["metrics"][p]["all"]
            cells.append(f"{m['exact_match']:.3f}/{m['edit_similarity']:.3f}/{m['identifier_f1']:.3f}")
            em.append(m["exact_match"]), es.append(m["edit_similarity"]), f1.append(m["identifier_f1"])
        means[p] = {"exact_match": round(statistics.mean(em), 4), "edit_similarity": round(statistics.mean(es), 4),
                    "identifier_f1": round(statistics.mean(f1), 4)}
        mean = means[p]
        print(f"{p:<20}" + "".join(f"{c:>20}" for c in cells)
              + f"{mean['exact_match']:.3f}/{mean['edit_similarity']:.3f}/{mean['identifier_f1']:.3f}".rjust(20))
    print("\nby group (all repositories pooled: exact match / edit similarity, n cases)")
    groups = ("test_files", "non_test_files", "cross_file_lines", "in_file_lines")
    print(f"{'predictor':<20}" + "".join(f"{g:>20}" for g in groups))
    for p in predictors:
        cells = []
        for g in groups:
            rows = [r["metrics"][p][g] for r in results.values() if g in r["metrics"][p]]
            n = sum(x["n"] for x in rows)
            if not n:
                cells.append("-")
                continue
            em = sum(x["exact_match"] * x["n"] for x in rows) / n
            es = sum(x["edit_similarity"] * x["n"] for x in rows) / n
            cells.append(f"{em:.3f}/{es:.3f} n={n}")
        print(f"{p:<20}" + "".join(f"{c:>20}" for c in cells))
    return {"repos": results, "mean": means}


def finetune(args) -> dict:
    """The built-in ranker against one fine-tuned on the repository, on the same held-out cases.
    The repository ranker is trained (``codeintel train completion-ranker``, starting from the
    built-in one) on a copy of the repository without the evaluation's held-out files."""
    from codeintel.completion.evaluate import evaluate_repository, held_out_cases
    from codeintel.completion.ranker import Ranker

    builtin_dir = _ranker_dir(args)
    if builtin_dir is None:
        raise SystemExit("finetune needs a ranker to start from (the built-in one, or --ranker DIR)")
    rows = {}
    for name in args.repos.split(","):
        source = _package(name)
        held, _ = held_out_cases(source, holdout=args.holdout, max_files=args.max_files, per_file=args.per_file,
                                 max_cases=args.max_cases, seed=args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            copy = Path(tmp) / name
            shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
            for rel in held:
                (copy / rel).unlink(missing_ok=True)
            builtin = Path(tmp) / "builtin"
            shutil.copytree(builtin_dir, builtin / "completion-ranker")
            out = Path(tmp) / "tuned"
            env = {**os.environ, "CODEINTEL_BUILTIN_MODELS": str(builtin), "PYTHONPATH": str(ROOT)}
            started = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "codeintel", "train", "completion-ranker", "--repo", str(copy),
                                   "--output", str(out), "--seeds", str(args.train_seeds), "--json"],
                                  env=env, capture_output=True, text=True)
            if proc.returncode:
                raise SystemExit(f"{name}: training failed: {proc.stderr.strip()}")
            trained = json.loads(proc.stdout)
            seconds = round(time.perf_counter() - started, 1)
            row = {"train_seconds": seconds, "counts": trained["counts"], "val": trained["val"],
                   "kept_base_weights": trained["kept_base_weights"]}
            for label, directory in (("built-in", builtin / "completion-ranker"), ("fine-tuned", out)):
                report = evaluate_repository(source, holdout=args.holdout, max_files=args.max_files,
                                             per_file=args.per_file, max_cases=args.max_cases, seed=args.seed,
                                             ranker=Ranker.load(directory, label))
                row[label] = report.metrics["ranked"]["all"]
                row["cases"] = report.cases
            rows[name] = row
    print(f"{'repository':<12}{'cases':>6}{'built-in EM/ES':>18}{'fine-tuned EM/ES':>20}{'train/val holes':>18}{'train s':>9}  kept the built-in weights")
    for name, r in rows.items():
        b, f = r["built-in"], r["fine-tuned"]
        print(f"{name:<12}{r['cases']:>6}{b['exact_match']:>11.3f}/{b['edit_similarity']:.3f}"
              f"{f['exact_match']:>13.3f}/{f['edit_similarity']:.3f}"
              f"{str(r['counts']['train']) + '/' + str(r['counts']['val']):>18}{r['train_seconds']:>9}  {'yes' if r['kept_base_weights'] else 'no'}")
    return rows


_NGRAM_PROBE = """
import json, sys, time, psutil
from pathlib import Path
from codeintel.store import Store, store_path
from codeintel.completion.ngram import repository_lm
from codeintel.retrieval.dense import DenseIndex
root, what = Path(sys.argv[1]), sys.argv[2]
proc = psutil.Process()
with Store.open(store_path(root), create=False) as store:
    before, started = proc.memory_info().rss, time.perf_counter()
    if what == "dense":
        built = DenseIndex.build(store, None); size = len(built)
    else:
        built = repository_lm(store, "python", cache_dir=root / ".codeintel"); size = len(built)
    print(json.dumps({"seconds": round(time.perf_counter() - started, 2), "size": size,
                      "rss_mib": round((proc.memory_info().rss - before) / 2**20, 1)}))
"""


def ngram(args) -> dict:
    """The repository's n-gram model on a large repository: building it from the index (a fresh
    process each time), then loading it from its cache; the dense vectors built from the same index
    in the same run, for reference (the other thing a completion session builds)."""
    from codeintel.store import Store, store_path
    from indexer.pipeline import index_repository

    source = Path(args.root)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / source.name
        shutil.copytree(source, root, ignore=shutil.ignore_patterns("__pycache__", "site-packages",
                                                                   "dist-packages", ".codeintel"))
        index_repository(root, history=False, workers=2)
        env = {**os.environ, "PYTHONPATH": str(ROOT)}

        def probe(what: str) -> dict:
            out = subprocess.run([sys.executable, "-c", _NGRAM_PROBE, str(root), what], env=env,
                                 capture_output=True, text=True, check=True)
            return json.loads(out.stdout)

        dense = probe("dense")
        build = probe("ngram")
        cache = root / ".codeintel" / "ngram_python.safetensors"
        load = probe("ngram")
        with Store.open(store_path(root), create=False) as store:
            chunks = store.count_chunks()
        out = {"root": str(source), "chunks": chunks, "tokens": build["size"], "build": build, "load": load,
               "cache_mib": round(cache.stat().st_size / 2**20, 1), "dense_build": dense}
    print(f"{source}: {chunks:,} chunks, {build['size']:,} tokens")
    print(f"{'step':<34}{'seconds':>9}{'RSS added':>12}")
    print(f"{'n-gram model, built from the index':<34}{build['seconds']:>9}{build['rss_mib']:>9} MiB")
    print(f"{'n-gram model, loaded from cache':<34}{load['seconds']:>9}{load['rss_mib']:>9} MiB")
    print(f"{'dense vectors, built (reference)':<34}{dense['seconds']:>9}{dense['rss_mib']:>9} MiB")
    print(f"cache file: {out['cache_mib']} MiB")
    return out


def latency(args) -> dict:
    import psutil

    from codeintel.completion import complete
    from codeintel.config import CompletionSettings
    from codeintel.completion.cursor import random_cuts
    from indexer.pipeline import index_repository

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / args.repo
        shutil.copytree(_package(args.repo), root, ignore=shutil.ignore_patterns("__pycache__"))
        index_repository(root, history=False, workers=1)
        if args.model:
            target = root / ".codeintel" / "models" / "completion"
            shutil.copytree(args.model, target)
        ranker_dir = _ranker_dir(args)                      # before the built-in folder is redirected
        builtin = Path(tmp) / "builtin"                     # only what this run puts there
        builtin.mkdir()
        os.environ["CODEINTEL_BUILTIN_MODELS"] = str(builtin)
        if ranker_dir:
            shutil.copytree(ranker_dir, builtin / "completion-ranker")
        rng = random.Random(args.seed)
        files = sorted(p for p in root.rglob("*.py") if ".codeintel" not in p.parts)
        requests = []
        while len(requests) < args.requests:
            path = rng.choice(files)
            text = path.read_text("utf-8")
            for cut in random_cuts(text, 3, rng):
                requests.append((path.relative_to(root).as_posix(), text, cut.index + 1, cut.column))
        requests = requests[:args.requests]
        settings = CompletionSettings(max_new_tokens=args.max_new_tokens)
        complete(root, *requests[0], n=1, settings=settings)      # warm: index, dense vectors, model
        times, cpu, sources = [], [], {}
        for rel, text, line, col in requests:
            started, started_cpu = time.perf_counter(), time.thread_time()
            found = complete(root, rel, text, line, col, n=1, settings=settings)
            times.append(1000 * (time.perf_counter() - started))
            cpu.append(1000 * (time.thread_time() - started_cpu))
            for s in found[:1]:
                sources[s.source] = sources.get(s.source, 0) + 1
        times.sort()
        cpu.sort()
        rss = psutil.Process().memory_info().rss / 2**20
        out = {"repo": args.repo, "requests": len(times), "p50_ms": round(statistics.median(times), 1),
               "p95_ms": round(times[int(0.95 * (len(times) - 1))], 1), "max_ms": round(times[-1], 1),
               "cpu_p50_ms": round(statistics.median(cpu), 1), "cpu_p95_ms": round(cpu[int(0.95 * (len(cpu) - 1))], 1),
               "load_average_1min": round(os.getloadavg()[0], 2), "rss_mib": round(rss, 1), "first_suggestion_sources": sources,
               "model": args.model or "none (fallback)", "ranker": str(ranker_dir) if ranker_dir else None}
        print(f"{args.repo}: {out['requests']} requests, p50 {out['p50_ms']} ms, p95 {out['p95_ms']} ms, "
              f"max {out['max_ms']} ms (CPU time of the request's thread: p50 {out['cpu_p50_ms']} ms, p95 "
              f"{out['cpu_p95_ms']} ms; load average {out['load_average_1min']}), RSS {out['rss_mib']} MiB, "
              f"sources {sources}")
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--repos", default=DEFAULT_REPOS)
    q.add_argument("--model", default=None)
    q.add_argument("--holdout", type=float, default=0.2)
    q.add_argument("--max-files", type=int, default=20)
    q.add_argument("--per-file", type=int, default=15)
    q.add_argument("--max-cases", type=int, default=200)
    q.add_argument("--seed", type=int, default=0)
    ft = sub.add_parser("finetune")
    ft.add_argument("--repos", default="rich,pygments")
    for option, default in (("--holdout", 0.2), ("--max-files", 20), ("--per-file", 15), ("--max-cases", 200),
                            ("--seed", 0)):
        ft.add_argument(option, type=type(default), default=default)
    ft.add_argument("--train-seeds", type=int, default=1, help="The training command's --seeds (hole cuts of the repository).")
    ng = sub.add_parser("ngram")
    ng.add_argument("--root", default=str(Path(os.__file__).parent), help="A large Python tree (default: the stdlib).")
    lat = sub.add_parser("latency")
    lat.add_argument("--repo", default="rich")
    lat.add_argument("--requests", type=int, default=200)
    lat.add_argument("--model", default=None)
    lat.add_argument("--max-new-tokens", type=int, default=24)
    lat.add_argument("--seed", type=int, default=0)
    for p in (q, ft, ng, lat):
        p.add_argument("--json", default=None, help="Also write the results to this file.")
        p.add_argument("--ranker", default=None, help="A completion-ranker folder (default: the built-in one).")
        p.add_argument("--no-ranker", action="store_true", help="Without a ranker (the matcher's own order).")
    args = parser.parse_args()
    result = {"quality": quality, "finetune": finetune, "ngram": ngram, "latency": latency}[args.what](args)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
