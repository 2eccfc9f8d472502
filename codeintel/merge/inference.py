"""The merge classifier's forward pass in numpy (same weights as ``model.MergeClassifier``):
what the merge driver runs, so resolving a conflict never imports torch."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from codeintel.models.numpy_encoder import NumpyRoberta, load_arrays


class NumpyMergeClassifier:
    def __init__(self, state: dict, config: dict):
        self.encoder = NumpyRoberta(state, "encoder.", config["encoder"]["transformers"])
        self.head = {k[len("head."):]: v.astype(np.float32) for k, v in state.items() if k.startswith("head.")}

    @classmethod
    def load(cls, directory, config: dict) -> "NumpyMergeClassifier":
        return cls(load_arrays(Path(directory) / "model.safetensors"), config)

    def __call__(self, ids: np.ndarray, types: np.ndarray) -> np.ndarray:
        """ids, types: (batch, 4, length) -> logits (batch, classes)."""
        batch, views, length = ids.shape
        hidden = self.encoder.forward(ids.reshape(batch * views, length), types.reshape(batch * views, length))
        pooled = hidden[:, 0, :].reshape(batch, -1)
        h = self.head
        inner = np.tanh(pooled @ h["1.weight"].T + h["1.bias"])
        return inner @ h["4.weight"].T + h["4.bias"]
