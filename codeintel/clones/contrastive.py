"""Contrastive training of the clone encoder (Zubkov et al. 2022): SimCLR and MoCo.

Programs come from a labelled corpus (JSONL: ``id``, ``label``, ``code``, optional
``language``; POJ-104 in ``../shared/corpora/clones/``) and/or from the functions of an
indexed repository (no labels). Positive pairs are
- two *views* of the same program: the original and rewrites by the semantics-preserving
  transformations of ``transform`` (a random subset of ``train_transforms`` each; the others
  are held out so evaluation can tell whether the model only learned our augmenter), then
  30 % of the n-grams dropped at random;
- programs with the same label, where labels exist (supervised contrastive, as positives of
  the same loss).

Objectives (``objective``):
- ``simclr``: NT-Xent over the 2B views of a batch; every other view is a negative except
  the positives above;
- ``moco``: the second view goes through a momentum (EMA) copy of the encoder and head;
  negatives are the batch's keys plus a queue of the last ``queue`` keys, positives the
  view's own key and keys (in the batch or queue) with the same label.

Training runs through the shared loop (``models.training.train``): seeded, resumable,
early-stopped. The validation programs are whole labels (or files) held out from training,
and their "loss" is a retrieval error, not the contrastive loss (whose scale depends on how
many labels a batch holds): 1 - MAP@R over them when they carry two or more labels, else
1 - the share whose nearest second view is their own.
"""
from __future__ import annotations

import copy
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from .lexical import fit_lexical
from .representation import REPRESENTATIONS, streams
from .transform import TRANSFORMS, disguise

OBJECTIVES = ("simclr", "moco")
DEFAULT_TRAIN_TRANSFORMS = ("rename", "comments", "dead_code", "if_swap")


@dataclass
class Program:
    code: bytes
    language: Optional[str]
    label: Optional[str] = None       # same label = clones (functional equivalence); None = unknown
    group: str = ""                   # what the validation split is cut by (label or file path)


@dataclass
class CloneTrainSettings:
    representation: str = "tokens"
    objective: str = "simclr"
    buckets: int = 65536
    dim: int = 256
    ngrams: int = 3
    max_words: int = 512
    views: int = 2                    # rewritten variants made per program (plus the original)
    train_transforms: tuple = DEFAULT_TRAIN_TRANSFORMS
    temperature: float = 0.1
    queue: int = 4096                 # MoCo
    momentum: float = 0.99            # MoCo
    feature_dropout: float = 0.3
    val_share: float = 0.1            # share of groups held out for validation
    seed: int = 0                     # the views and the split (the training loop has its own)
    workers: int = 2                  # processes making the views
    lexical_dim: int = 1024           # dimensions of the lexical channel (0: none; see clones.lexical)
    lexical_weight: Optional[float] = None   # weight of the learned cosine; None: chosen on validation
    encoder_from: Optional[str] = None       # a clones model whose learned encoder is reused, not trained

    def check(self) -> None:
        if self.representation not in REPRESENTATIONS:
            raise ValueError(f"unknown representation {self.representation!r}: {', '.join(REPRESENTATIONS)}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"unknown objective {self.objective!r}: {', '.join(OBJECTIVES)}")
        unknown = [t for t in self.train_transforms if t not in TRANSFORMS]
        if unknown:
            raise ValueError(f"unknown transformation {unknown[0]!r}: {', '.join(TRANSFORMS)}")


# ------------------------------------------------------------------------------- data
def _variants(args) -> list[list[str]]:
    code, language, transforms, n, seed, representation, max_words = args
    rng = random.Random(seed)
    out = [streams(code, language, representation, max_words)]
    for _ in range(n):
        names = [t for t in transforms if rng.random() < 0.6] or [rng.choice(transforms)]
        try:
            rewritten = disguise(code, language, names, rng) if language and transforms else code
        except Exception:  # a rewrite that trips on odd code: keep the original as the view
            rewritten = code
        out.append(streams(rewritten, language, representation, max_words))
    return out


def make_views(programs: Sequence[Program], settings: CloneTrainSettings) -> list[list[list[str]]]:
    """For each program: its streams (``representation.streams``), then those of
    ``settings.views`` rewrites (in ``settings.workers`` processes for more than 200)."""
    jobs = [(p.code, p.language, tuple(settings.train_transforms), settings.views, settings.seed * 7919 + i,
             settings.representation, settings.max_words) for i, p in enumerate(programs)]
    if settings.workers > 1 and len(jobs) > 200:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(settings.workers) as pool:
            return list(pool.imap(_variants, jobs, chunksize=64))
    return [_variants(job) for job in jobs]


def split_groups(programs: Sequence[Program], share: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices of training and validation programs; whole groups go to one side."""
    groups = sorted({p.group for p in programs})
    rng = random.Random(seed)
    rng.shuffle(groups)
    n_val = max(1, round(len(groups) * share)) if len(groups) > 1 else 0
    val_groups = set(groups[:n_val])
    train = [i for i, p in enumerate(programs) if p.group not in val_groups]
    val = [i for i, p in enumerate(programs) if p.group in val_groups]
    if not val:   # one group only: hold out every tenth program
        val, train = train[::10], [i for k, i in enumerate(train) if k % 10]
    return train, val


# ------------------------------------------------------------------------------- model
def _contrastive_loss(anchors, candidates, anchor_ids, candidate_ids, anchor_labels, candidate_labels,
                      temperature: float, exclude_self: bool):
    """Mean over anchors of -mean log-softmax of its positives (same program id, or same label >= 0)."""
    import torch

    sim = anchors @ candidates.T / temperature
    same_program = anchor_ids[:, None] == candidate_ids[None, :]
    same_label = (anchor_labels[:, None] == candidate_labels[None, :]) & (anchor_labels[:, None] >= 0)
    positive = same_program | same_label
    if exclude_self:
        self_mask = torch.eye(sim.shape[0], sim.shape[1], dtype=torch.bool)
        positive &= ~self_mask
        sim = sim.masked_fill(self_mask, -1e9)
    log_prob = sim - torch.logsumexp(sim, dim=1, keepdim=True)
    counts = positive.sum(1)
    keep = counts > 0
    per_anchor = -(log_prob * positive).sum(1)[keep] / counts[keep]
    return per_anchor.mean()


def build_model(settings: CloneTrainSettings):
    import torch
    from torch import nn

    from ..models.bag_module import BagEncoder

    class ContrastiveModel(nn.Module):
        """The encoder (what is saved), the projection head and, for MoCo, the momentum copy and queue."""

        def __init__(self):
            super().__init__()
            self.encoder = BagEncoder(settings.buckets, settings.dim, settings.ngrams)
            self.head = nn.Sequential(nn.Linear(settings.dim, settings.dim), nn.ReLU(), nn.Linear(settings.dim, 128))
            if settings.objective == "moco":
                self.key_encoder = copy.deepcopy(self.encoder)
                self.key_head = copy.deepcopy(self.head)
                for p in list(self.key_encoder.parameters()) + list(self.key_head.parameters()):
                    p.requires_grad_(False)
                self.register_buffer("queue", nn.functional.normalize(torch.randn(settings.queue, 128), dim=1))
                self.register_buffer("queue_labels", torch.full((settings.queue,), -1, dtype=torch.long))
                self.register_buffer("queue_ids", torch.full((settings.queue,), -1, dtype=torch.long))
                self.register_buffer("queue_ptr", torch.zeros(1, dtype=torch.long))

        def project(self, encoder, head, rows):
            return nn.functional.normalize(head(encoder(rows)), dim=-1)

        @torch.no_grad()
        def _momentum_update(self):
            m = settings.momentum
            for online, key in ((self.encoder, self.key_encoder), (self.head, self.key_head)):
                for p, k in zip(online.parameters(), key.parameters()):
                    k.mul_(m).add_(p.detach(), alpha=1 - m)

        @torch.no_grad()
        def _enqueue(self, keys, labels, ids):
            n = keys.shape[0]
            ptr = int(self.queue_ptr)
            idx = (torch.arange(n) + ptr) % self.queue.shape[0]
            self.queue[idx] = keys
            self.queue_labels[idx] = labels
            self.queue_ids[idx] = ids
            self.queue_ptr[0] = (ptr + n) % self.queue.shape[0]

        def forward(self, batch):
            ids, labels = batch["ids"], batch["labels"]
            if not self.training:
                return torch.tensor(1.0 - retrieval_score(self.encoder, batch))
            t = settings.temperature
            if settings.objective == "simclr":
                z = self.project(self.encoder, self.head, batch["view1"] + batch["view2"])
                both_ids, both_labels = torch.cat([ids, ids]), torch.cat([labels, labels])
                return _contrastive_loss(z, z, both_ids, both_ids, both_labels, both_labels, t, exclude_self=True)
            if self.training:
                self._momentum_update()
            q = self.project(self.encoder, self.head, batch["view1"])
            with torch.no_grad():
                k = self.project(self.key_encoder, self.key_head, batch["view2"])
            keys = torch.cat([k, self.queue.clone()])
            key_ids = torch.cat([ids, self.queue_ids.clone()])
            key_labels = torch.cat([labels, self.queue_labels.clone()])
            loss = _contrastive_loss(q, keys, ids, key_ids, labels, key_labels, t, exclude_self=False)
            if self.training:
                self._enqueue(k, labels, ids)
            return loss

    return ContrastiveModel()


def make_collate(views: list, program_labels: list, settings: CloneTrainSettings):
    """Items are program indices; each gives two different views (n-gram ids), n-grams dropped
    at random. The choices are seeded by the batch's items, so the validation batches are the
    same at every evaluation and a resumed run sees what an uninterrupted one saw."""
    import torch

    from ..models.bag import stream_features

    cache: dict = {}

    def feats(i: int, v: int) -> list[int]:
        key = (i, v)
        if key not in cache:
            cache[key] = stream_features(views[i][v], settings.buckets, settings.ngrams)
        return cache[key]

    def collate(items: list[int]):
        rng = random.Random(hash((settings.seed, *items)))
        v1, v2 = [], []
        for i in items:
            n = len(views[i])
            a, b = rng.sample(range(n), 2) if n > 1 else (0, 0)
            for view, out in ((a, v1), (b, v2)):
                row = feats(i, view)
                if settings.feature_dropout:
                    row = [x for x in row if rng.random() >= settings.feature_dropout] or row
                out.append(row)
        return {"view1": v1, "view2": v2, "original": [feats(i, 0) for i in items],
                "ids": torch.tensor(items, dtype=torch.long),
                "labels": torch.tensor([program_labels[i] for i in items], dtype=torch.long)}

    return collate


def _embed_rows(encoder_module, rows) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.cat([torch.nn.functional.normalize(encoder_module(rows[s:s + 1024]), dim=-1)
                          for s in range(0, len(rows), 1024)]).numpy()


def retrieval_score(encoder_module, batch) -> float:
    """How well the encoder retrieves clones among the batch's programs (the validation set
    in one batch): MAP@R over the original programs when two or more labels are present,
    else the share of programs whose nearest neighbour among the second views is their own."""
    from .evaluate import map_at_r

    labels = batch["labels"].numpy()
    labelled = labels >= 0
    if len(set(labels[labelled].tolist())) >= 2:
        emb = _embed_rows(encoder_module, [r for r, keep in zip(batch["original"], labelled) if keep])
        return map_at_r(emb @ emb.T, labels[labelled])
    a, b = _embed_rows(encoder_module, batch["original"]), _embed_rows(encoder_module, batch["view2"])
    return float(np.mean(np.argmax(a @ b.T, axis=1) == np.arange(len(a))))


# ------------------------------------------------------------------------------- the job

def train_clone_encoder(programs: Sequence[Program], out_dir: Path, settings: CloneTrainSettings, config,
                        meta: dict, progress: bool = False, log: Callable[[str], None] = lambda m: None) -> dict:
    """Train with the loop settings ``config`` (a ``models.training.TrainConfig``; its
    ``eval_batch_size`` is set to the whole validation set), save the encoder in ``out_dir``
    (model registry layout) and return a summary."""
    import dataclasses

    import torch

    from ..models.registry import check_model_target, save_model
    from ..models.training import train

    settings.check()
    check_model_target(out_dir)            # before the training, not after it
    if len(programs) < 4:
        raise ValueError(f"too few programs to train on ({len(programs)}); need at least 4")
    started = time.monotonic()
    train_idx, val_idx = split_groups(programs, settings.val_share, settings.seed)
    label_ids: dict = {}
    labels = [label_ids.setdefault(p.label, len(label_ids)) if p.label is not None else -1 for p in programs]
    val_labels = {labels[i] for i in val_idx if labels[i] >= 0}
    val_metric = "val_map_at_r" if len(val_labels) >= 2 else "val_view_top1"
    torch.manual_seed(settings.seed)
    model = build_model(settings)
    reused = _load_encoder_from(model, settings) if settings.encoder_from else None
    view_seconds = 0.0
    if reused is None:
        log(f"making views of {len(programs)} programs ({settings.views} rewrites each)")
        views = make_views(programs, settings)
        view_seconds = time.monotonic() - started
        config = dataclasses.replace(config, eval_batch_size=len(val_idx))   # one retrieval task
        result = train(model, train_idx, val_idx, make_collate(views, labels, settings),
                       lambda m, batch: m(batch), config, progress=progress)
        val_score = round(1.0 - result.best_val_loss, 4)
        steps, best_step, history = result.steps, result.best_step, result.history
    else:
        log(f"reusing the learned encoder of {settings.encoder_from}")
        val_score = reused.get("metrics", {}).get(val_metric)
        steps, best_step, history = 0, 0, []
    metrics = {val_metric: val_score}
    lexical = None
    if settings.lexical_dim:
        model.encoder.eval()
        lexical = fit_lexical(programs, train_idx, val_idx, labels, lambda rows: _embed_rows(model.encoder, rows),
                              settings, settings.lexical_dim, settings.lexical_weight, log)
        if lexical.val_scores:
            metrics["val_map_at_r_with_lexical"] = lexical.val_scores[lexical.weight]
        if lexical.weight >= 1.0:   # validation wants none of it
            lexical = None
    encoder_config = dict(model.encoder.config)
    if lexical is not None:
        encoder_config["lexical"] = lexical.config()
    full_config = {"feature": "clones", "encoder": encoder_config, "representation": settings.representation,
                   "max_words": settings.max_words,
                   "settings": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(settings).items()},
                   "training": {k: v for k, v in asdict(config).items() if k != "checkpoint_dir"}}
    if reused is not None:
        meta = {**meta, "encoder_from": {k: reused.get(k) for k in ("command", "corpora", "counts", "split", "transforms",
                                                                    "metrics", "seconds", "date")}}
    card = {**meta, "counts": {"programs": len(programs), "train": len(train_idx), "val": len(val_idx),
                               "labels": len(label_ids)},
            "split": meta.get("split") or {
                "by": "label" if label_ids else "file",
                "validation_share": settings.val_share, "seed": settings.seed,
                "validation_groups": sorted({programs[i].group for i in val_idx})[:100]},
            "transforms": {"trained_on": list(settings.train_transforms),
                           "held_out": [t for t in TRANSFORMS if t not in settings.train_transforms]},
            "metrics": {**metrics, **meta.get("metrics", {})}, "seconds": round(time.monotonic() - started, 1)}
    # float16 on disk halves the size (the built-in model must stay under 25 MB); computed in float32
    saved = copy.deepcopy(model.encoder).half()
    if lexical is not None:
        saved.lexical = torch.nn.Module()
        saved.lexical.register_buffer("idf", torch.from_numpy(lexical.idf).half())
    save_model(out_dir, saved, full_config, card)
    return {"model": str(out_dir), "steps": steps, "best_step": best_step, **metrics,
            "lexical_weight": lexical.weight if lexical is not None else None,
            "seconds": card["seconds"], "view_seconds": round(view_seconds, 1),
            "counts": card["counts"], "history": history}


def _load_encoder_from(model, settings: CloneTrainSettings) -> dict:
    """Put the learned encoder of the clones model at ``settings.encoder_from`` into ``model``
    (its representation and sizes must be those of ``settings``); gives that model's data card."""
    import json

    import torch

    from ..models.numpy_encoder import load_arrays
    from ..models.registry import CONFIG, META, WEIGHTS

    source = Path(settings.encoder_from)
    try:
        config = json.loads((source / CONFIG).read_text(encoding="utf-8"))
        arrays = load_arrays(source / WEIGHTS)
        card = json.loads((source / META).read_text(encoding="utf-8")) if (source / META).exists() else {}
    except (OSError, ValueError) as exc:
        raise ValueError(f"{source}: not a usable clones model ({exc})") from None
    encoder = config.get("encoder", {})
    wanted = {"representation": settings.representation, "max_words": settings.max_words}
    have = {"representation": config.get("representation"), "max_words": config.get("max_words")}
    wanted.update(buckets=settings.buckets, dim=settings.dim, ngrams=settings.ngrams)
    have.update({k: encoder.get(k) for k in ("buckets", "dim", "ngrams")})
    if config.get("feature") != "clones" or wanted != have:
        diff = ", ".join(f"{k} {have[k]} (asked {wanted[k]})" for k in wanted if have[k] != wanted[k])
        raise ValueError(f"{source}: not a clones model of these settings" + (f": {diff}" if diff else ""))
    state = {k: torch.from_numpy(v.astype(np.float32)) for k, v in arrays.items() if not k.startswith("lexical.")}
    model.encoder.load_state_dict(state)
    return card
