"""Fusion-in-Decoder (Izacard & Grave 2021; RepoFusion, Shrivastava et al. 2023) over a
transformers encoder-decoder from ``builders.build_encoder_decoder`` (T5 or BART).

Each example has P passages of L tokens. The encoder reads every passage on its own
(``(B*P, L)``); the encoder states are laid end to end (``(B, P*L, d)``) and the decoder
cross-attends over all of them at once, so the cost of attention grows linearly with the
number of passages while the decoder still fuses evidence from all. Passages that are all
padding (fewer proposals than P) are masked out.

Importing this module imports torch.
"""
from __future__ import annotations

import torch


class FusionInDecoder(torch.nn.Module):
    def __init__(self, seq2seq):
        super().__init__()
        self.model = seq2seq

    def encode(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """``(B, P, L)`` ids and mask -> encoder states ``(B, P*L, d)`` and their mask ``(B, P*L)``."""
        b, p, length = input_ids.shape
        states = self.model.get_encoder()(input_ids=input_ids.reshape(b * p, length),
                                          attention_mask=attention_mask.reshape(b * p, length)).last_hidden_state
        return states.reshape(b, p * length, -1), attention_mask.reshape(b, p * length)

    def forward(self, input_ids, attention_mask, labels):
        """The mean token cross-entropy of ``labels`` (``(B, T)``, -100 where padded)."""
        states, mask = self.encode(input_ids, attention_mask)
        return self.model(encoder_outputs=(states,), attention_mask=mask, labels=labels).loss

    @torch.inference_mode()
    def generate(self, input_ids, attention_mask, max_new_tokens: int = 48, num_beams: int = 1,
                 num_return_sequences: int = 1, eos_token_id=None):
        """Beam-search (or greedy) decoding; returns (sequences ``(B*n, T)``, scores ``(B*n,)``)."""
        from transformers.modeling_outputs import BaseModelOutput

        states, mask = self.encode(input_ids, attention_mask)
        out = self.model.generate(encoder_outputs=BaseModelOutput(last_hidden_state=states), attention_mask=mask,
                                  max_new_tokens=max_new_tokens, num_beams=max(num_beams, num_return_sequences),
                                  num_return_sequences=num_return_sequences, do_sample=False,
                                  output_scores=True, return_dict_in_generate=True,
                                  eos_token_id=eos_token_id if eos_token_id is not None
                                  else self.model.config.eos_token_id)
        scores = getattr(out, "sequences_scores", None)
        if scores is None:   # greedy: the mean log-probability of the chosen tokens
            steps = torch.stack([s.log_softmax(-1) for s in out.scores], dim=1)     # (B, T, V)
            chosen = out.sequences[:, -steps.shape[1]:]
            scores = steps.gather(-1, chosen.unsqueeze(-1)).squeeze(-1).mean(-1)
        return out.sequences, scores


def build_fid(vocab_size: int, size: str = "compact", arch: str = "t5", **overrides):
    """A new (randomly initialised) FiD model and its builder config."""
    from .builders import build_encoder_decoder

    seq2seq, config = build_encoder_decoder(vocab_size, size=size, arch=arch, **overrides)
    config["fid"] = True
    return FusionInDecoder(seq2seq), config


def fid_from_config(config: dict) -> FusionInDecoder:
    from .builders import model_from_config

    return FusionInDecoder(model_from_config(config))
