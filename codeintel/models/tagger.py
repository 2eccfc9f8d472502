"""Token tagging over a builder encoder: an encoder (``builders.build_encoder``) with a linear
layer that gives every token a score per tag (e.g. keep / drop). Loss: cross-entropy over
the tokens whose label is not -100.

Importing this module imports torch.
"""
from __future__ import annotations

import torch


class TokenTagger(torch.nn.Module):
    def __init__(self, encoder, tags: int = 2):
        super().__init__()
        self.encoder = encoder
        self.head = torch.nn.Linear(encoder.config.hidden_size, tags)

    def forward(self, input_ids, attention_mask):
        """``(B, L)`` -> tag logits ``(B, L, tags)``."""
        states = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(states)

    def loss(self, input_ids, attention_mask, labels):
        logits = self(input_ids, attention_mask)
        return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                                 ignore_index=-100)


def build_tagger(vocab_size: int, size: str = "compact", tags: int = 2, max_positions: int = 512, **overrides):
    """A new (randomly initialised) tagger and its builder config (``config["tags"]``)."""
    from .builders import build_encoder

    encoder, config = build_encoder(vocab_size, size=size, max_positions=max_positions, **overrides)
    config["tags"] = tags
    return TokenTagger(encoder, tags), config


def tagger_from_config(config: dict) -> TokenTagger:
    from .builders import model_from_config

    return TokenTagger(model_from_config(config), int(config.get("tags", 2)))
