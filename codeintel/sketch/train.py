"""``codeintel train sketch``: train the sketcher and the editor on a repository's own code.

Data (SkCoder's recipe): every documented function of the indexed Python files is a case
(requirement = signature + docstring, target = the body); its exemplar is the best function
the retriever finds in the OTHER files. The sketcher learns to tag the exemplar's tokens
keep/drop, labelled by the longest common subsequence with the target's tokens. The editor
then learns to write the target from ``requirement <sep> X`` where X is, for each case once,
the sketch the trained sketcher makes of the exemplar, the whole exemplar, and nothing, so
one editor serves the three variants ``eval sketch`` compares. Both stages use the shared
loop (``codeintel.models.training``: seeded, resumable from ``<out>.checkpoints``, early
stopping on a validation share of modules).

``holdout`` > 0 leaves a seeded share of modules out of everything (the split ``eval sketch``
makes with the same share and seed), as the built-in model was trained.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from .mine import cases_from_store, mine_triples, module_split
from .pysource import without_doc


@dataclass
class TrainSettings:
    size: str = "compact"
    editor_size: str = ""            # "" = size
    vocab_size: int = 8000
    holdout: float = 0.0             # share of modules never seen (for a later `eval sketch`)
    val_share: float = 0.05          # share of the remaining modules for validation
    sketcher_epochs: int = 2
    editor_epochs: int = 2
    batch_size: int = 16
    lr: float = 1e-3
    max_steps: int = 0               # per stage (0 = none)
    eval_every: int = 0              # validate every N steps (0 = each epoch)
    patience: int = 2
    max_cases: int = 0               # 0 = all documented functions
    seed: int = 0
    threads: int = 1                 # torch threads (1 is fastest for these sizes on a shared CPU)


TRIPLES_CACHE = "triples.json"


def _cached_triples(checkpoints: Path, key: dict):
    """The triples mined by an interrupted run on the same index and split (None when there are none)."""
    import json

    from .mine import Case, Triple
    from .pysource import split_function
    from .retrieve import Retrieved

    try:
        data = json.loads((checkpoints / TRIPLES_CACHE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    out = []
    for row in data.get("triples", []):
        parts = split_function(row["exemplar"]["code"])
        if parts is not None:
            e = row["exemplar"]
            out.append(Triple(Case(**row["case"]), Retrieved(e["qualname"], e["path"], e["start_line"], e["score"],
                                                             e["code"], parts)))
    return out


def _cache_triples(checkpoints: Path, key: dict, triples) -> None:
    import json

    from ..store.files import write_text_atomic

    rows = [{"case": t.case.to_json(), "exemplar": {"qualname": t.exemplar.qualname, "path": t.exemplar.path,
                                                    "start_line": t.exemplar.start_line, "score": t.exemplar.score,
                                                    "code": t.exemplar.code}} for t in triples]
    write_text_atomic(checkpoints / TRIPLES_CACHE, json.dumps({"key": key, "triples": rows}))


def _encode(codec, triples):
    from .sketcher import oracle_keep

    rows = []
    for t in triples:
        req = codec.requirement(t.case.query())
        exemplar = codec.exemplar(without_doc(t.exemplar.parts))
        body = t.case.parts().body
        rows.append((req, exemplar, body, oracle_keep(codec, exemplar, body)))
    return rows


def _tagger_rows(codec, rows):
    out = []
    for req, exemplar, _, keep in rows:
        ids, start = codec.tagger_input(req, exemplar)
        out.append((ids, codec.tagger_labels(len(ids), start, keep)))
    return out


def _editor_rows(codec, rows, predicted):
    out = []
    for (req, exemplar, body, _), keep in zip(rows, predicted):
        target = codec.target(body)
        out.append((codec.editor_input(req, exemplar, keep), target))
        out.append((codec.editor_input(req, exemplar, [True] * len(exemplar.ids)), target))
        out.append((codec.editor_input(req, None, None), target))
    return out


def train_sketch(store, out_dir: Path, settings: TrainSettings, *, corpora: Optional[list] = None,
                 command: str = "", progress: bool = False, log: Callable[[str], None] = lambda _: None) -> dict:
    """Train both models and save them to ``out_dir`` (one model directory); returns a summary."""
    import random

    import torch

    from codeintel.models.registry import make_meta, save_model
    from codeintel.models.tokenizer import train_tokenizer
    from codeintel.models.training import TrainConfig, train
    from codeintel.retrieval.dense import DenseIndex

    from .model import (build_skcoder, editor_collate, editor_loss, keep_probabilities, tagger_collate,
                        tagger_loss)
    from .sketcher import SketchCodec, SketchSettings

    if settings.threads:
        torch.set_num_threads(settings.threads)
    started = time.monotonic()
    paths = store.indexed_paths(language="python")
    held = module_split(paths, settings.holdout, settings.seed) if settings.holdout > 0 else set()
    rest = [p for p in paths if p not in held]
    val_paths = module_split(rest, settings.val_share, settings.seed + 1)
    cases = cases_from_store(store, rest)
    if settings.max_cases and len(cases) > settings.max_cases:
        cases = sorted(random.Random(settings.seed).sample(cases, settings.max_cases), key=lambda c: c.id)
    if len(cases) < 2:
        raise ValueError(f"too few documented functions to train on ({len(cases)}; at least two, in two files)")
    checkpoints = out_dir.parent / (out_dir.name + ".checkpoints")
    mine_started = time.monotonic()
    cache_key = {"functions": list(store.functions_version()), "holdout": settings.holdout, "seed": settings.seed,
                 "max_cases": settings.max_cases}
    triples = _cached_triples(checkpoints, cache_key)
    if triples is None:
        dense = DenseIndex.build(store, store.path.parent)
        log(f"retrieving exemplars for {len(cases)} documented functions")
        triples = mine_triples(store, cases, dense=dense, exclude_paths=held)
        _cache_triples(checkpoints, cache_key, triples)
    else:
        log(f"{len(triples)} triples from the last run's cache in {checkpoints}")
    mine_seconds = time.monotonic() - mine_started
    train_t = [t for t in triples if t.case.path not in val_paths]
    val_t = [t for t in triples if t.case.path in val_paths]
    if not val_t or not train_t:
        rng = random.Random(settings.seed)
        rng.shuffle(triples)
        cut = max(1, round(len(triples) * settings.val_share))
        val_t, train_t = triples[:cut], triples[cut:]
    if not train_t:
        raise ValueError("too few functions with an exemplar in another file to train on")
    log(f"{len(train_t)} training and {len(val_t)} validation triples (mined in {mine_seconds:.0f}s); "
        f"training a tokenizer")
    texts = [(store.file_content(p) or b"").decode("utf-8", "replace") for p in rest]
    tokenizer = train_tokenizer(texts, vocab_size=settings.vocab_size)
    sketch_settings = SketchSettings()
    codec = SketchCodec(tokenizer, sketch_settings)
    train_rows, val_rows = _encode(codec, train_t), _encode(codec, val_t)
    model, config = build_skcoder(tokenizer.get_vocab_size(), size=settings.size, settings=sketch_settings,
                                  editor_size=settings.editor_size or None)

    def stage(name, module, train_data, val_data, collate, loss, epochs):
        return train(module, train_data, val_data, lambda rows: collate(rows, codec.pad), loss,
                     TrainConfig(epochs=epochs, batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed,
                                 patience=settings.patience, max_steps=settings.max_steps,
                                 eval_every_steps=settings.eval_every,
                                 checkpoint_dir=checkpoints / name, device="cpu"), progress=progress)

    log("training the sketcher")
    sketcher_result = stage("sketcher", model.sketcher, _tagger_rows(codec, train_rows), _tagger_rows(codec, val_rows),
                            tagger_collate, tagger_loss, settings.sketcher_epochs)
    if sketcher_result.resumed_from_step is None:       # new sketches: an old editor checkpoint is stale
        import shutil
        shutil.rmtree(checkpoints / "editor", ignore_errors=True)
    sketch_settings.threshold = _best_threshold(model.sketcher, codec, val_rows)
    config["sketch"]["threshold"] = sketch_settings.threshold
    sketcher_metrics = _tagging_metrics(model.sketcher, codec, val_rows)
    log(f"sketcher: validation loss {sketcher_result.best_val_loss:.4f}, {sketcher_metrics}; sketching")

    def predicted(rows):
        inputs = []
        for req, exemplar, _, _ in rows:
            ids, start = codec.tagger_input(req, exemplar)
            inputs.append((ids, start, len(exemplar.ids)))
        return [[p >= sketch_settings.threshold for p in probs]
                for probs in keep_probabilities(model.sketcher, inputs, codec.pad)]

    editor_train = _editor_rows(codec, train_rows, predicted(train_rows))
    editor_val = _editor_rows(codec, val_rows, predicted(val_rows))
    log(f"training the editor on {len(editor_train)} inputs (sketch, whole exemplar, none)")
    editor_result = stage("editor", model.editor, editor_train, editor_val, editor_collate, editor_loss,
                          settings.editor_epochs)
    seconds = round(time.monotonic() - started, 1)
    meta = make_meta(
        corpora=corpora or [{"name": "repository", "python_files": len(paths)}],
        counts={"files": len(paths), "held_out_files": len(held), "validation_files": len(val_paths),
                "documented_functions": len(cases), "train": len(train_t), "val": len(val_t),
                "editor_train_inputs": len(editor_train)},
        split=(f"by module: {len(held)} files of {len({p.rsplit('/', 1)[0] for p in held})} modules held out "
               f"(share {settings.holdout}, seed {settings.seed}); " if held else "")
        + f"validation: {len(val_paths)} files by module (seed {settings.seed + 1})",
        metrics={"sketcher_val_loss": round(sketcher_result.best_val_loss, 4),
                 "editor_val_loss": round(editor_result.best_val_loss, 4), **sketcher_metrics},
        seconds=seconds,
        held_out_files=sorted(held),
        training={**asdict(settings), "sketcher_steps": sketcher_result.steps, "editor_steps": editor_result.steps,
                  "mine_seconds": round(mine_seconds, 1), "sketcher_seconds": round(sketcher_result.seconds, 1),
                  "editor_seconds": round(editor_result.seconds, 1)},
        command=command)
    save_model(out_dir, model, config, meta, tokenizer=tokenizer)
    return {"model": str(out_dir), "seconds": seconds, "counts": meta["counts"], "metrics": meta["metrics"]}


def _probabilities(tagger, codec, rows):
    """(P(keep), LCS label) of every exemplar token of ``rows``."""
    from .model import keep_probabilities

    inputs, gold = [], []
    for req, exemplar, _, keep in rows:
        ids, start = codec.tagger_input(req, exemplar)
        inputs.append((ids, start, len(exemplar.ids)))
        gold.append(keep)
    return [(p, y) for probs, labels in zip(keep_probabilities(tagger, inputs, codec.pad), gold)
            for p, y in zip(probs, labels)]


def _scores(pairs, threshold: float) -> tuple[float, float]:
    tp = fp = fn = right = 0
    for p, y in pairs:
        k = p >= threshold
        right += k == y
        tp += k and y
        fp += k and not y
        fn += (not k) and y
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return right / max(len(pairs), 1), f1


def _best_threshold(tagger, codec, rows) -> float:
    """The keep threshold with the best keep F1 on the validation rows (kept tokens are the
    minority, so 0.5 drops too much)."""
    pairs = _probabilities(tagger, codec, rows)
    return max((round(0.05 * i, 2) for i in range(1, 20)), key=lambda t: _scores(pairs, t)[1])


def _tagging_metrics(tagger, codec, rows) -> dict:
    """Token accuracy and keep F1 of the sketcher against the LCS labels on ``rows``."""
    accuracy, f1 = _scores(_probabilities(tagger, codec, rows), codec.s.threshold)
    return {"sketcher_token_accuracy": round(accuracy, 4), "sketcher_keep_f1": round(f1, 4),
            "sketcher_threshold": codec.s.threshold}
