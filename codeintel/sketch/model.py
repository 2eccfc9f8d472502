"""The SkCoder model: the sketcher (a token tagger) and the editor (a one-passage
Fusion-in-Decoder encoder-decoder) in one module, saved as one safetensors file with one
``config.json`` (``{"kind": "skcoder", "sketcher": ..., "editor": ..., "sketch": settings}``).

``SketchPredictor`` is a loaded model: tag an exemplar's tokens (the sketch), and write a body
from a requirement and a sketch (or the whole exemplar, or nothing) with a small beam.
Importing this module imports torch.
"""
from __future__ import annotations

import threading
from dataclasses import asdict
from typing import Optional, Sequence

import torch

from codeintel.models.fid import FusionInDecoder, build_fid, fid_from_config
from codeintel.models.tagger import TokenTagger, build_tagger, tagger_from_config

from .sketcher import Encoded, SketchCodec, SketchSettings, pad_batch


class SkCoderModel(torch.nn.Module):
    def __init__(self, sketcher: TokenTagger, editor: FusionInDecoder):
        super().__init__()
        self.sketcher, self.editor = sketcher, editor


def build_skcoder(vocab_size: int, size: str = "compact", settings: SketchSettings = SketchSettings(),
                  editor_size: Optional[str] = None):
    sketcher, sketcher_cfg = build_tagger(vocab_size, size=size, max_positions=settings.requirement_len
                                          + settings.exemplar_len + 8)
    editor, editor_cfg = build_fid(vocab_size, size=editor_size or size, arch="t5")
    config = {"kind": "skcoder", "arch": "skcoder", "sketcher": sketcher_cfg, "editor": editor_cfg,
              "sketch": asdict(settings), "size": size}
    return SkCoderModel(sketcher, editor), config


def skcoder_from_config(config: dict) -> SkCoderModel:
    if config.get("kind") != "skcoder":
        raise ValueError("not a sketch model config (kind must be 'skcoder')")
    return SkCoderModel(tagger_from_config(config["sketcher"]), fid_from_config(config["editor"]))


def settings_of(config: dict) -> SketchSettings:
    return SketchSettings(**{k: v for k, v in config.get("sketch", {}).items()
                             if k in SketchSettings.__dataclass_fields__})


# ------------------------------------------------------------------------------- losses (training)
def tagger_collate(rows, pad: int = 0):
    ids, mask = pad_batch([r[0] for r in rows], pad)
    labels, _ = pad_batch([r[1] for r in rows], pad, fill=-100)
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def tagger_loss(model, batch):
    return model.loss(batch["input_ids"], batch["attention_mask"], batch["labels"])


def editor_collate(rows, pad: int = 0):
    ids, mask = pad_batch([r[0] for r in rows], pad)
    labels, _ = pad_batch([r[1] for r in rows], pad, fill=-100)
    return {"input_ids": ids.unsqueeze(1), "attention_mask": mask.unsqueeze(1), "labels": labels}


def editor_loss(model, batch):
    return model(batch["input_ids"], batch["attention_mask"], batch["labels"])


def keep_probabilities(tagger: TokenTagger, inputs: Sequence[tuple[list[int], int, int]], pad: int,
                       batch_size: int = 64) -> list[list[float]]:
    """For (ids, exemplar start, exemplar length) rows: P(keep) of each exemplar token."""
    out = []
    tagger.eval()
    with torch.inference_mode():
        for at in range(0, len(inputs), batch_size):
            chunk = inputs[at:at + batch_size]
            ids, mask = pad_batch([c[0] for c in chunk], pad)
            probs = tagger(ids, mask).softmax(-1)[..., 1]
            for row, (_, start, n) in zip(probs.tolist(), chunk):
                out.append(row[start:start + n])
    return out


# ------------------------------------------------------------------------------- inference
class SketchPredictor:
    def __init__(self, model: SkCoderModel, tokenizer, settings: SketchSettings, name: str = ""):
        self.model = model.eval()
        self.codec = SketchCodec(tokenizer, settings)
        self.settings, self.name = settings, name
        self.lock = threading.Lock()

    def sketch(self, requirement: str, exemplar_code: str) -> tuple[Encoded, list[bool], list[float]]:
        """The exemplar's tokens, their keep tags and P(keep)."""
        req = self.codec.requirement(requirement)
        exemplar = self.codec.exemplar(exemplar_code)
        ids, start = self.codec.tagger_input(req, exemplar)
        with self.lock:
            probs = keep_probabilities(self.model.sketcher, [(ids, start, len(exemplar.ids))], self.codec.pad)[0]
        return exemplar, [p >= self.settings.threshold for p in probs], probs

    def write(self, requirement: str, exemplar: Optional[Encoded], keep: Optional[Sequence[bool]],
              n_beams: int = 4, max_new_tokens: Optional[int] = None) -> list[tuple[str, float]]:
        """Bodies (text at column 0, score) from the requirement and the sketch, best first."""
        return self.write_batch([(requirement, exemplar, keep)], n_beams, max_new_tokens)[0]

    def write_batch(self, inputs: Sequence[tuple[str, Optional[Encoded], Optional[Sequence[bool]]]],
                    n_beams: int = 4, max_new_tokens: Optional[int] = None) -> list[list[tuple[str, float]]]:
        """``write`` for several (requirement, exemplar, keep) inputs in one beam search."""
        rows = [(self.codec.editor_input(self.codec.requirement(r), e, k), [self.codec.eos]) for r, e, k in inputs]
        batch = editor_collate(rows, self.codec.pad)
        limit = min(max_new_tokens or self.settings.target_len, self.settings.target_len)
        n = max(1, n_beams)
        with self.lock, torch.inference_mode():
            seqs, scores = self.model.editor.generate(batch["input_ids"], batch["attention_mask"],
                                                      max_new_tokens=limit, num_beams=n, num_return_sequences=n,
                                                      eos_token_id=self.codec.eos)
        decoded = [(self.codec.decode(seq), float(sc)) for seq, sc in zip(seqs.tolist(), scores.tolist())]
        return [decoded[i * n:(i + 1) * n] for i in range(len(inputs))]


_loaded: dict = {}
_loaded_lock = threading.Lock()


def load_predictor(info) -> SketchPredictor:
    """The model of a registry entry (weights from safetensors only), loaded once per directory
    and version of its weights."""
    from codeintel.models.registry import WEIGHTS, load_state
    from codeintel.models.tokenizer import load_tokenizer

    weights = info.path / WEIGHTS
    key = (str(info.path), weights.stat().st_mtime_ns)
    with _loaded_lock:
        if key in _loaded:
            return _loaded[key]
        if info.tokenizer_path is None:
            raise ValueError(f"{info.path}: no tokenizer.json")
        torch.set_num_threads(1)     # faster than two for models this small, and kinder to a shared CPU
        model = skcoder_from_config(info.config)
        model.load_state_dict(load_state(info.path))
        predictor = SketchPredictor(model, load_tokenizer(info.tokenizer_path), settings_of(info.config),
                                    name=str(info.path))
        _loaded[key] = predictor
        return predictor
