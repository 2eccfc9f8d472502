"""``codeintel train completion``: fit the Fusion-in-Decoder model on a repository's own code.

Reads the indexed files from the store (never the work tree), holds out a seeded share of
files for validation, cuts holes in the rest (``fid.cut_training_holes``), builds each hole's
proposals with its own file left out, and trains with the shared loop
(``codeintel.models.training``: seeded, resumable from ``<out>.checkpoints``, early stopping).
It starts from the active completion model (the built-in one, or an earlier repository model),
reusing its tokenizer, unless ``from_scratch`` (then a BPE tokenizer is trained on the files).

A trained model replaces what completion answers only if it is at least as good (``judge``):
after training, rest-of-line holes cut in the validation files are completed as ``complete()``
would with the new model, without a model (the ranked candidates, or the matcher's order
without a ranker) and with the model completion uses now, if any, all with a context index of
the other files (``retrieval.context.context_store``). When the new model is behind in exact match or
edit similarity, or no better than the model-free answer, it is saved beside the active place
(``<out>.rejected``) instead, and the figures say why. The result goes to the model registry
with a data card holding them.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from .fid import (FidPredictor, FidSettings, PassageEncoder, collate, cut_training_holes, fid_loss, load_predictor,
                  make_examples)


@dataclass
class TrainSettings:
    size: str = "compact"
    vocab_size: int = 8000
    per_file: int = 8
    max_examples: int = 6000
    val_share: float = 0.05
    epochs: int = 2
    batch_size: int = 16
    lr: float = 1e-3
    max_steps: int = 0
    eval_every: int = 0
    patience: int = 2
    seed: int = 0
    threads: int = 0        # torch threads (0 = torch's default)
    gate_cases: int = 100   # rest-of-line holes in the validation files the trained model is judged on


def _files_from_store(store, max_bytes: int = 400_000) -> dict[str, str]:
    files = {}
    for path in store.indexed_paths(language="python"):
        raw = store.file_content(path) or b""
        if 0 < len(raw) <= max_bytes:
            files[path] = raw.decode("utf-8", "replace")
    return files


RIVALS = {"model": "the new model", "ranked": "the ranked candidates", "in_file_proposals": "the matcher's continuation",
          "current_model": "the current model"}      # what ``judge`` compares, in words


def rejected_dir(out_dir: Path) -> Path:
    """Where a trained model that lost to the current answer is kept."""
    return out_dir.parent / (out_dir.name + ".rejected")


def judge(model_predictor, current_predictor, ranker, context: dict[str, str], held: dict[str, str],
          cases: int, seed: int) -> dict:
    """What completion would answer with the new model (its text, or the model-free answer when
    it says nothing, as ``complete()`` does) against what it answers now: without a model (the
    ranked candidates, or the matcher's continuation without ``ranker``) and with
    ``current_predictor`` (the model it uses now, when there is one), on the same rest-of-line
    holes cut in ``held``. It passes when it is at least as good as every rival in exact match
    and in edit similarity, and better than the model-free answer in one of them (a model
    that changes nothing would only cost time)."""
    from codeintel.retrieval.context import context_store

    from .evaluate import cut_at_most, mark_cross_file, run_predictors, score

    per_file = max(1, -(-cases // max(1, len(held))))        # enough in each file for ``cases`` in all
    holes = cut_at_most(held, per_file, cases, random.Random(seed))
    if not holes:
        return {"cases": 0, "passed": True, "why": "no validation holes to judge on"}
    with context_store(texts=context) as store:
        mark_cross_file(holes, store)
        rows = run_predictors(holes, store, model_predictor, keep_predictions=True, ranker=ranker).predictions
        current = run_predictors(holes, store, current_predictor, keep_predictions=True).predictions \
            if current_predictor is not None else None
    fallback = "ranked" if ranker is not None else "in_file_proposals"

    def figures(texts: list[str]) -> dict:
        scores = [score(t, r["target"]) for t, r in zip(texts, rows)]
        return {k: round(sum(x[k] for x in scores) / len(scores), 4) for k in ("exact_match", "edit_similarity")}

    def answered(texts: list[str]) -> list[str]:
        return [t if t.strip() else r[fallback] for t, r in zip(texts, rows)]

    new = figures(answered([r["model"] for r in rows]))
    rivals = {fallback: figures([r[fallback] for r in rows])}
    if current is not None:
        rivals["current_model"] = figures(answered([r["model"] for r in current]))
    losses = [name for name, m in rivals.items()
              if new["exact_match"] < m["exact_match"] or new["edit_similarity"] < m["edit_similarity"]]
    if losses:
        why = f"behind {' and '.join(RIVALS[n] for n in losses)}"
    elif new == rivals[fallback]:
        why = f"no better than {RIVALS[fallback]} (only slower)"
    else:
        why = "at least as good as what completion answers now"
    return {"cases": len(holes), "model": new, **rivals, "passed": not losses and new != rivals[fallback], "why": why}


def train_completion(store, out_dir: Path, settings: TrainSettings, fid: FidSettings = FidSettings(), *,
                     base=None, current=None, corpora: Optional[list] = None, command: str = "",
                     ranker=None, gated: bool = True, progress: bool = False,
                     log: Callable[[str], None] = lambda _: None) -> dict:
    """Train (or fine-tune ``base``, a registry ModelInfo) and save to ``out_dir``, or, when
    ``gated`` and it loses to what completion answers now (``judge``: ``current`` is the active
    completion model, ``ranker`` the active completion ranker), to ``rejected_dir(out_dir)``;
    returns a summary."""
    import torch

    from codeintel.models.fid import build_fid, fid_from_config
    from codeintel.models.registry import check_model_target, load_state, make_meta, save_model
    from codeintel.models.tokenizer import load_tokenizer, train_tokenizer
    from codeintel.models.training import TrainConfig, train
    from codeintel.retrieval.dense import DenseIndex

    for place in (out_dir, rejected_dir(out_dir)) if gated else (out_dir,):
        check_model_target(place)          # refuse before training, not after it
    if settings.threads:
        torch.set_num_threads(settings.threads)
    started = time.monotonic()
    files = _files_from_store(store)
    if len(files) < 2:
        raise ValueError("too few indexed Python files to train on (at least two: one for validation)")
    rng = random.Random(settings.seed)
    paths = sorted(files)
    n_val = max(1, round(len(paths) * settings.val_share))
    val_paths = set(rng.sample(paths, n_val))
    train_files = {p: t for p, t in files.items() if p not in val_paths}
    val_files = {p: t for p, t in files.items() if p in val_paths}
    if base is not None:
        tokenizer = load_tokenizer(base.tokenizer_path)
        model = fid_from_config(base.config)
        model.load_state_dict(load_state(base.path))
        config = dict(base.config)
        fid = FidSettings(**{k: v for k, v in config.get("completion", {}).items()
                             if k in FidSettings.__dataclass_fields__})
    else:
        log(f"training a tokenizer on {len(train_files)} files")
        tokenizer = train_tokenizer(train_files.values(), vocab_size=settings.vocab_size,
                                    extra_special_tokens=())
        model, config = build_fid(tokenizer.get_vocab_size(), size=settings.size, arch="t5")
    encoder = PassageEncoder(tokenizer, fid)
    train_holes = cut_training_holes(train_files, settings.per_file, rng)
    rng.shuffle(train_holes)
    train_holes = train_holes[:settings.max_examples]
    val_holes = cut_training_holes(val_files, settings.per_file, rng)[:max(32, settings.max_examples // 20)]
    dense = DenseIndex.build(store, store.path.parent)     # cached beside the index for the next run
    log(f"building proposals for {len(train_holes)} training and {len(val_holes)} validation holes")
    prep_started = time.monotonic()
    train_ex = make_examples(store, train_holes, encoder, dense)
    val_ex = make_examples(store, val_holes, encoder, dense)
    prep_seconds = time.monotonic() - prep_started
    log(f"prepared in {prep_seconds:.0f}s; training")
    pad = encoder.pad
    result = train(model, train_ex, val_ex, lambda rows: collate(rows, pad), fid_loss,
                   TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                               seed=settings.seed, patience=settings.patience,
                               eval_every_steps=settings.eval_every, max_steps=settings.max_steps,
                               checkpoint_dir=out_dir.parent / (out_dir.name + ".checkpoints"), device="cpu"),
                   progress=progress)
    config["completion"] = asdict(fid)
    log(f"judging the model on {settings.gate_cases} rest-of-line holes of the validation files")
    previous = None
    if current is not None:
        try:
            previous = load_predictor(current)
        except (OSError, ValueError, RuntimeError) as exc:      # a broken model is no rival
            log(f"the current completion model at {current.path} cannot be loaded ({exc}); not judged against it")
    context = {p: t for p in store.indexed_paths() if p not in val_paths
               for t in [(store.file_content(p) or b"").decode("utf-8", "replace")] if t}
    verdict = judge(FidPredictor(model, tokenizer, fid), previous, ranker, context, val_files,
                    settings.gate_cases, settings.seed)
    installed = verdict["passed"] or not gated
    target = out_dir if installed else rejected_dir(out_dir)
    meta = make_meta(
        corpora=corpora or [{"name": "repository", "files": len(files),
                             "bytes": sum(len(t.encode()) for t in files.values())}],
        counts={"train_files": len(train_files), "val_files": len(val_files), "train": len(train_ex),
                "val": len(val_ex)},
        split=f"by file: {len(val_files)} of {len(files)} files (seed {settings.seed}) for validation",
        metrics={"validation_rest_of_line": verdict, "best_val_loss": round(result.best_val_loss, 4)},
        seconds=round(time.monotonic() - started, 1),
        training={**asdict(settings), "steps": result.steps, "best_step": result.best_step,
                  "stopped_early": result.stopped_early, "prepare_seconds": round(prep_seconds, 1),
                  "train_seconds": round(result.seconds, 1),
                  "fine_tuned_from": str(base.path) if base is not None else None},
        command=command)
    save_model(target, model, config, meta, tokenizer=tokenizer)
    return {"model": str(target), "installed": installed, "judged": verdict, "steps": result.steps,
            "best_val_loss": result.best_val_loss, "seconds": meta["seconds"], "counts": meta["counts"],
            "history": result.history}
