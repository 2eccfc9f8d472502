"""Repository-context code completion (RepoFusion).

- ``cursor``: the buffer split at the cursor.
- ``proposals``: RLPG prompt proposals from the store (sources x forms, token budgets, the
  ranking heuristic).
- ``matching``: the model-free predictor (best-matching continuation in context texts).
- ``api``: ``complete()``, what the CLI and the language server call; model loading cached per
  repository root, thread-safe, falling back to the model-free predictor.
- ``fid``: the built-in Fusion-in-Decoder model's passages, training data and predictor.
- ``evaluate``: held-out evaluation against the model-free baselines.

Importing this package imports nothing heavy.
"""
from .api import Suggestion, complete, CompletionSettings
from .cursor import BadPosition, Cursor

__all__ = ["complete", "Suggestion", "CompletionSettings", "BadPosition", "Cursor"]
