"""Model plumbing every learned feature shares.

- ``tokenizer``: byte-level BPE trained on code (``tokenizers``), saving and loading.
- ``builders``: small transformer encoders, decoders and encoder-decoders (``transformers``)
  from size presets, and rebuilding any of them from its JSON config.
- ``training``: the one training loop (seeded, resumable from safetensors checkpoints,
  early stopping, progress bar, DDP under ``torchrun``).
- ``checkpoint`` and ``io``: training checkpoints, safetensors files with tied weights,
  directories written atomically.
- ``registry``: trained models on disk (repository-trained and built-in), their data cards,
  and which one is active for a feature.
- ``fid``: Fusion-in-Decoder over an encoder-decoder (passages encoded apart, decoded together).
- ``generation``: generation backends: a local Hugging Face causal-LM checkpoint, an
  OpenAI-compatible completions endpoint, and the prompt packing they share.

Importing this package imports nothing heavy: torch and transformers are loaded only by
the functions that need them.
"""
