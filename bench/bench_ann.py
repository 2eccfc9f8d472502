"""Benchmark of the clone embeddings' nearest-neighbour search (``codeintel.retrieval.ann``):
usearch's HNSW graph against the exact numpy search, on the same vectors in the same run.

Vectors: ``--n`` unit vectors of ``--dim`` dimensions, seeded; ``clustered`` (points around
n/20 centres, as embeddings of code with many near-copies are) and ``uniform`` (Gaussian
directions: the hardest case for a graph). Queries: ``--queries`` of the vectors moved a
little (noise 0.05), so each has true near neighbours. For each: build time, query time per
1,000 queries and recall@10 of the graph against the exact top 10 at several search
expansions (ef; the index uses 128), and the file size and load time of ``save``/``load``.

    nice python3 bench/bench_ann.py [--n 100000] [--dim 128] [--queries 1000]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from codeintel.retrieval.ann import VectorIndex, unit_rows  # noqa: E402


EXPANSIONS = [64, 128, 256, 512]   # search-time expansion (ef) tried on the same graph; 128 is the default


def vectors_of(kind: str, n: int, dim: int, rng) -> np.ndarray:
    if kind == "uniform":
        return unit_rows(rng.standard_normal((n, dim)))
    centres = rng.standard_normal((max(1, n // 20), dim))
    return unit_rows(centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, dim)))


def run(kind: str, n: int, dim: int, n_queries: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    data = vectors_of(kind, n, dim, rng)
    queries = unit_rows(data[rng.integers(0, n, n_queries)] + 0.05 * rng.standard_normal((n_queries, dim)))
    keys = np.arange(n, dtype=np.int64)
    rows = []
    t = time.perf_counter()
    exact = VectorIndex.build(keys, data, exact_below=n + 1)
    build_exact = time.perf_counter() - t
    t = time.perf_counter()
    want, _ = exact.search(queries, 10)
    query_exact = time.perf_counter() - t
    rows.append({"data": kind, "backend": "exact numpy", "build_s": build_exact,
                 "ms_per_1000_queries": 1000 * query_exact * 1000 / n_queries, "recall@10": 1.0})
    t = time.perf_counter()
    graph = VectorIndex.build(keys, data, exact_below=1)
    build_graph = time.perf_counter() - t
    for ef in EXPANSIONS:
        graph._graph.expansion_search = ef
        t = time.perf_counter()
        got, _ = graph.search(queries, 10)
        query_graph = time.perf_counter() - t
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(got.tolist(), want.tolist())]))
        rows.append({"data": kind, "backend": f"usearch ef={ef}", "build_s": build_graph,
                     "ms_per_1000_queries": 1000 * query_graph * 1000 / n_queries, "recall@10": recall})
    graph._graph.expansion_search = graph.settings["expansion_search"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "index.ann"
        t = time.perf_counter()
        graph.save(path)
        save_s = time.perf_counter() - t
        size = os.path.getsize(path)
        t = time.perf_counter()
        VectorIndex.load(path)
        load_s = time.perf_counter() - t
    rows[-1 - EXPANSIONS[::-1].index(graph.settings["expansion_search"])].update(
        save_s=save_s, load_s=load_s, file_mb=size / 1e6)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", choices=["clustered", "uniform", "both"], default="both")
    args = ap.parse_args()
    kinds = ["clustered", "uniform"] if args.data == "both" else [args.data]
    print(f"{args.n:,} vectors, {args.dim} dimensions, {args.queries} queries, k = 10, {os.cpu_count()} cores")
    print(f"{'data':<10} {'backend':<15} {'build s':>8} {'ms/1000 q':>10} {'recall@10':>10} {'save s':>7} "
          f"{'load s':>7} {'file MB':>8}")
    for kind in kinds:
        for r in run(kind, args.n, args.dim, args.queries, args.seed):
            extra = (f"{r['save_s']:>7.2f} {r['load_s']:>7.2f} {r['file_mb']:>8.1f}" if "save_s" in r
                     else f"{'-':>7} {'-':>7} {'-':>8}")
            print(f"{r['data']:<10} {r['backend']:<15} {r['build_s']:>8.2f} {r['ms_per_1000_queries']:>10.1f} "
                  f"{r['recall@10']:>10.3f} {extra}", flush=True)


if __name__ == "__main__":
    main()
