"""MergeBERT's classifier: a shared encoder over the four aligned views of a conflict (see
``features``) and a head over their pooled states that scores the classes."""
from __future__ import annotations

import torch
from torch import nn

from .features import CLASSES, TYPE_PAD


class MergeClassifier(nn.Module):
    """A shared encoder over the four aligned sequences and a head over their pooled states."""

    def __init__(self, encoder: nn.Module, hidden: int, n_classes: int = len(CLASSES), dropout: float = 0.1):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(4 * hidden, hidden), nn.Tanh(),
                                  nn.Dropout(dropout), nn.Linear(hidden, n_classes))

    def forward(self, input_ids: torch.Tensor, type_ids: torch.Tensor) -> torch.Tensor:
        """input_ids, type_ids: (batch, 4, length) -> logits (batch, classes)."""
        batch, views, length = input_ids.shape
        flat_ids = input_ids.reshape(batch * views, length)
        mask = (type_ids.reshape(batch * views, length) != TYPE_PAD).long()
        out = self.encoder(input_ids=flat_ids, attention_mask=mask,
                           token_type_ids=type_ids.reshape(batch * views, length))
        pooled = out.last_hidden_state[:, 0, :].reshape(batch, views * out.last_hidden_state.shape[-1])
        return self.head(pooled)
