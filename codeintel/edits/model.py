"""The learned edit model (Tufano et al.): an encoder-decoder (``models.builders``, T5) trained
with the shared loop (``models.training``) on abstracted before -> after token sequences, saved
in the registry (safetensors, ``config.json`` with the idioms, ``tokenizer.json`` a word-level
vocabulary of abstract tokens, ``meta.json`` the data card).

``EditPredictor.predict(tokens, language)`` abstracts a function, decodes with beam search,
turns each candidate back into real tokens through the abstraction's mapping (a candidate
that uses an id the input lacks is dropped) and returns them with their probabilities.
torch is imported only here, when a model is trained or used.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

from .abstraction import NL, Token, abstract, concretize, pair_idioms, parses, render, tokenize

SPECIALS = ["<pad>", "<unk>", "<s>", "</s>"]
ID_SLOTS = 60          # VAR_1..VAR_60 etc. are always in the vocabulary


def active_predictor(root: Path):
    """The predictor of the active edits model (repository's, else built-in); None without one."""
    from ..models.registry import active_model

    info = active_model("edits", root)
    if info is None or not info.usable:
        return None
    return EditPredictor(info.path)


def predictor_for(model_dir: Optional[str], root: Path):
    if model_dir:
        return EditPredictor(Path(model_dir))
    return active_predictor(root)


def abstract_pair(before: Sequence[Token], after: Sequence[Token], idioms) -> Optional[tuple[list[str], list[str]]]:
    """The abstract before and after sharing one numbering; None when the after needs an
    identifier or literal the before does not have (the model could not produce it)."""
    a = abstract(before, idioms)
    b = abstract(after, idioms, a.mapping)
    if len(b.mapping) > len(a.mapping):
        return None
    return a.tokens, b.tokens


def build_vocabulary(sequences, idioms, min_count: int = 2) -> list[str]:
    from collections import Counter

    from .abstraction import ABSTRACT_KINDS

    counts: Counter = Counter()
    for seq in sequences:
        counts.update(seq)
    ids = [f"{kind}_{n}" for kind in ABSTRACT_KINDS for n in range(1, ID_SLOTS + 1)]
    words = [w for w, c in counts.most_common() if c >= min_count and not any(ch.isspace() for ch in w)]
    return list(dict.fromkeys([*SPECIALS, NL, *ids, *sorted(i for i in idioms if not any(ch.isspace() for ch in i)),
                               *words]))


def make_tokenizer(vocab: list[str]):
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(vocab)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return tok


@dataclass
class TrainSettings:
    size: str = "compact"
    epochs: int = 8
    batch_size: int = 32
    lr: float = 1e-3
    max_len: int = 160
    idiom_count: int = 300
    seed: int = 13
    patience: int = 2
    max_steps: int = 0             # stop after this many optimizer steps (0 = the epochs decide)
    threads: int = 1               # torch threads: the CPU is shared, and spinning threads hurt


def prepare(pairs: list[dict], idioms, max_len: int) -> list[tuple[list[str], list[str]]]:
    out = []
    for p in pairs:
        if len(p["before"]) > 20 * max_len:
            continue
        before, after = tokenize(p["before"], p["language"]), tokenize(p["after"], p["language"])
        if len(before) + 1 > max_len or len(after) + 1 > max_len:
            continue
        pair = abstract_pair(before, after, idioms)
        if pair is not None and pair[0] != pair[1]:
            out.append(pair)
    return out


def train_model(train_pairs: list[dict], val_pairs: list[dict], settings: TrainSettings, output: Path,
                meta: dict, progress: bool = True) -> dict:
    """Train on ``train_pairs`` (early stopping on ``val_pairs``) and save to ``output``.
    Returns a summary (counts, losses, seconds)."""
    import torch

    from ..models.builders import build_encoder_decoder
    from ..models.registry import save_model
    from ..models.training import TrainConfig, train

    torch.set_num_threads(settings.threads)
    started = time.monotonic()
    idioms = pair_idioms(train_pairs, settings.idiom_count)
    train_seqs = prepare(train_pairs, idioms, settings.max_len)
    val_seqs = prepare(val_pairs, idioms, settings.max_len)
    if len(train_seqs) < 2 or not val_seqs:
        raise ValueError(f"too few usable function changes to train on ({len(train_seqs)} train, {len(val_seqs)} val)")
    vocab = build_vocabulary((s for pair in train_seqs for s in pair), idioms)
    index = {w: i for i, w in enumerate(vocab)}
    unk = index["<unk>"]

    def encode(seq):
        return [index.get(t, unk) for t in seq] + [index["</s>"]]

    train_data = [(encode(a), encode(b)) for a, b in train_seqs if unk not in encode(b)]
    val_data = [(encode(a), encode(b)) for a, b in val_seqs]
    model, config = build_encoder_decoder(len(vocab), settings.size, max_positions=settings.max_len, arch="t5")

    def collate(batch):
        width_in = max(len(a) for a, _ in batch)
        width_out = max(len(b) for _, b in batch)
        ids = torch.tensor([a + [0] * (width_in - len(a)) for a, _ in batch])
        labels = torch.tensor([b + [-100] * (width_out - len(b)) for _, b in batch])
        return {"input_ids": ids, "attention_mask": (ids != 0).long(), "labels": labels}

    def loss_fn(m, batch):
        return m(**batch).loss

    steps_per_epoch = math.ceil(len(train_data) / settings.batch_size)
    cfg = TrainConfig(epochs=settings.epochs, batch_size=settings.batch_size, lr=settings.lr, seed=settings.seed,
                      patience=settings.patience, max_steps=settings.max_steps, checkpoint_dir=output.parent / f".{output.name}-ckpt")
    result = train(model, train_data, val_data, collate, loss_fn, cfg, progress=progress, resume=False)
    config.update(feature="edits", idioms=sorted(idioms), max_len=settings.max_len, vocab_size=len(vocab))
    summary = {"train_pairs": len(train_data), "val_pairs": len(val_data), "best_val_loss": result.best_val_loss,
               "steps": result.steps, "epochs_run": result.epochs_run, "steps_per_epoch": steps_per_epoch,
               "seconds": round(time.monotonic() - started, 1)}
    meta = dict(meta, counts={"train": len(train_data), "val": len(val_data), **meta.get("counts", {})},
                training=summary, seconds=summary["seconds"])
    save_model(output, model, config, meta, tokenizer=make_tokenizer(vocab))
    import shutil

    shutil.rmtree(output.parent / f".{output.name}-ckpt", ignore_errors=True)
    return summary


class EditPredictor:
    """A trained edits model, loaded once; ``predict`` is what suggestions and eval call."""

    def __init__(self, path: Path, beams: int = 10):
        import json

        import torch

        from ..models.registry import load_model
        from ..models.tokenizer import load_tokenizer

        self.path = Path(path)
        self.config = json.loads((self.path / "config.json").read_text(encoding="utf-8"))
        self.idioms = set(self.config.get("idioms", ()))
        self.max_len = int(self.config.get("max_len", 160))
        tok = load_tokenizer(self.path)
        vocab = tok.get_vocab()
        self.vocab = [w for w, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
        self.index = vocab
        self.model = load_model(self.path)
        self.beams = beams
        self._torch = torch

    def predict(self, tokens: Sequence[Token], language: str = "python", k: int = 10) -> list[tuple[list[str], float]]:
        """Up to ``k`` candidate token sequences (real texts, with ``<NL>``) and probabilities."""
        torch = self._torch
        a = abstract(tokens, self.idioms)
        if len(a.tokens) + 1 > self.max_len:
            return []
        unk, eos = self.index["<unk>"], self.index["</s>"]
        ids = torch.tensor([[self.index.get(t, unk) for t in a.tokens] + [eos]])
        beams = max(k, 1)
        with torch.no_grad():
            out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), num_beams=beams,
                                      num_return_sequences=beams, max_new_tokens=min(self.max_len, len(a.tokens) + 40),
                                      output_scores=True, return_dict_in_generate=True, early_stopping=True)
        scores = out.sequences_scores.tolist() if out.sequences_scores is not None else [0.0] * beams
        results, seen = [], set()
        for seq, score in zip(out.sequences.tolist(), scores):
            words = [self.vocab[i] for i in seq if i not in (0, eos) and i < len(self.vocab)]
            if "<unk>" in words:
                continue
            texts = concretize(words, a.mapping)
            if texts is None:
                continue
            key = tuple(texts)
            if key in seen:
                continue
            seen.add(key)
            results.append((texts, math.exp(score)))
        return results[:k]

    def candidates(self, tokens: Sequence[Token], pair: dict) -> list[list[str]]:
        """Candidates that parse, as code tokens (no layout), for the evaluation."""
        language = pair.get("language", "python")
        out = []
        for texts, _ in self.predict(tokens, language):
            if parses(render(pair["before"], tokens, texts, language), language):
                out.append([t for t in texts if t != NL])
        return out
