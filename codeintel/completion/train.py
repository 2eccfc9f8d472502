"""``codeintel train completion``: fit the Fusion-in-Decoder model on a repository's own code.

Reads the indexed files from the store (never the work tree), holds out a seeded share of
files for validation, cuts holes in the rest (``fid.cut_training_holes``), builds each hole's
proposals with its own file left out, and trains with the shared loop
(``codeintel.models.training``: seeded, resumable from ``<out>.checkpoints``, early stopping).
It starts from the active completion model (the built-in one, or an earlier repository model),
reusing its tokenizer, unless ``from_scratch`` (then a BPE tokenizer is trained on the files).
The result goes to the model registry with a data card.
"""
from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional

from .fid import FidSettings, PassageEncoder, collate, cut_training_holes, fid_loss, make_examples


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


def _files_from_store(store, max_bytes: int = 400_000) -> dict[str, str]:
    files = {}
    for path in store.indexed_paths(language="python"):
        raw = store.file_content(path) or b""
        if 0 < len(raw) <= max_bytes:
            files[path] = raw.decode("utf-8", "replace")
    return files


def train_completion(store, out_dir: Path, settings: TrainSettings, fid: FidSettings = FidSettings(), *,
                     base=None, corpora: Optional[list] = None, command: str = "",
                     progress: bool = False, log: Callable[[str], None] = lambda _: None) -> dict:
    """Train (or fine-tune ``base``, a registry ModelInfo) and save to ``out_dir``; returns a summary."""
    import torch

    from codeintel.models.fid import build_fid, fid_from_config
    from codeintel.models.registry import load_state, make_meta, save_model
    from codeintel.models.tokenizer import load_tokenizer, train_tokenizer
    from codeintel.models.training import TrainConfig, train
    from codeintel.retrieval.dense import DenseIndex

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
    meta = make_meta(
        corpora=corpora or [{"name": "repository", "files": len(files),
                             "bytes": sum(len(t.encode()) for t in files.values())}],
        counts={"train_files": len(train_files), "val_files": len(val_files), "train": len(train_ex),
                "val": len(val_ex)},
        split=f"by file: {len(val_files)} of {len(files)} files (seed {settings.seed}) for validation",
        metrics={"best_val_loss": round(result.best_val_loss, 4)},
        seconds=round(time.monotonic() - started, 1),
        training={**asdict(settings), "steps": result.steps, "best_step": result.best_step,
                  "stopped_early": result.stopped_early, "prepare_seconds": round(prep_seconds, 1),
                  "train_seconds": round(result.seconds, 1),
                  "fine_tuned_from": str(base.path) if base is not None else None},
        command=command)
    save_model(out_dir, model, config, meta, tokenizer=tokenizer)
    return {"model": str(out_dir), "steps": result.steps, "best_val_loss": result.best_val_loss,
            "seconds": meta["seconds"], "counts": meta["counts"], "history": result.history}
