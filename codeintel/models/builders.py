"""Small transformer builders: encoder, decoder, encoder-decoder, from size presets.

Each builder returns ``(model, config)`` where ``config`` is a JSON-serialisable dict
(what goes into a model directory's ``config.json``) and ``model_from_config(config)``
rebuilds the same architecture from it (randomly initialised: load the weights after).
Features may add their own keys to that dict; ``model_from_config`` ignores them.

Ids follow ``tokenizer.DEFAULT_SPECIALS``: pad 0, bos ``<s>`` 2, eos ``</s>`` 3.
"""
from __future__ import annotations

import json
from typing import Any, Optional

SIZES: dict[str, dict[str, int]] = {
    "tiny": {"hidden": 64, "layers": 2, "heads": 2, "ffn": 128},      # tests
    "compact": {"hidden": 128, "layers": 2, "heads": 4, "ffn": 512},  # built-in CPU classifiers
    "small": {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024},
    "base": {"hidden": 384, "layers": 6, "heads": 6, "ffn": 1536},
}
PAD_ID, BOS_ID, EOS_ID = 0, 2, 3
_SHAPE_KEYS = ("hidden", "layers", "heads", "ffn")


def count_parameters(model) -> int:
    """Distinct parameters (tied weights counted once)."""
    seen, total = set(), 0
    for param in model.parameters():
        if id(param) not in seen:
            seen.add(id(param))
            total += param.numel()
    return total


def _shape(size: str, overrides: dict) -> dict[str, Any]:
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; one of {', '.join(SIZES)}")
    shape = dict(SIZES[size])
    for key in _SHAPE_KEYS:
        if key in overrides:
            shape[key] = int(overrides.pop(key))
    if shape["hidden"] % shape["heads"]:
        raise ValueError(f"hidden size {shape['hidden']} is not a multiple of {shape['heads']} heads")
    return shape


def _dropout(names: tuple[str, ...], overrides: dict) -> dict[str, float]:
    if "dropout" not in overrides:
        return {}
    value = float(overrides.pop("dropout"))
    return {name: value for name in names}


def _finish(kind: str, arch: str, size: str, shape: dict, hf_config, head: Optional[str] = None,
            **extra) -> tuple[Any, dict]:
    config = {"kind": kind, "arch": arch, "size": size, "head": head, **shape, **extra,
              "vocab_size": hf_config.vocab_size,
              "transformers": json.loads(hf_config.to_json_string(use_diff=False))}
    model = model_from_config(config)
    config["parameters"] = count_parameters(model)
    return model, config


def build_encoder(vocab_size: int, size: str = "small", max_positions: int = 512, arch: str = "roberta",
                  head: Optional[str] = None, pooler: bool = False, **overrides):
    """A bidirectional encoder: ``RobertaModel`` (or ``arch="bert"``: ``BertModel``).

    ``head="mlm"`` adds the masked-language-model head (``*ForMaskedLM``); ``pooler`` adds
    the [CLS] pooler layer. ``overrides``: ``hidden``, ``layers``, ``heads``, ``ffn``,
    ``dropout``, or any key of the transformers config (``pad_token_id``, ...)."""
    if arch not in ("roberta", "bert"):
        raise ValueError(f"unknown encoder arch {arch!r}: roberta or bert")
    if head not in (None, "mlm"):
        raise ValueError(f"unknown encoder head {head!r}: None or 'mlm'")
    overrides = dict(overrides)
    shape = _shape(size, overrides)
    drop = _dropout(("hidden_dropout_prob", "attention_probs_dropout_prob"), overrides)
    common = dict(vocab_size=vocab_size, hidden_size=shape["hidden"], num_hidden_layers=shape["layers"],
                  num_attention_heads=shape["heads"], intermediate_size=shape["ffn"],
                  pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=EOS_ID, type_vocab_size=1, **drop)
    if arch == "roberta":
        from transformers import RobertaConfig
        # RoBERTa numbers positions from pad_token_id + 1: room for max_positions tokens.
        hf = RobertaConfig(**{**common, "max_position_embeddings": max_positions + PAD_ID + 2, **overrides})
    else:
        from transformers import BertConfig
        hf = BertConfig(**{**common, "max_position_embeddings": max_positions, **overrides})
    return _finish("encoder", arch, size, shape, hf, head=head, pooler=bool(pooler), max_positions=max_positions)


def build_decoder(vocab_size: int, size: str = "small", max_positions: int = 1024, **overrides):
    """A causal language model: ``GPT2LMHeadModel`` (input embeddings tied to the LM head)."""
    from transformers import GPT2Config

    overrides = dict(overrides)
    overrides.pop("arch", None)
    shape = _shape(size, overrides)
    drop = _dropout(("resid_pdrop", "embd_pdrop", "attn_pdrop"), overrides)
    hf = GPT2Config(**{**dict(vocab_size=vocab_size, n_positions=max_positions, n_embd=shape["hidden"],
                              n_layer=shape["layers"], n_head=shape["heads"], n_inner=shape["ffn"],
                              pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=EOS_ID, **drop),
                       **overrides})
    return _finish("decoder", "gpt2", size, shape, hf, max_positions=max_positions)


def build_encoder_decoder(vocab_size: int, size: str = "small", max_positions: int = 512, arch: str = "t5",
                          **overrides):
    """A sequence-to-sequence model: ``T5ForConditionalGeneration`` (relative positions, so
    ``max_positions`` is advisory; the decoder starts from pad, T5's convention) or
    ``arch="bart"``: ``BartForConditionalGeneration`` (learned positions up to
    ``max_positions``; the decoder starts from ``</s>``). Embeddings are shared and tied."""
    overrides = dict(overrides)
    shape = _shape(size, overrides)
    if arch == "t5":
        from transformers import T5Config
        drop = _dropout(("dropout_rate",), overrides)
        hf = T5Config(**{**dict(vocab_size=vocab_size, d_model=shape["hidden"],
                                d_kv=shape["hidden"] // shape["heads"], d_ff=shape["ffn"],
                                num_layers=shape["layers"], num_decoder_layers=shape["layers"],
                                num_heads=shape["heads"], pad_token_id=PAD_ID, eos_token_id=EOS_ID,
                                bos_token_id=BOS_ID, decoder_start_token_id=PAD_ID, **drop), **overrides})
    elif arch == "bart":
        from transformers import BartConfig
        drop = _dropout(("dropout", "attention_dropout"), overrides)
        hf = BartConfig(**{**dict(vocab_size=vocab_size, d_model=shape["hidden"], encoder_layers=shape["layers"],
                                  decoder_layers=shape["layers"], encoder_attention_heads=shape["heads"],
                                  decoder_attention_heads=shape["heads"], encoder_ffn_dim=shape["ffn"],
                                  decoder_ffn_dim=shape["ffn"], max_position_embeddings=max_positions,
                                  pad_token_id=PAD_ID, bos_token_id=BOS_ID, eos_token_id=EOS_ID,
                                  decoder_start_token_id=EOS_ID, forced_eos_token_id=EOS_ID, **drop),
                           **overrides})
    else:
        raise ValueError(f"unknown encoder-decoder arch {arch!r}: t5 or bart")
    return _finish("encoder-decoder", arch, size, shape, hf, max_positions=max_positions)


def _classes(kind: str, arch: str, head: Optional[str]):
    import transformers as tf

    table = {
        ("encoder", "roberta", None): ("RobertaConfig", "RobertaModel"),
        ("encoder", "roberta", "mlm"): ("RobertaConfig", "RobertaForMaskedLM"),
        ("encoder", "bert", None): ("BertConfig", "BertModel"),
        ("encoder", "bert", "mlm"): ("BertConfig", "BertForMaskedLM"),
        ("decoder", "gpt2", None): ("GPT2Config", "GPT2LMHeadModel"),
        ("encoder-decoder", "t5", None): ("T5Config", "T5ForConditionalGeneration"),
        ("encoder-decoder", "bart", None): ("BartConfig", "BartForConditionalGeneration"),
    }
    try:
        config_name, model_name = table[(kind, arch, head)]
    except KeyError:
        raise ValueError(f"no builder for kind={kind!r} arch={arch!r} head={head!r}") from None
    return getattr(tf, config_name), getattr(tf, model_name)


def model_from_config(config: dict):
    """Rebuild (randomly initialised) the model a builder described in ``config``."""
    try:
        kind, arch, hf_dict = config["kind"], config["arch"], config["transformers"]
    except (KeyError, TypeError):
        raise ValueError("not a builder config: needs 'kind', 'arch' and 'transformers'") from None
    config_cls, model_cls = _classes(kind, arch, config.get("head"))
    hf = config_cls.from_dict(dict(hf_dict))
    if kind == "encoder" and config.get("head") is None:
        return model_cls(hf, add_pooling_layer=bool(config.get("pooler", False)))
    return model_cls(hf)
