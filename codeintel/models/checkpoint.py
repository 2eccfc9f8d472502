"""Training checkpoints: ``last/`` (weights, AdamW and scheduler state, random-generator
states, the position in the data, the history) and ``best/`` (the best weights so far).
Tensors go to safetensors files, everything else to ``state.json``; nothing is pickled, so
resuming never runs ``torch.load``. Written by rank 0 only, each directory atomically.
"""
from __future__ import annotations

import json
import logging
import math
import random
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, Optional

from .io import load_tensors, replace_dir, save_tensors, write_json

log = logging.getLogger("codeintel.models.training")

LAST, BEST = "last", "best"


class CheckpointMismatch(ValueError):
    """``last/`` cannot be resumed: written for another model (other parameter names or
    shapes), or unreadable."""


def _optimizer_state(optimizer) -> tuple[dict, dict]:
    import torch

    sd = optimizer.state_dict()
    tensors, scalars = {}, {}
    for idx, slots in sd["state"].items():
        for key, value in slots.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{idx}.{key}"] = value
            else:
                scalars[f"{idx}.{key}"] = value
    return tensors, {"param_groups": sd["param_groups"], "scalars": scalars}


def _load_optimizer_state(optimizer, tensors: dict, info: dict) -> None:
    state: dict[int, dict] = {}
    for name, value in [*tensors.items(), *info["scalars"].items()]:
        idx, key = name.split(".", 1)
        state.setdefault(int(idx), {})[key] = value
    groups = []
    for group in info["param_groups"]:
        group = dict(group)
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        groups.append(group)
    optimizer.load_state_dict({"state": state, "param_groups": groups})


def _rng_state() -> tuple[dict, dict]:
    import torch

    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{i}"] = state
    info: dict[str, Any] = {"python": random.getstate()}
    np = sys.modules.get("numpy")
    if np is not None:
        kind, keys, pos, has_gauss, cached = np.random.get_state()
        tensors["numpy"] = torch.from_numpy(keys.astype("int64"))
        info["numpy"] = [kind, int(pos), int(has_gauss), float(cached)]
    return tensors, info


def _restore_rng(tensors: dict, info: dict) -> None:
    import torch

    torch.set_rng_state(tensors["torch"])
    cuda = [tensors[k] for k in sorted((k for k in tensors if k.startswith("cuda.")), key=lambda k: int(k[5:]))]
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all(cuda)
    version, internal, gauss = info["python"]
    random.setstate((version, tuple(internal), gauss))
    np = sys.modules.get("numpy")
    if np is not None and "numpy" in info and "numpy" in tensors:
        kind, pos, has_gauss, cached = info["numpy"]
        np.random.set_state((kind, tensors["numpy"].numpy().astype("uint32"), pos, has_gauss, cached))


def _fingerprint(module) -> dict:
    return {name: list(t.shape) for name, t in module.state_dict().items()}


def save_best(directory: Path, state: dict, st: dict) -> None:
    """``best/``: the weights of the best evaluation and its step and validation loss."""
    def fill(tmp: Path) -> None:
        save_tensors(tmp / "model.safetensors", state)
        write_json(tmp / "state.json", {"step": st["best_step"], "val_loss": st["best_val_loss"]})
    replace_dir(directory, fill)


def save_checkpoint(directory: Path, module, optimizer, scheduler, st: dict, config) -> None:
    """``last/``: everything a rerun needs to continue exactly where this one is."""
    def fill(tmp: Path) -> None:
        save_tensors(tmp / "model.safetensors", module.state_dict())
        opt_tensors, opt_info = _optimizer_state(optimizer)
        save_tensors(tmp / "optimizer.safetensors", opt_tensors)
        rng_tensors, rng_info = _rng_state()
        save_tensors(tmp / "rng.safetensors", rng_tensors)
        cfg = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()}
        write_json(tmp / "state.json", {**st, "optimizer": opt_info, "scheduler": scheduler.state_dict(),
                                         "rng": rng_info, "config": cfg, "fingerprint": _fingerprint(module)})
    replace_dir(directory, fill)


def load_checkpoint(last: Path, best: Optional[Path], module, optimizer, scheduler, config):
    """Restore ``last/`` into the module, optimizer, scheduler and random generators; returns
    the loop's state and the best weights (or None). CheckpointMismatch when it cannot."""
    advice = "remove it or train with resume=False"
    try:
        info = json.loads((last / "state.json").read_text())
    except (OSError, ValueError) as exc:
        raise CheckpointMismatch(f"cannot read the checkpoint in {last} ({exc}); {advice}") from None
    if info.get("fingerprint") != _fingerprint(module):
        raise CheckpointMismatch(f"the checkpoint in {last} was written for another model "
                                 f"(parameter names or shapes differ); {advice}")
    before = info.get("config", {})
    changed = [k for k in ("epochs", "batch_size", "lr", "weight_decay", "warmup_ratio", "seed")
               if k in before and before[k] != getattr(config, k)]
    if changed:
        log.warning("resuming %s with other settings (%s): the run will not match an uninterrupted one",
                    last, ", ".join(f"{k} {before[k]} -> {getattr(config, k)}" for k in changed))
    try:
        module.load_state_dict(load_tensors(last / "model.safetensors"))
        _load_optimizer_state(optimizer, load_tensors(last / "optimizer.safetensors"), info["optimizer"])
        scheduler.load_state_dict(info["scheduler"])
        _restore_rng(load_tensors(last / "rng.safetensors"), info["rng"])
        best_state = load_tensors(best / "model.safetensors") \
            if best and (best / "model.safetensors").is_file() else None
    except Exception as exc:  # noqa: BLE001 - a damaged checkpoint, whatever the library says
        raise CheckpointMismatch(f"cannot load the checkpoint in {last} ({type(exc).__name__}: {exc}); "
                                 f"{advice}") from None
    if info["best_val_loss"] is None:
        info["best_val_loss"] = math.inf
    keys = ("step", "epoch", "batch_in_epoch", "best_val_loss", "best_step", "bad_evals", "stopped_early",
            "history", "seconds")
    return {k: info[k] for k in keys}, best_state
