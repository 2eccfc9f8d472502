"""Training the learned chooser (``chooser.py``): candidate tables from merge examples (cached on
disk per corpus file), a gradient-boosted model fitted with scikit-learn (the ``ml`` extra), its
export to numpy arrays, the threshold set on validation repositories, and the metrics.

A table has one row per (region, candidate): the features (``chooser_features.FEATURES``), whether
the candidate is what the developer committed (ignoring whitespace), and the region it belongs to.
Regions without a known resolution are skipped. The cache key is the corpus file's path, size and
modification time plus the feature layout, so a changed corpus or feature set recomputes.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional, Sequence

import numpy as np

from .candidates import GENERATORS, candidates, correct, region_of_example
from .chooser import ARCHITECTURE, ARRAYS, TreeEnsemble
from .chooser_features import FEATURES, feature_rows, language_group

LAYOUT = hashlib.sha1(json.dumps([FEATURES, GENERATORS, 3]).encode()).hexdigest()[:12]


@dataclass
class Table:
    x: np.ndarray            # (rows, features)
    y: np.ndarray            # (rows,) 1 = the developer's resolution
    region: np.ndarray       # (rows,) region number, 0..n_regions-1
    repos: list[str]         # per region
    languages: list[str]     # per region: the corpus's language, else the path's group
    labels: list[str]        # per region: the corpus's line-level label

    @property
    def n_regions(self) -> int:
        return len(self.repos)

    def subset(self, keep_regions: np.ndarray) -> "Table":
        keep_regions = np.asarray(keep_regions, dtype=bool)
        rows = keep_regions[self.region]
        renumber = np.cumsum(keep_regions) - 1
        pick = [i for i, k in enumerate(keep_regions) if k]
        return Table(self.x[rows], self.y[rows], renumber[self.region[rows]],
                     [self.repos[i] for i in pick], [self.languages[i] for i in pick],
                     [self.labels[i] for i in pick])


def concat(tables: Sequence[Table]) -> Table:
    offset, regions = 0, []
    for t in tables:
        regions.append(t.region + offset)
        offset += t.n_regions
    nf = len(FEATURES)
    return Table(np.concatenate([t.x for t in tables]) if tables else np.zeros((0, nf)),
                 np.concatenate([t.y for t in tables]) if tables else np.zeros(0),
                 np.concatenate(regions) if tables else np.zeros(0, dtype=np.int64),
                 [r for t in tables for r in t.repos], [g for t in tables for g in t.languages],
                 [lab for t in tables for lab in t.labels])


def table_of_examples(examples: Iterable, use_syntax: bool = True, parse: bool = True) -> Table:
    xs, ys, regions, repos, languages, labels = [], [], [], [], [], []
    for ex in examples:
        if ex.resolution is None:
            continue
        region = region_of_example(ex)
        cands = candidates(region, use_syntax)
        if not cands:
            continue
        n = len(repos)
        xs.append(feature_rows(region, cands, parse))
        ys.append(np.array([correct(c, ex.resolution) for c in cands], dtype=np.float64))
        regions.append(np.full(len(cands), n))
        repos.append(ex.repo or "")
        languages.append(ex.language or language_group(ex.path))
        labels.append(ex.label or "")
    if not xs:
        return concat([])
    return Table(np.concatenate(xs), np.concatenate(ys), np.concatenate(regions), repos, languages, labels)


def _cache_name(path: Path) -> str:
    st = path.stat()
    key = f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}:{LAYOUT}"
    return hashlib.sha1(key.encode()).hexdigest()[:20] + ".npz"


def _table_of_file(args) -> Table:
    path, cache_dir = args
    from .corpus import read_corpus

    path = Path(path)
    cached = Path(cache_dir) / _cache_name(path) if cache_dir else None
    if cached and cached.is_file():
        with np.load(cached, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return Table(data["x"], data["y"], data["region"], meta["repos"], meta["languages"], meta["labels"])
    table = table_of_examples(read_corpus([path]))
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(".tmp.npz")
        np.savez_compressed(tmp, x=table.x, y=table.y, region=table.region,
                            meta=json.dumps({"repos": table.repos, "languages": table.languages,
                                             "labels": table.labels}))
        os.replace(tmp, cached)
    return table


def table_of_files(paths: Sequence, cache_dir: Optional[Path] = None, workers: int = 1) -> Table:
    """The table of corpus files (each cached in ``cache_dir`` when given), ``workers`` processes."""
    from .corpus import corpus_files

    files = corpus_files(list(paths))
    jobs = [(str(f), str(cache_dir) if cache_dir else None) for f in files]
    if workers > 1 and len(jobs) > 1:
        from multiprocessing import get_context
        with get_context("spawn").Pool(workers) as pool:
            tables = pool.map(_table_of_file, jobs, chunksize=1)
    else:
        tables = [_table_of_file(j) for j in jobs]
    return concat(tables)


# ------------------------------------------------------------------------------- fitting
@dataclass
class ChooserSettings:
    max_iter: int = 400
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 20
    l2_regularization: float = 1.0
    seed: int = 13
    target_precision: float = 0.90


def fit(train: Table, settings: ChooserSettings, val: Optional[Table] = None):
    """A fitted scikit-learn HistGradientBoostingClassifier (needs the ``ml`` extra)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    model = HistGradientBoostingClassifier(
        max_iter=settings.max_iter, learning_rate=settings.learning_rate, max_leaf_nodes=settings.max_leaf_nodes,
        min_samples_leaf=settings.min_samples_leaf, l2_regularization=settings.l2_regularization,
        early_stopping=False, random_state=settings.seed)
    model.fit(train.x, train.y.astype(int))
    return model


def export(model) -> tuple[dict, float]:
    """The fitted model's trees as flat arrays (``chooser.ARRAYS``) and its baseline score."""
    feats, thrs, lefts, rights, leaves, values, miss, starts = [], [], [], [], [], [], [], []
    offset = 0
    for (predictor,) in model._predictors:        # binary classification: one tree per iteration
        nodes = predictor.nodes
        if np.any(nodes["is_categorical"]):
            raise ValueError("categorical splits cannot be exported")
        starts.append(offset)
        feats.append(nodes["feature_idx"].astype(np.int32))
        thrs.append(nodes["num_threshold"].astype(np.float64))
        lefts.append(nodes["left"].astype(np.int32) + offset)
        rights.append(nodes["right"].astype(np.int32) + offset)
        leaves.append(nodes["is_leaf"].astype(np.uint8))
        values.append(nodes["value"].astype(np.float64))
        miss.append(nodes["missing_go_to_left"].astype(np.uint8))
        offset += len(nodes)
    arrays = dict(zip(ARRAYS, (np.concatenate(feats), np.concatenate(thrs), np.concatenate(lefts),
                               np.concatenate(rights), np.concatenate(leaves), np.concatenate(values),
                               np.concatenate(miss), np.array(starts, dtype=np.int32))))
    baseline = float(np.ravel(model._baseline_prediction)[0])
    return arrays, baseline


# ------------------------------------------------------------------------------- metrics
def region_best(table: Table, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per region: the best score and whether the best-scored candidate is right."""
    n = table.n_regions
    best = np.full(n, -np.inf)
    right = np.zeros(n, dtype=bool)
    order = np.lexsort((-scores, table.region))        # by region, best first
    first = np.ones(len(order), dtype=bool)
    first[1:] = table.region[order][1:] != table.region[order][:-1]
    top = order[first]
    best[table.region[top]] = scores[top]
    right[table.region[top]] = table.y[top] > 0
    return best, right


def metrics_at(best: np.ndarray, right: np.ndarray, threshold: float) -> dict:
    n = len(best)
    chosen = best >= threshold
    resolved = int(chosen.sum())
    good = int((chosen & right).sum())
    return {"accuracy": round(good / n, 4) if n else None, "precision": round(good / resolved, 4) if resolved else None,
            "coverage": round(resolved / n, 4) if n else None, "regions": n, "resolved": resolved, "correct": good}


def pick_threshold(best: np.ndarray, right: np.ndarray, target: float, min_resolved: int = 30) -> float:
    """The lowest threshold whose precision is at least ``target`` at it and at every higher
    threshold with ``min_resolved`` regions resolved (validation repositories)."""
    order = np.argsort(-best)
    b, r = best[order], right[order]
    prec = np.cumsum(r) / np.arange(1, len(r) + 1)
    ok_from = len(b)
    for i in range(len(b)):
        if i + 1 >= min_resolved and prec[i] < target:
            ok_from = i
            break
    # every prefix shorter than ok_from keeps precision >= target (past min_resolved); the cut
    # must leave out the first region past it and every region tied with it
    if ok_from >= len(b):
        return float(max(0.0, min(1.0, b[-1]))) if len(b) else 1.0
    above = b[:ok_from][b[:ok_from] > b[ok_from]]
    return float(min(1.0, above.min())) if len(above) else 1.0


def breakdown(table: Table, best: np.ndarray, right: np.ndarray, threshold: float, key: str) -> dict:
    values = table.repos if key == "repo" else table.languages
    out = {}
    for v in sorted(set(values)):
        mask = np.array([x == v for x in values])
        out[v] = metrics_at(best[mask], right[mask], threshold)
    return out


def save(out_dir: Path, arrays: dict, baseline: float, threshold: float, meta: dict,
         settings: ChooserSettings) -> None:
    """Write the model folder (safetensors + config + data card), replacing it whole."""
    import shutil
    import tempfile

    from safetensors.numpy import save_file

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    os.chmod(tmp, 0o755)
    save_file(arrays, str(tmp / "model.safetensors"))
    config = {"architecture": ARCHITECTURE, "baseline": baseline, "threshold": round(threshold, 6),
              "features": list(FEATURES), "generators": list(GENERATORS), "syntax": True, "parse": True,
              "trees": int(len(arrays["tree_start"])), "nodes": int(len(arrays["feature"])),
              "settings": settings.__dict__}
    (tmp / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    TreeEnsemble(arrays, baseline, len(FEATURES))          # refuse to save what cannot load
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)


__all__ = ["ChooserSettings", "Table", "breakdown", "concat", "export", "fit", "metrics_at", "pick_threshold",
           "region_best", "save", "table_of_examples", "table_of_files"]


# ------------------------------------------------------------------------------- one training run
def split_tables(table: Table, test_repos: Sequence[str], val_repos: Sequence[str]) -> tuple[Table, Table, Table]:
    """(train, val, test) by repository; without validation repositories 1 region in 5 of the
    training repositories validates."""
    repos = np.array(table.repos, dtype=object)
    test = np.isin(repos, list(test_repos)) if test_repos else np.zeros(len(repos), bool)
    val = np.isin(repos, list(val_repos)) if val_repos else (np.arange(len(repos)) % 5 == 0) & ~test
    return table.subset(~test & ~val), table.subset(val), table.subset(test)


def region_report(table: Table, scores: np.ndarray, threshold: float) -> dict:
    best, right = region_best(table, scores)
    out = metrics_at(best, right, threshold)
    out["threshold"] = threshold
    out["threshold_0"] = metrics_at(best, right, 0.0)
    out["by_repo"] = breakdown(table, best, right, threshold, "repo")
    out["by_language"] = breakdown(table, best, right, threshold, "language")
    return out


def train_chooser(train: Table, val: Table, test: Table, out_dir: Path, settings: ChooserSettings, meta: dict,
                  threshold: Optional[float] = None) -> dict:
    """Fit, export, set the threshold on ``val`` (precision >= ``settings.target_precision``) unless
    given, check that the numpy trees give the library's probabilities, save; the summary."""
    import time

    start = time.perf_counter()
    model = fit(train, settings)
    seconds = time.perf_counter() - start
    arrays, baseline = export(model)
    trees = TreeEnsemble(arrays, baseline, len(FEATURES))
    check = val.x[:2000] if len(val.y) else train.x[:2000]
    gap = float(np.max(np.abs(trees.predict(check) - model.predict_proba(check)[:, 1]))) if len(check) else 0.0
    if gap > 1e-6:
        raise RuntimeError(f"the exported trees differ from the fitted model by {gap}")
    val_scores = trees.predict(val.x) if len(val.y) else np.zeros(0)
    if threshold is None:
        best, right = region_best(val, val_scores)
        threshold = pick_threshold(best, right, settings.target_precision) if len(best) else 0.5
    summary = {"model": str(out_dir), "seconds": round(seconds, 1), "threshold": round(threshold, 6),
               "numpy_vs_library_max_gap": gap,
               "counts": {"train_regions": train.n_regions, "val_regions": val.n_regions,
                          "test_regions": test.n_regions, "train_rows": int(len(train.y))},
               "val": region_report(val, val_scores, threshold) if val.n_regions else None}
    if test.n_regions:
        summary["test"] = region_report(test, trees.predict(test.x), threshold)
    card = {**meta, "counts": summary["counts"], "threshold": summary["threshold"],
            "metrics": {"val": summary["val"], **({"test": summary["test"]} if "test" in summary else {})},
            "training": {"seconds": summary["seconds"], "trees": int(len(arrays["tree_start"])),
                         "nodes": int(len(arrays["feature"])), "settings": settings.__dict__}}
    save(out_dir, arrays, baseline, threshold, card, settings)
    return summary
