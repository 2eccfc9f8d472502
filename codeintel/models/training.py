"""The one training loop every learned feature uses.

``train(model, train_data, val_data, collate_fn, loss_fn, config)``: AdamW with linear warmup
and linear decay, gradient clipping, evaluation every N steps or every epoch, early stopping
on validation loss, and at the end the model holds the weights of the best evaluation.

- Seeded: the data order comes from ``config.seed`` and the epoch, dropout from torch's
  generator seeded at the start; the same seed and data give the same losses.
- Resumable: at every evaluation ``checkpoint_dir/last/`` gets the weights, optimizer,
  scheduler and random-generator states and the position in the data, and
  ``checkpoint_dir/best/`` the best weights so far, all as safetensors + JSON (no pickle).
  A rerun with ``resume=True`` continues from ``last/`` where the interrupted run stopped.
  Ctrl-C (single process) writes ``last/`` at the current step before stopping.
- Distributed: launched under ``torchrun`` (``WORLD_SIZE`` > 1) the same call starts
  ``torch.distributed`` (gloo on CPU, nccl on GPUs), wraps the model in
  DistributedDataParallel, shards the data with DistributedSampler and averages the losses
  across ranks; only rank 0 writes checkpoints and shows progress.

``loss_fn(model, batch)`` returns a scalar tensor. Under DDP ``model`` is the DDP wrapper
during training (call it, ``model(...)``, so gradients are synchronised; reach attributes
through ``unwrap(model)``) and the plain module during evaluation. Tensors in the batch
(also inside dicts, lists and tuples) are moved to the training device before the call.
"""
from __future__ import annotations

import logging
import math
import os
import random
import shutil
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from .checkpoint import BEST, LAST, CheckpointMismatch, load_checkpoint, save_best, save_checkpoint
from .io import readable_dir

__all__ = ["TrainConfig", "TrainResult", "CheckpointMismatch", "train", "unwrap", "to_device"]

log = logging.getLogger("codeintel.models.training")


@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 32
    lr: float = 5e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    seed: int = 0
    patience: int = 3                 # evaluations without improvement before stopping; 0 = never stop early
    eval_every_steps: int = 0         # 0 = evaluate at the end of each epoch
    max_steps: int = 0                # stop after this many optimizer steps in all (0 = none); the
    #                                   schedule is planned over `epochs`, so a run cut short by
    #                                   max_steps and resumed follows the same curve
    grad_clip: float = 1.0            # max gradient norm; 0 = no clipping
    checkpoint_dir: Optional[Path] = None
    eval_batch_size: int = 0          # 0 = batch_size
    min_delta: float = 0.0            # an improvement must lower the validation loss by more than this
    device: Optional[str] = None      # None = cuda (this rank's GPU) when available, else cpu
    bf16: bool = False                # autocast to bfloat16 for the forward passes
    num_workers: int = 0              # DataLoader worker processes for collation
    find_unused_parameters: bool = True   # DDP: tolerate parameters the loss does not reach


@dataclass
class TrainResult:
    best_val_loss: float
    steps: int
    epochs_run: int
    stopped_early: bool
    history: list = field(default_factory=list)   # one dict per evaluation
    seconds: float = 0.0                          # training time in all, across resumed runs
    best_step: int = 0
    resumed_from_step: Optional[int] = None       # None when this run started from scratch


def unwrap(model):
    """The module inside a DistributedDataParallel wrapper (or the model itself)."""
    return getattr(model, "module", model)


def to_device(batch, device):
    """``batch`` with every tensor (also inside dicts, lists, tuples) moved to ``device``."""
    import torch

    if isinstance(batch, torch.Tensor):
        return batch.to(device)
    if isinstance(batch, dict):
        return type(batch)((k, to_device(v, device)) for k, v in batch.items())
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(v, device) for v in batch)
    return batch


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    torch.manual_seed(seed)
    np = sys.modules.get("numpy")
    if np is not None:
        np.random.seed(seed % 2**32)


# ------------------------------------------------------------------------------- distributed
class _Dist:
    """This process's place in a ``torchrun`` job (world of one when not launched that way)."""

    def __init__(self, device: Optional[str]):
        import torch

        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0")) if self.world > 1 else 0
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if device is None:
            device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.owns_group = False
        if self.world > 1:
            import torch.distributed as dist

            if not dist.is_initialized():
                backend = "nccl" if self.device.type == "cuda" else "gloo"
                if self.device.type == "cuda":
                    torch.cuda.set_device(self.device)
                dist.init_process_group(backend=backend)
                self.owns_group = True
            self.rank = dist.get_rank()
            self.world = dist.get_world_size()

    @property
    def main(self) -> bool:
        return self.rank == 0

    def sum(self, *values: float) -> list[float]:
        if self.world == 1:
            return list(values)
        import torch
        import torch.distributed as dist

        # gloo reduces CPU tensors; nccl needs them on the GPU
        where = self.device if self.device.type == "cuda" else "cpu"
        t = torch.tensor(values, dtype=torch.float64, device=where)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return t.tolist()

    def barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist
            dist.barrier()

    def close(self) -> None:
        if self.owns_group:
            import torch.distributed as dist
            dist.destroy_process_group()


# ------------------------------------------------------------------------------- progress
class _Progress:
    """A rich progress bar on stderr when it is a terminal; otherwise nothing."""

    def __init__(self, enabled: bool, total: int, done: int):
        self.bar = None
        if not (enabled and sys.stderr.isatty()):
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("loss {task.fields[loss]}  val {task.fields[val]}"),
                            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task("train", total=total, completed=done, loss="-", val="-")
        self.bar.start()

    def step(self, done: int, loss: float) -> None:
        if self.bar:
            self.bar.update(self.task, completed=done, loss=f"{loss:.4f}")

    def evaluated(self, val: float) -> None:
        if self.bar:
            self.bar.update(self.task, val=f"{val:.4f}")

    def close(self) -> None:
        if self.bar:
            self.bar.stop()


class _StopRequest:
    """Ctrl-C during training (single process, main thread): finish the step, write ``last/``,
    then raise KeyboardInterrupt. A second Ctrl-C interrupts at once."""

    def __init__(self, enabled: bool):
        import threading

        self.requested = False
        self.previous = None
        if enabled and threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)

    def _handle(self, signum, frame):
        self.requested = True
        signal.signal(signal.SIGINT, self.previous)

    def close(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


# ------------------------------------------------------------------------------- the loop
def _param_groups(module, weight_decay: float) -> list[dict]:
    decay, no_decay, seen = [], [], set()
    for _, param in module.named_parameters():
        if not param.requires_grad or id(param) in seen:
            continue
        seen.add(id(param))
        (decay if param.ndim >= 2 else no_decay).append(param)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


def _schedule(warmup: int, total: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        return max(0.0, (total - step) / max(1, total - warmup))
    return factor


def train(model, train_data: Sequence, val_data: Sequence, collate_fn: Callable, loss_fn: Callable,
          config: Optional[TrainConfig] = None, progress: bool = True, resume: bool = True) -> TrainResult:
    """Train ``model`` in place; see the module docstring. Returns what happened."""
    import torch

    config = config or TrainConfig()
    if len(train_data) == 0:
        raise ValueError("train_data is empty")
    if len(val_data) == 0:
        raise ValueError("val_data is empty: hold out at least one example for validation")
    if config.batch_size < 1 or config.epochs < 1:
        raise ValueError("batch_size and epochs must be at least 1")

    started = time.monotonic()
    dist = _Dist(config.device)
    original_device = next(model.parameters()).device
    module = model.to(dist.device)
    ckpt = Path(config.checkpoint_dir) if config.checkpoint_dir else None
    try:
        _seed_everything(config.seed)
        optimizer = torch.optim.AdamW(_param_groups(module, config.weight_decay), lr=config.lr)

        # the data: each rank's share of a seeded permutation per epoch, in batches
        from torch.utils.data import DataLoader, DistributedSampler

        sampler = DistributedSampler(range(len(train_data)), num_replicas=dist.world, rank=dist.rank,
                                     shuffle=True, seed=config.seed, drop_last=False)
        per_epoch = math.ceil(len(sampler) / config.batch_size)
        planned = per_epoch * config.epochs
        warmup = int(config.warmup_ratio * planned)
        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(warmup, planned))
        total = min(planned, config.max_steps) if config.max_steps else planned

        def epoch_batches(epoch: int) -> list[list[int]]:
            sampler.set_epoch(epoch)
            order = list(iter(sampler))
            return [order[i:i + config.batch_size] for i in range(0, len(order), config.batch_size)]

        eval_bs = config.eval_batch_size or config.batch_size
        val_indices = list(range(dist.rank, len(val_data), dist.world))
        val_batches = [val_indices[i:i + eval_bs] for i in range(0, len(val_indices), eval_bs)]

        def loader(batches, epoch: int):
            # its own generator: creating an iterator must not draw from torch's global one,
            # or a run resumed mid-epoch would see other dropout masks than an uninterrupted run
            return DataLoader(train_data, batch_sampler=batches, collate_fn=collate_fn,
                              num_workers=config.num_workers,
                              generator=torch.Generator().manual_seed(config.seed * 1_000_003 + epoch))

        def autocast():
            return torch.autocast(device_type=dist.device.type, dtype=torch.bfloat16, enabled=config.bf16)

        # where we are: fresh, or from last/
        st = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "best_val_loss": math.inf, "best_step": 0,
              "bad_evals": 0, "stopped_early": False, "history": [], "seconds": 0.0}
        best_state = None
        resumed_from = None
        last_dir = readable_dir(ckpt / LAST) if ckpt else None
        if ckpt and resume and last_dir is not None:
            st, best_state = load_checkpoint(last_dir, readable_dir(ckpt / BEST), module, optimizer, scheduler,
                                              config)
            resumed_from = st["step"]
            log.info("resuming from %s at step %d", last_dir, st["step"])
        elif ckpt and dist.main:
            for name in (LAST, BEST):
                shutil.rmtree(ckpt / name, ignore_errors=True)
                shutil.rmtree(ckpt / f".{name}.old", ignore_errors=True)
        seconds_before = st["seconds"]
        dist.barrier()

        wrapped = module
        if dist.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            wrapped = DistributedDataParallel(
                module, device_ids=[dist.device.index] if dist.device.type == "cuda" else None,
                find_unused_parameters=config.find_unused_parameters)

        def evaluate() -> float:
            module.eval()
            total_loss, count = 0.0, 0
            with torch.no_grad(), autocast():
                for chunk in val_batches:
                    batch = to_device(collate_fn([val_data[i] for i in chunk]), dist.device)
                    total_loss += float(loss_fn(module, batch)) * len(chunk)
                    count += len(chunk)
            module.train()
            total_loss, count = dist.sum(total_loss, count)
            return total_loss / max(count, 1)

        def save_last() -> None:
            if ckpt and dist.main:
                st["seconds"] = seconds_before + time.monotonic() - started
                save_checkpoint(ckpt / LAST, module, optimizer, scheduler, st, config)

        window = {"loss": 0.0, "n": 0}

        def do_eval() -> None:
            val = evaluate()
            train_loss, n = dist.sum(window["loss"], window["n"])
            window.update(loss=0.0, n=0)
            entry = {"step": st["step"], "epoch": st["epoch"] + st["batch_in_epoch"] / max(per_epoch, 1),
                     "train_loss": train_loss / n if n else None, "val_loss": val,
                     "lr": scheduler.get_last_lr()[0],
                     "seconds": round(seconds_before + time.monotonic() - started, 3)}
            st["history"].append(entry)
            bar.evaluated(val)
            nonlocal best_state
            if val < st["best_val_loss"] - config.min_delta or best_state is None:
                st.update(best_val_loss=val, best_step=st["step"], bad_evals=0)
                best_state = {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
                if ckpt and dist.main:
                    save_best(ckpt / BEST, best_state, st)
            else:
                st["bad_evals"] += 1
                if config.patience and st["bad_evals"] >= config.patience:
                    st["stopped_early"] = True
            save_last()
            if ckpt:
                dist.barrier()

        bar = _Progress(progress and dist.main, total, min(st["step"], total))
        stop = _StopRequest(dist.world == 1)
        module.train()
        evaluated_at = st["history"][-1]["step"] if st["history"] else -1
        try:
            while (st["epoch"] < config.epochs and not st["stopped_early"]
                   and not (config.max_steps and st["step"] >= config.max_steps)):
                batches = epoch_batches(st["epoch"])
                if st["batch_in_epoch"] >= len(batches):   # resumed with another batch size or world
                    st["epoch"] += 1
                    st["batch_in_epoch"] = 0
                    continue
                for batch in loader(batches[st["batch_in_epoch"]:], st["epoch"]):
                    batch = to_device(batch, dist.device)
                    with autocast():
                        loss = loss_fn(wrapped, batch)
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    if config.grad_clip:
                        torch.nn.utils.clip_grad_norm_(module.parameters(), config.grad_clip)
                    optimizer.step()
                    scheduler.step()
                    st["step"] += 1
                    st["batch_in_epoch"] += 1
                    value = float(loss.detach())
                    window["loss"] += value
                    window["n"] += 1
                    bar.step(st["step"], value)
                    if st["batch_in_epoch"] == len(batches):
                        st["epoch"] += 1
                        st["batch_in_epoch"] = 0
                    at_epoch_end = st["batch_in_epoch"] == 0
                    if ((config.eval_every_steps and st["step"] % config.eval_every_steps == 0)
                            or (not config.eval_every_steps and at_epoch_end)):
                        do_eval()
                        evaluated_at = st["step"]
                    if stop.requested:
                        save_last()
                        raise KeyboardInterrupt
                    if st["stopped_early"] or (config.max_steps and st["step"] >= config.max_steps) \
                            or at_epoch_end:
                        break
            if evaluated_at != st["step"] and not st["stopped_early"]:
                do_eval()   # the end of training is always evaluated (and checkpointed)
        finally:
            stop.close()
            bar.close()

        if best_state is not None:
            module.load_state_dict(best_state)
        epochs_run = st["epoch"] + (1 if st["batch_in_epoch"] else 0)
        return TrainResult(best_val_loss=st["best_val_loss"], steps=st["step"], epochs_run=epochs_run,
                           stopped_early=st["stopped_early"], history=list(st["history"]),
                           seconds=seconds_before + time.monotonic() - started, best_step=st["best_step"],
                           resumed_from_step=resumed_from)
    finally:
        module.to(original_device)
        dist.close()


