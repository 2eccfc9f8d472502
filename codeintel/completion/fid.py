"""The completion model: RepoFusion's Fusion-in-Decoder over the ranked proposals.

Passages. For a cursor, passage i is ``<s> context <sep> label_i proposal_i`` cut to
``passage_len`` tokens, where *context* is the last ``context_len`` tokens before the cursor
(so every passage sees the code being completed) and *label_i* names the proposal's source and
form (``# imported method_bodies``). The first ``passages`` proposals in rank order are used
(the in-file prior and post lines come first). The decoder writes the rest of the line,
and after a block opening (a line ending in ':') also the block's first lines (up to
``BLOCK_LINES``), then ``</s>``.

Training data (RepoFusion's recipe): holes cut at random points of non-blank lines of the
repository's own files; the proposals for a hole come from the index with the hole's file left
out of every retrieved source, so the target is never in the context.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Optional, Sequence

from .cursor import Cursor, random_cuts

BLOCK_LINES = 3
MARKERS = ("<sep>",)


@dataclass
class FidSettings:
    passages: int = 6          # proposals encoded per example
    passage_len: int = 128     # tokens per passage
    context_len: int = 48      # tokens of the code before the cursor in every passage
    target_len: int = 48       # tokens of the target (rest of the line / block)
    budget: int = 96           # proposal token budget (word/punctuation tokens, before BPE)


def target_of(lines: list[str], index: int, cut: int) -> str:
    """The rest of line ``index`` from ``cut``, plus the block's first lines after a ':'."""
    line = lines[index].rstrip()
    target = line[cut:]
    if line.endswith(":"):
        indent = len(line) - len(line.lstrip())
        block = []
        for follow in lines[index + 1:index + 1 + BLOCK_LINES]:
            if follow.strip() and len(follow) - len(follow.lstrip()) <= indent:
                break
            block.append(follow.rstrip())
        while block and not block[-1].strip():
            block.pop()
        if block:
            target += "\n" + "\n".join(block)
    return target


class PassageEncoder:
    """Cursor + proposals -> token ids of the passages; target text -> label ids."""

    def __init__(self, tokenizer, settings: FidSettings):
        from codeintel.models.tokenizer import special_id

        self.tok, self.s = tokenizer, settings
        self.bos, self.eos = special_id(tokenizer, "<s>"), special_id(tokenizer, "</s>")
        self.sep, self.pad = special_id(tokenizer, "<sep>"), special_id(tokenizer, "<pad>")
        self._labels: dict[str, list[int]] = {}

    def _label(self, source: str, form: str) -> list[int]:
        key = f"# {source} {form}\n"
        if key not in self._labels:
            self._labels[key] = self.tok.encode(key).ids
        return self._labels[key]

    def passages(self, cursor: Cursor, proposals: Sequence) -> list[list[int]]:
        s = self.s
        context = self.tok.encode(cursor.prefix[-12 * s.context_len:]).ids[-s.context_len:]
        chosen = list(proposals[:s.passages]) or [None]
        texts = [p.text for p in chosen if p is not None]
        encoded = self.tok.encode_batch(texts) if texts else []
        out, k = [], 0
        for p in chosen:
            head = [self.bos] + context + [self.sep]
            if p is not None:
                head += self._label(p.source, p.form) + encoded[k].ids
                k += 1
            out.append(head[:s.passage_len])
        return out

    def target(self, text: str) -> list[int]:
        return self.tok.encode(text).ids[:self.s.target_len - 1] + [self.eos]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode([i for i in ids if i > 5], skip_special_tokens=True)


def collate(rows, pad: int = 0):
    """[(passages, target ids)] -> batch tensors (passages padded to the batch's largest P and L)."""
    import torch

    n_pass = max(len(r[0]) for r in rows)
    length = max(len(p) for r in rows for p in r[0])
    t_len = max(len(r[1]) for r in rows)
    ids = torch.full((len(rows), n_pass, length), pad, dtype=torch.long)
    labels = torch.full((len(rows), t_len), -100, dtype=torch.long)
    for b, (passages, target) in enumerate(rows):
        for i, p in enumerate(passages):
            ids[b, i, :len(p)] = torch.tensor(p)
        labels[b, :len(target)] = torch.tensor(target)
    return {"input_ids": ids, "attention_mask": (ids != pad).long(), "labels": labels}


def fid_loss(model, batch):
    return model(batch["input_ids"], batch["attention_mask"], batch["labels"])


# ------------------------------------------------------------------------------- training data
@dataclass
class Hole:
    path: str
    prefix: str
    suffix: str
    target: str


def cut_training_holes(files: dict[str, str], per_file: int, rng: random.Random) -> list[Hole]:
    """Holes at random points of non-blank lines (``cursor.random_cuts``); targets with the block after a ':'."""
    holes = []
    for path in sorted(files):
        text = files[path]
        for cut in random_cuts(text, per_file, rng):
            target = target_of(cut.lines, cut.index, cut.column)
            end = cut.start + cut.column + len(target)
            holes.append(Hole(path, text[:cut.start + cut.column], text[end:], target))
    return holes


def make_examples(store, holes: Sequence[Hole], encoder: PassageEncoder, dense=None, progress=None):
    """(passages, target ids) for each hole, proposals from ``store`` with the hole's file left out."""
    from .proposals import make_proposals

    examples = []
    for n, hole in enumerate(holes):
        cursor = Cursor.from_parts(hole.path, hole.prefix, hole.suffix)
        proposals = make_proposals(store, cursor, budget=encoder.s.budget, limit=encoder.s.passages, dense=dense,
                                   exclude_paths=[hole.path], bm25=2, dense_k=2)
        examples.append((encoder.passages(cursor, proposals), encoder.target(hole.target)))
        if progress:
            progress(n + 1, len(holes))
    return examples


# ------------------------------------------------------------------------------- inference
class FidPredictor:
    """A loaded completion model: (cursor, proposals) -> [(text, score)]."""

    def __init__(self, model, tokenizer, settings: FidSettings, name: str = ""):
        self.model, self.encoder, self.settings, self.name = model.eval(), PassageEncoder(tokenizer, settings), \
            settings, name
        self.lock = threading.Lock()

    def predict(self, cursor: Cursor, proposals: Sequence, n: int = 1, max_new_tokens: Optional[int] = None,
                ) -> list[tuple[str, float]]:
        import torch

        passages = self.encoder.passages(cursor, proposals)
        batch = collate([(passages, [self.encoder.eos])])
        limit = min(max_new_tokens or self.settings.target_len, self.settings.target_len)
        with self.lock, torch.inference_mode():
            seqs, scores = self.model.generate(batch["input_ids"], batch["attention_mask"], max_new_tokens=limit,
                                               num_beams=n, num_return_sequences=n,
                                               eos_token_id=self.encoder.eos)
        out = []
        for seq, sc in zip(seqs.tolist(), scores.tolist()):
            out.append((self.encoder.decode(seq).rstrip(), float(sc)))
        return out


def load_predictor(info) -> FidPredictor:
    """The model of a registry entry (weights from safetensors only)."""
    import torch

    from codeintel.models.fid import fid_from_config
    from codeintel.models.registry import load_state
    from codeintel.models.tokenizer import load_tokenizer

    torch.set_num_threads(max(1, min(2, torch.get_num_threads())))
    model = fid_from_config(info.config)
    model.load_state_dict(load_state(info.path))
    settings = FidSettings(**{k: v for k, v in info.config.get("completion", {}).items()
                              if k in FidSettings.__dataclass_fields__})
    if info.tokenizer_path is None:
        raise ValueError(f"{info.path}: no tokenizer.json")
    return FidPredictor(model, load_tokenizer(info.tokenizer_path), settings, name=str(info.path))
