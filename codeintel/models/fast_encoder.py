"""A RoBERTa encoder in plain torch for inference: the same weights (state-dict names) as
transformers' RobertaModel built by ``build_encoder(arch="roberta")``, without importing
transformers (about a second saved at every start, which the merge driver pays per file)."""
from __future__ import annotations

import math

import torch
from torch import nn


class _Embeddings(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        hidden = cfg["hidden_size"]
        self.pad = cfg["pad_token_id"]
        self.word_embeddings = nn.Embedding(cfg["vocab_size"], hidden, padding_idx=self.pad)
        self.position_embeddings = nn.Embedding(cfg["max_position_embeddings"], hidden, padding_idx=self.pad)
        self.token_type_embeddings = nn.Embedding(cfg["type_vocab_size"], hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=cfg["layer_norm_eps"])

    def forward(self, input_ids, token_type_ids):
        # RoBERTa numbers positions from pad + 1, skipping padding
        mask = input_ids.ne(self.pad).long()
        positions = torch.cumsum(mask, dim=1) * mask + self.pad
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)
        x = x + self.token_type_embeddings(token_type_ids)
        return self.LayerNorm(x)


class _Linear(nn.Module):
    """A named holder so parameter names match transformers' (``…dense.weight``)."""

    def __init__(self, n_in: int, n_out: int, eps: float | None = None):
        super().__init__()
        self.dense = nn.Linear(n_in, n_out)
        if eps is not None:
            self.LayerNorm = nn.LayerNorm(n_out, eps=eps)


class _SelfAttention(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(hidden, hidden)
        self.value = nn.Linear(hidden, hidden)


class _Attention(nn.Module):
    def __init__(self, hidden: int, eps: float):
        super().__init__()
        self.self = _SelfAttention(hidden)
        self.output = _Linear(hidden, hidden, eps)


class _Layer(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        hidden, eps = cfg["hidden_size"], cfg["layer_norm_eps"]
        self.heads = cfg["num_attention_heads"]
        self.attention = _Attention(hidden, eps)
        self.intermediate = _Linear(hidden, cfg["intermediate_size"])
        self.output = _Linear(cfg["intermediate_size"], hidden, eps)

    def forward(self, x, bias):
        b, n, h = x.shape
        att = self.attention.self

        def split(t):
            return t.view(b, n, self.heads, h // self.heads).transpose(1, 2)

        q, k, v = split(att.query(x)), split(att.key(x)), split(att.value(x))
        scores = q @ k.transpose(-1, -2) / math.sqrt(h // self.heads) + bias
        ctx = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, h)
        x = self.attention.output.LayerNorm(self.attention.output.dense(ctx) + x)
        inner = nn.functional.gelu(self.intermediate.dense(x))
        return self.output.LayerNorm(self.output.dense(inner) + x)


class _Stack(nn.Module):
    def __init__(self, cfg: dict):
        super().__init__()
        self.layer = nn.ModuleList(_Layer(cfg) for _ in range(cfg["num_hidden_layers"]))


class _Output:
    def __init__(self, last_hidden_state):
        self.last_hidden_state = last_hidden_state


class FastRobertaEncoder(nn.Module):
    """Inference-only; ``forward`` takes what RobertaModel takes and returns ``.last_hidden_state``."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.embeddings = _Embeddings(cfg)
        self.encoder = _Stack(cfg)

    @classmethod
    def supports(cls, config: dict) -> bool:
        from .numpy_encoder import supports
        return supports(config)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        if attention_mask is None:
            attention_mask = input_ids.ne(self.embeddings.pad).long()
        bias = (1.0 - attention_mask[:, None, None, :].float()) * torch.finfo(torch.float32).min
        x = self.embeddings(input_ids, token_type_ids)
        for layer in self.encoder.layer:
            x = layer(x, bias)
        return _Output(x)
