"""``codeintel eval sketch``: held-out evaluation of sketch-based generation against baselines.

Cases: the documented functions of held-out files (by module, ``mine.module_split``) of a
repository, read through the indexer's single-file API; the context index is built on a copy
of the repository without them, so retrieval sees only the other files. Or cases made
elsewhere (``--cases FILE.jsonl --repo CONTEXT_DIR``, format in ``mine.read_cases`` / README).

What is compared, on the same cases, each writing the function's body (the statements after
its docstring, at column 0) for the case's signature and docstring:

    copy_retrieved      the body of the best retrieved function (BM25 + dense)
    oracle_best_body    the body among the top retrieved functions closest to the answer
                        (token edit similarity): an upper bound of copying that uses the answer
    editor_no_sketch    the editor from the requirement alone
    editor_full_code    the editor from the requirement and the whole retrieved function
    skcoder             the editor from the requirement and the sketch of the retrieved function

The three editor variants need a model (the active one, or ``--model``); they share one
trained editor (see ``train``). Metrics: exact match (same tokens), corpus BLEU-4, CodeBLEU
and its parts (``models.metrics``), mean character edit similarity, and the share of
functions (signature + body) that parse; all in percent. The three editor variants of a case
are decoded in one batched beam search; each is charged a third of its time.
"""
from __future__ import annotations

import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from codeintel.models.metrics import code_tokens, codebleu, edit_similarity, exact_match, parses

from .api import best_parsing, dense_index
from .mine import Case, cases_from_files, module_split
from .pysource import assemble, without_doc
from .retrieve import retrieve

BASELINES = ("copy_retrieved", "oracle_best_body")
MODEL_VARIANTS = ("editor_no_sketch", "editor_full_code", "skcoder")
ORACLE_POOL = 24


@dataclass
class Report:
    metrics: dict = field(default_factory=dict)      # variant -> metric -> value
    cases: int = 0
    held_out_files: list = field(default_factory=list)
    seconds: float = 0.0
    notes: list = field(default_factory=list)
    predictions: list = field(default_factory=list)


def _score(variant_outputs: dict, targets: list[str], headers: list[str], latency: dict) -> dict:
    out = {}
    for name, bodies in variant_outputs.items():
        parts = codebleu(bodies, targets)
        n = len(targets)
        out[name] = {
            "n": n,
            "exact_match": round(100 * sum(exact_match(b, t) for b, t in zip(bodies, targets)) / n, 2),
            "bleu4": round(100 * parts["bleu"], 2),
            "codebleu": round(100 * parts["codebleu"], 2),
            "syntax_match": round(100 * parts["syntax_match"], 2),
            "dataflow_match": round(100 * parts["dataflow_match"], 2),
            "weighted_bleu": round(100 * parts["weighted_bleu"], 2),
            "edit_similarity": round(100 * sum(edit_similarity(b, t) for b, t in zip(bodies, targets)) / n, 2),
            "parse_share": round(100 * sum(parses(assemble(h, b)) for h, b in zip(headers, bodies)) / n, 2),
            "mean_latency_ms": round(1000 * latency.get(name, 0.0) / n, 1),
        }
    return out


def run_variants(cases: Sequence[Case], store, predictor=None, *, exclude_paths=(), n_beams: int = 4,
                 keep_predictions: bool = False, progress: Optional[Callable[[int, int], None]] = None) -> Report:
    dense = dense_index(store)
    names = list(BASELINES) + (list(MODEL_VARIANTS) if predictor is not None else [])
    outputs: dict[str, list[str]] = {name: [] for name in names}
    latency = {name: 0.0 for name in names}
    targets, headers, kept = [], [], []
    report = Report(cases=len(cases))
    for number, case in enumerate(cases):
        target = case.parts().body
        header = case.signature or case.parts().header
        query = case.query()
        t0 = time.perf_counter()
        found = retrieve(store, query, k=ORACLE_POOL, dense=dense, exclude_paths=exclude_paths,
                         pool=ORACLE_POOL)
        retrieval_seconds = time.perf_counter() - t0
        exemplar = found[0] if found else None
        outputs["copy_retrieved"].append(exemplar.parts.body if exemplar else "")
        latency["copy_retrieved"] += retrieval_seconds
        goal = code_tokens(target)
        oracle = max(found, key=lambda r: edit_similarity(code_tokens(r.parts.body), goal), default=None)
        outputs["oracle_best_body"].append(oracle.parts.body if oracle else "")
        row = {"id": case.id, "target": target}
        if predictor is not None:
            t0 = time.perf_counter()
            if exemplar is not None:
                encoded, keep, _ = predictor.sketch(query, without_doc(exemplar.parts))
                kept.append(sum(keep) / max(1, len(keep)))
                full = [True] * len(encoded.ids)
            else:
                encoded = keep = full = None
            sketch_seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            answers = predictor.write_batch([(query, None, None), (query, encoded, full), (query, encoded, keep)],
                                            n_beams=n_beams)
            each = (time.perf_counter() - t0) / 3       # one batched beam search for the three variants
            for name, answer in zip(MODEL_VARIANTS, answers):
                outputs[name].append(best_parsing(header, [b for b, _ in answer])[1])
            latency["editor_no_sketch"] += each
            latency["editor_full_code"] += each + retrieval_seconds
            latency["skcoder"] += each + retrieval_seconds + sketch_seconds
        targets.append(target)
        headers.append(header)
        if keep_predictions:
            report.predictions.append({**row, **{name: outputs[name][-1] for name in names}})
        if progress:
            progress(number + 1, len(cases))
    if targets:
        report.metrics = _score(outputs, targets, headers, latency)
    if kept:
        report.notes.append(f"the sketcher kept {100 * sum(kept) / len(kept):.1f} % of the exemplar's tokens "
                            f"on average")
    return report


def evaluate_repository(root: Path, *, holdout: float = 0.1, max_cases: int = 200, seed: int = 0, predictor=None,
                        n_beams: int = 4, write_cases: Optional[Path] = None, keep_predictions: bool = False,
                        progress=None) -> Report:
    """Hold out modules of ``root``, index the rest in a temporary copy, run every variant."""
    from codeintel.retrieval.context import build_context_copy, source_files
    from codeintel.store import Store, store_path

    from .mine import write_cases as write_case_file

    started = time.perf_counter()
    files = [p for p in source_files(root) if (root / p).is_file() and (root / p).stat().st_size > 0]
    if len(files) < 2:
        raise ValueError(f"{root}: needs at least two Python files (one to hold out, one for context)")
    held = sorted(module_split(files, holdout, seed))
    cases = cases_from_files(root, held)
    if not cases:
        raise ValueError(f"{root}: no documented functions in the {len(held)} held-out files")
    if len(cases) > max_cases:
        cases = sorted(random.Random(seed).sample(cases, max_cases), key=lambda c: c.id)
    if write_cases:
        write_case_file(write_cases, cases)
    with tempfile.TemporaryDirectory(prefix="codeintel-eval-") as tmp:
        copy = build_context_copy(root, held, Path(tmp))
        with Store.open(store_path(copy), create=False) as store:
            report = run_variants(cases, store, predictor, n_beams=n_beams, keep_predictions=keep_predictions,
                                  progress=progress)
    report.held_out_files = held
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def evaluate_cases(cases: Sequence[Case], context_dir: Path, *, predictor=None, n_beams: int = 4,
                   keep_predictions: bool = False, progress=None) -> Report:
    """Cases made elsewhere; the context from ``context_dir`` (its index if it has one, else an
    index of a temporary copy). Files of the cases are never retrieved."""
    from codeintel.retrieval.context import context_store

    started = time.perf_counter()
    with context_store(context_dir) as store:
        report = run_variants(cases, store, predictor, exclude_paths={c.path for c in cases}, n_beams=n_beams,
                              keep_predictions=keep_predictions, progress=progress)
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def leak_note(model_meta: dict, case_paths) -> Optional[str]:
    """A note when the model was trained on files the cases come from."""
    held = model_meta.get("held_out_files")
    if not isinstance(held, list):
        return None
    seen = sorted(set(case_paths) - set(held))
    if seen:
        return (f"{len(seen)} of the cases' files were not held out when the model was trained (e.g. {seen[0]}): "
                f"the model may have seen them")
    return None


def report_dict(report: Report, **extra) -> dict:
    data = {**extra, "cases": report.cases, "held_out_files": len(report.held_out_files),
            "seconds": report.seconds, "metrics": report.metrics}
    if report.notes:
        data["notes"] = report.notes
    if report.predictions:
        data["predictions"] = report.predictions
    return data
