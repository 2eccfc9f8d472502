"""RoBERTa inference in numpy for the small built-in encoders: the weights of
``build_encoder(arch="roberta")`` (read from safetensors without torch), so a command that
needs one prediction does not pay torch's import (about two seconds here)."""
from __future__ import annotations

import math

import numpy as np


def supports(config: dict) -> bool:
    """True for a builder config these plain re-implementations compute exactly (the
    torch one in fast_encoder and the numpy one here)."""
    hf = config.get("transformers", {})
    return (config.get("arch") == "roberta" and not config.get("pooler") and not config.get("head")
            and hf.get("hidden_act") == "gelu" and hf.get("position_embedding_type", "absolute") == "absolute")


def load_arrays(path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file
    return load_file(str(path))


def _layer_norm(x, weight, bias, eps):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def _linear(x, state, name):
    return x @ state[name + ".weight"].T + state[name + ".bias"]


def _gelu(x):
    # scipy's erf is a C ufunc (the same values as math.erf): a Python call per element through
    # np.vectorize took seconds and an object array of about 30 bytes per element
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.float32(math.sqrt(2.0))).astype(np.float32))


class NumpyRoberta:
    """``forward(ids, types) -> last hidden states`` for weights under ``prefix``."""

    def __init__(self, state: dict[str, np.ndarray], prefix: str, cfg: dict):
        self.s = {k[len(prefix):]: v.astype(np.float32) for k, v in state.items() if k.startswith(prefix)}
        self.cfg = cfg

    def forward(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        s, cfg = self.s, self.cfg
        pad, eps, heads = cfg["pad_token_id"], cfg["layer_norm_eps"], cfg["num_attention_heads"]
        mask = (ids != pad).astype(np.int64)
        positions = np.cumsum(mask, axis=1) * mask + pad
        x = (s["embeddings.word_embeddings.weight"][ids] + s["embeddings.position_embeddings.weight"][positions]
             + s["embeddings.token_type_embeddings.weight"][types])
        x = _layer_norm(x, s["embeddings.LayerNorm.weight"], s["embeddings.LayerNorm.bias"], eps)
        bias = ((1.0 - mask[:, None, None, :]) * np.finfo(np.float32).min).astype(np.float32)
        b, n, h = x.shape
        d = h // heads
        for i in range(cfg["num_hidden_layers"]):
            p = f"encoder.layer.{i}."

            def split(t):
                return t.reshape(b, n, heads, d).transpose(0, 2, 1, 3)

            q = split(_linear(x, s, p + "attention.self.query"))
            k = split(_linear(x, s, p + "attention.self.key"))
            v = split(_linear(x, s, p + "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(d) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(b, n, h)
            x = _layer_norm(_linear(ctx, s, p + "attention.output.dense") + x,
                            s[p + "attention.output.LayerNorm.weight"], s[p + "attention.output.LayerNorm.bias"], eps)
            inner = _gelu(_linear(x, s, p + "intermediate.dense"))
            x = _layer_norm(_linear(inner, s, p + "output.dense") + x,
                            s[p + "output.LayerNorm.weight"], s[p + "output.LayerNorm.bias"], eps)
        return x
