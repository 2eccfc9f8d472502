"""Tokenizers for code: byte-level BPE trained with the ``tokenizers`` library.

Byte-level means every string is representable (no unknown tokens) and spaces, tabs and
newlines are kept as they are, so ``decode(encode(text).ids) == text``. The special tokens
come first in the vocabulary, in order, so ``<pad>`` is id 0 (what the builders assume),
``<unk>`` 1, ``<s>`` 2, ``</s>`` 3, ``<sep>`` 4, ``<mask>`` 5; a feature's own markers
(``extra_special_tokens``) follow them.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

DEFAULT_SPECIALS = ["<pad>", "<unk>", "<s>", "</s>", "<sep>", "<mask>"]
TOKENIZER_FILE = "tokenizer.json"


def train_tokenizer(texts: Iterable[str], vocab_size: int = 8000, min_frequency: int = 2,
                    special_tokens: Sequence[str] = DEFAULT_SPECIALS,
                    extra_special_tokens: Sequence[str] = ()):
    """Train a byte-level BPE tokenizer on ``texts`` (any iterable of strings, read once).

    Returns a ``tokenizers.Tokenizer``; its vocabulary may be smaller than ``vocab_size``
    when the corpus has too few pairs seen ``min_frequency`` times."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    specials = list(dict.fromkeys([*special_tokens, *extra_special_tokens]))
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                  special_tokens=specials, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def save_tokenizer(tokenizer, path: os.PathLike | str) -> Path:
    """Write ``tokenizer`` as JSON to ``path`` (a file, or a directory that gets ``tokenizer.json``)."""
    from ..store.files import atomic_path

    target = Path(path)
    if target.is_dir():
        target = target / TOKENIZER_FILE
    with atomic_path(target) as tmp:
        tokenizer.save(str(tmp))
    return target


def load_tokenizer(path: os.PathLike | str):
    """Load a tokenizer from a ``tokenizer.json`` file or a directory holding one."""
    from tokenizers import Tokenizer

    source = Path(path)
    if source.is_dir():
        source = source / TOKENIZER_FILE
    if not source.is_file():
        raise FileNotFoundError(f"no tokenizer at {source}")
    return Tokenizer.from_file(str(source))


def special_id(tokenizer, token: str) -> int:
    """The id of ``token`` (a special token such as ``<sep>``); KeyError if it has none."""
    token_id = tokenizer.token_to_id(token)
    if token_id is None:
        raise KeyError(f"token {token!r} is not in the tokenizer's vocabulary")
    return token_id
