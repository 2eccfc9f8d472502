"""`codeintel train merge`: fit the tokenizer and the MergeBERT classifier on labelled cases,
save it in the model registry, and the predictor that evaluation and the driver share."""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from .learn import Case, augmented, label_counts
from .features import CLASSES, N_TYPES, encode_instance

DEFAULT_MAX_LEN = 96


@dataclass
class MergeModelSettings:
    size: str = "compact"
    max_len: int = DEFAULT_MAX_LEN
    vocab_size: int = 8000
    epochs: int = 3
    batch_size: int = 32
    lr: float = 3e-4
    patience: int = 2
    seed: int = 13
    threshold: float = 0.9
    max_train: int = 0            # cap on training instances (0 = all)
    eval_every: int = 0           # validation every N steps (0 = each epoch)
    label_smoothing: float = 0.0
    mirror: bool = False          # also train on each instance with ours and theirs exchanged


def _texts(cases: Sequence[Case]):
    for c in cases:
        ex = c.example
        yield ex.ours
        yield ex.base
        yield ex.theirs
        yield ex.context_before + ex.context_after


def _specials(tokenizer) -> tuple[int, int, int]:
    from codeintel.models.tokenizer import special_id
    return special_id(tokenizer, "<s>"), special_id(tokenizer, "<sep>"), special_id(tokenizer, "</s>")


class Predictor:
    """A loaded classifier: instances -> [(class, confidence)]."""

    def __init__(self, model, tokenizer, max_len: int, batch_size: int = 64):
        self.model, self.tokenizer, self.max_len, self.batch_size = model, tokenizer, max_len, batch_size
        self.specials = _specials(tokenizer)

    def encode(self, inst):
        return encode_instance(self.tokenizer, inst.ours, inst.base, inst.theirs, inst.before, inst.after,
                               self.max_len, self.specials)

    def __call__(self, instances) -> list[tuple[str, float]]:
        import torch

        self.model.eval()
        out: list[tuple[str, float]] = []
        with torch.inference_mode():
            for start in range(0, len(instances), self.batch_size):
                rows = [self.encode(inst) for inst in instances[start:start + self.batch_size]]
                ids = torch.tensor([r[0] for r in rows])
                types = torch.tensor([r[1] for r in rows])
                probs = torch.softmax(self.model(ids, types).float(), dim=-1)
                conf, idx = probs.max(dim=-1)
                out.extend((CLASSES[i], float(c)) for i, c in zip(idx.tolist(), conf.tolist()))
        return out


def load_predictor(info):
    """The classifier of a registry entry, weights from safetensors only. A RoBERTa-shaped
    model runs in numpy (no torch import: a conflicted merge costs well under a second more
    than a clean one); anything else through torch."""
    from codeintel.models.numpy_encoder import supports
    from codeintel.models.tokenizer import load_tokenizer

    config = info.config
    tokenizer = load_tokenizer(info.path)
    if supports(config["encoder"]):
        from .inference import NumpyMergeClassifier
        return NumpyPredictor(NumpyMergeClassifier.load(info.path, config), tokenizer, config["max_len"])
    from codeintel.models.builders import model_from_config
    from codeintel.models.registry import load_state

    from .model import MergeClassifier
    model = MergeClassifier(model_from_config(config["encoder"]), config["encoder"]["hidden"])
    model.load_state_dict(load_state(info.path))
    model.eval()
    return Predictor(model, tokenizer, config["max_len"])


class NumpyPredictor(Predictor):
    """The same predictions computed with numpy."""

    def __call__(self, instances) -> list[tuple[str, float]]:
        import numpy as np

        out: list[tuple[str, float]] = []
        for start in range(0, len(instances), self.batch_size):
            rows = [self.encode(inst) for inst in instances[start:start + self.batch_size]]
            logits = self.model(np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
            logits = logits - logits.max(axis=-1, keepdims=True)
            probs = np.exp(logits)
            probs /= probs.sum(axis=-1, keepdims=True)
            out.extend((CLASSES[int(i)], float(p[i])) for p, i in zip(probs, probs.argmax(axis=-1)))
        return out


def train_model(train_cases: Sequence[Case], val_cases: Sequence[Case], out_dir: Path,
                settings: MergeModelSettings, meta: dict, checkpoint_dir: Optional[Path] = None,
                progress: bool = True):
    """Train and save; returns (Predictor, TrainResult)."""
    import torch
    import torch.nn.functional as F

    from codeintel.models.builders import build_encoder
    from codeintel.models.registry import save_model

    from .model import MergeClassifier
    from codeintel.models.tokenizer import train_tokenizer
    from codeintel.models.training import TrainConfig, train

    rng = random.Random(settings.seed)
    tokenizer = train_tokenizer(_texts(train_cases), vocab_size=settings.vocab_size)
    specials = _specials(tokenizer)
    class_index = {name: i for i, name in enumerate(CLASSES)}

    def encode_all(items):
        data = []
        for inst, label in items:
            ids, types = encode_instance(tokenizer, inst.ours, inst.base, inst.theirs, inst.before, inst.after,
                                         settings.max_len, specials)
            data.append((ids, types, class_index[label]))
        return data

    train_items = [(inst, label) for c in train_cases for inst, label in zip(c.instances, c.labels)]
    if settings.mirror:
        train_items = augmented(train_items, rng)
    else:
        rng.shuffle(train_items)
    if settings.max_train:
        train_items = train_items[:settings.max_train]
    val_items = [(inst, label) for c in val_cases for inst, label in zip(c.instances, c.labels)]
    train_data, val_data = encode_all(train_items), encode_all(val_items)

    encoder, enc_config = build_encoder(tokenizer.get_vocab_size(), settings.size,
                                        max_positions=settings.max_len + 2, type_vocab_size=N_TYPES)
    model = MergeClassifier(encoder, enc_config["hidden"])

    def collate(batch):
        return (torch.tensor([b[0] for b in batch]), torch.tensor([b[1] for b in batch]),
                torch.tensor([b[2] for b in batch]))

    def loss_fn(m, batch):
        ids, types, labels = batch
        return F.cross_entropy(m(ids, types), labels, label_smoothing=settings.label_smoothing)

    config = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr,
                         patience=settings.patience, seed=settings.seed, checkpoint_dir=checkpoint_dir,
                         eval_every_steps=settings.eval_every)
    result = train(model, train_data, val_data, collate, loss_fn, config, progress=progress)
    predictor = Predictor(model, tokenizer, settings.max_len)
    if torch.distributed.is_available() and torch.distributed.is_initialized() and torch.distributed.get_rank() != 0:
        return predictor, result  # under torchrun only rank 0 writes the model
    full_meta = {**meta, "training": {"instances": len(train_data), "val_instances": len(val_data),
                                      "labels": label_counts(train_cases), "steps": result.steps,
                                      "epochs_run": result.epochs_run, "best_val_loss": result.best_val_loss,
                                      "seconds": round(result.seconds, 1)},
                 "settings": vars(settings)}
    save_model(out_dir, model, {"encoder": enc_config, "max_len": settings.max_len, "labels": list(CLASSES),
                                "threshold": settings.threshold, "architecture": "mergebert-classifier"},
               full_meta, tokenizer=tokenizer)
    return predictor, result
