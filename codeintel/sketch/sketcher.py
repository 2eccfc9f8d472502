"""The sketcher's data: requirement and exemplar (a retrieved function) as token ids, keep/drop
labels from the longest common subsequence with the code to write (``models.lcs``), and a
sketch: the exemplar's kept tokens with each run of dropped ones replaced by one ``<mask>``.

``SketchCodec`` holds the tokenizer and the length settings, and makes every input the
sketcher (a ``models.tagger.TokenTagger``) and the editor (a one-passage
``models.fid.FusionInDecoder``) read:

- sketcher: ``<s> requirement <sep> exemplar </s>``; labels on the exemplar's tokens only;
- editor: ``<s> requirement <sep> X </s>`` where X is the sketch, the whole exemplar
  (the "full retrieved code" variant) or nothing (the "no exemplar" variant);
- target: the function's body (statements after the docstring, at column 0) and ``</s>``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence


@dataclass
class SketchSettings:
    requirement_len: int = 48     # tokens of signature + docstring
    exemplar_len: int = 128       # tokens of the retrieved function
    target_len: int = 128         # tokens of the generated body (with </s>)
    threshold: float = 0.5        # keep a token when P(keep) >= this


@dataclass
class Encoded:
    ids: list[int]
    offsets: list[tuple[int, int]]
    text: str


class SketchCodec:
    def __init__(self, tokenizer, settings: SketchSettings):
        from codeintel.models.tokenizer import special_id

        self.tok, self.s = tokenizer, settings
        self.bos, self.eos = special_id(tokenizer, "<s>"), special_id(tokenizer, "</s>")
        self.sep, self.pad = special_id(tokenizer, "<sep>"), special_id(tokenizer, "<pad>")
        self.mask = special_id(tokenizer, "<mask>")

    def requirement(self, text: str) -> list[int]:
        return self.tok.encode(text).ids[:self.s.requirement_len]

    def exemplar(self, code: str) -> Encoded:
        enc = self.tok.encode(code)
        n = self.s.exemplar_len
        return Encoded(enc.ids[:n], [tuple(o) for o in enc.offsets[:n]], code)

    def target(self, body: str) -> list[int]:
        return self.tok.encode(body).ids[:self.s.target_len - 1] + [self.eos]

    def target_tokens(self, body: str) -> list[int]:
        return self.tok.encode(body).ids

    # the sketcher
    def tagger_input(self, requirement: list[int], exemplar: Encoded) -> tuple[list[int], int]:
        """The ids and where the exemplar's tokens start in them."""
        head = [self.bos] + requirement + [self.sep]
        return head + exemplar.ids + [self.eos], len(head)

    def tagger_labels(self, n_input: int, start: int, keep: Sequence[bool]) -> list[int]:
        labels = [-100] * n_input
        for i, k in enumerate(keep):
            labels[start + i] = int(k)
        return labels

    # the editor
    def sketch_ids(self, exemplar: Encoded, keep: Optional[Sequence[bool]]) -> list[int]:
        if keep is None:
            return []
        out: list[int] = []
        for token, kept in zip(exemplar.ids, keep):
            if kept:
                out.append(token)
            elif not out or out[-1] != self.mask:
                out.append(self.mask)
        return out

    def editor_input(self, requirement: list[int], exemplar: Optional[Encoded],
                     keep: Optional[Sequence[bool]]) -> list[int]:
        """``keep``: the sketch's tags; all True = the whole exemplar; None (or no exemplar) = none."""
        middle = self.sketch_ids(exemplar, keep) if exemplar is not None else []
        return [self.bos] + requirement + [self.sep] + middle + [self.eos]

    def decode(self, ids: Sequence[int]) -> str:
        return self.tok.decode([i for i in ids if i > 5], skip_special_tokens=True)

    def sketch_pieces(self, exemplar: Encoded, keep: Sequence[bool]) -> list[tuple[str, bool]]:
        """(text, kept) for each exemplar token, the text taken from the exemplar by offsets."""
        pieces = []
        previous = 0
        for (_, end), kept in zip(exemplar.offsets, keep):     # gaps go with the token after them
            pieces.append((exemplar.text[previous:end], bool(kept)))
            previous = max(previous, end)
        return pieces


def oracle_keep(codec: SketchCodec, exemplar: Encoded, body: str) -> list[bool]:
    """The exemplar tokens on a longest common subsequence with the body's tokens."""
    from codeintel.models.lcs import lcs_keep

    return lcs_keep(exemplar.ids, codec.target_tokens(body)[:codec.s.target_len])


def pad_batch(rows: Sequence[Sequence[int]], pad: int, fill: Optional[int] = None):
    """Rows of ids -> a ``(B, L)`` long tensor padded with ``fill`` (default ``pad``) and the mask."""
    import torch

    length = max(len(r) for r in rows)
    out = torch.full((len(rows), length), pad if fill is None else fill, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for b, row in enumerate(rows):
        out[b, :len(row)] = torch.tensor(row, dtype=torch.long)
        mask[b, :len(row)] = 1
    return out, mask
