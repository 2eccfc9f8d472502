"""What MergeBERT's classifier sees of one token-level conflict: its classes and the encoding
of a conflict instance as four aligned, edit-typed views (no torch here: the merge driver
encodes before it knows whether a model is needed).

Each conflict instance (ours ``a``, base ``o``, theirs ``b`` token lists with their context)
becomes four aligned sequences, as in MergeBERT: ``a|o`` (a's tokens, each typed by how it
differs from o: = unchanged, + inserted, ↔ replaced), ``o|a`` (o's tokens typed against a: =,
− deleted, ↔), ``b|o`` and ``o|b``. The edit types enter the encoder as its token-type
embeddings. One shared transformer encoder reads the four; their first-token states are
concatenated and a small head scores the nine primitive patterns plus OTHER (no pattern
fits: the model abstains).
"""
from __future__ import annotations

from difflib import SequenceMatcher
from typing import Sequence

from .patterns import PATTERNS

# the nine primitive patterns; MERGED: keep the token-level merge of a hunk that token diff3
# resolves alone (the model judges it like any other candidate); OTHER: abstain
MERGED = "MERGED"
CLASSES: tuple[str, ...] = tuple(PATTERNS) + (MERGED, "OTHER")
OTHER = len(CLASSES) - 1
# token-type ids: padding, context, and the four edit types
TYPE_PAD, TYPE_CONTEXT, TYPE_SAME, TYPE_INSERT, TYPE_DELETE, TYPE_REPLACE = range(6)
N_TYPES = 6

_SWAP = {"A": "B", "AB": "BA", "REM-BASE-A": "REM-BASE-B", "REM-BASE-AB": "REM-BASE-BA"}
_SWAP.update({v: k for k, v in list(_SWAP.items())})


def swapped_label(label: str) -> str:
    """The label of the same conflict with ours and theirs exchanged."""
    return _SWAP.get(label, label)


def aligned_types(side: Sequence[str], base: Sequence[str]) -> tuple[list[int], list[int]]:
    """Edit types of ``side``'s tokens against ``base`` and of ``base``'s against ``side``."""
    side_types = [TYPE_SAME] * len(side)
    base_types = [TYPE_SAME] * len(base)
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, base, side, autojunk=False).get_opcodes():
        if tag == "equal":
            continue
        kind = TYPE_REPLACE if tag == "replace" else None
        for j in range(j1, j2):
            side_types[j] = kind or TYPE_INSERT
        for i in range(i1, i2):
            base_types[i] = kind or TYPE_DELETE
    return side_types, base_types


def _subwords(tokenizer, tokens: Sequence[str], types: Sequence[int]) -> tuple[list[int], list[int]]:
    """BPE ids of lexical tokens, each subword carrying its token's type."""
    if not tokens:
        return [], []
    enc = tokenizer.encode(list(tokens), is_pretokenized=True, add_special_tokens=False)
    ids, out_types = [], []
    for sub_id, word in zip(enc.ids, enc.word_ids):
        if word is None:
            continue
        ids.append(sub_id)
        out_types.append(types[word])
    return ids, out_types


def encode_instance(tokenizer, ours: Sequence[str], base: Sequence[str], theirs: Sequence[str],
                    before: Sequence[str], after: Sequence[str], max_len: int,
                    specials: tuple[int, int, int]) -> tuple[list[list[int]], list[list[int]]]:
    """The four views (a|o, o|a, b|o, o|b) as padded id and type rows of ``max_len``:
    ``<s> context-before <sep> tokens <sep> context-after </s>``; the conflict's own tokens get
    up to half the room (their start is kept), the context the rest (nearest tokens kept)."""
    bos, sep, eos = specials
    # only the start of each side fits; aligning whole long sides would cost O(n^2)
    limit = 4 * max_len
    ours, base, theirs = ours[:limit], base[:limit], theirs[:limit]
    before, after = before[-limit:], after[:limit]
    a_types, o_vs_a = aligned_types(ours, base)
    b_types, o_vs_b = aligned_types(theirs, base)
    before_ids, _ = _subwords(tokenizer, before, [TYPE_CONTEXT] * len(before))
    after_ids, _ = _subwords(tokenizer, after, [TYPE_CONTEXT] * len(after))
    rows_ids, rows_types = [], []
    for tokens, types in ((ours, a_types), (base, o_vs_a), (theirs, b_types), (base, o_vs_b)):
        ids, tys = _subwords(tokenizer, tokens, types)
        room = max_len - 4
        keep = max(room // 2, room - len(before_ids) - len(after_ids))
        ids, tys = ids[:keep], tys[:keep]
        left = room - len(ids)
        n_before = min(len(before_ids), left - min(len(after_ids), left // 2))
        n_after = min(len(after_ids), left - n_before)
        ctx_before = before_ids[len(before_ids) - n_before:]
        ctx_after = after_ids[:n_after]
        row = [bos] + ctx_before + [sep] + ids + [sep] + ctx_after + [eos]
        row_types = ([TYPE_CONTEXT] * (len(ctx_before) + 2) + tys + [TYPE_CONTEXT] * (len(ctx_after) + 2))
        pad = max_len - len(row)
        rows_ids.append(row + [0] * pad)
        rows_types.append(row_types + [TYPE_PAD] * pad)
    return rows_ids, rows_types
