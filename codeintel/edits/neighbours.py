"""Nearest-neighbour edit transfer (the model-free way to suggest an edit, and the baseline
the learned model is measured against): find the training functions whose "before" is most
like this function (cosine over TF-IDF weighted abstract-token bigrams) and apply their edits
(``patterns.apply_edit``); the first distinct results are the candidates."""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Optional, Sequence

from .abstraction import Token, abstract, tokenize
from .patterns import Edit, apply_edit, learn_edit


@dataclass
class Example:
    before: list[Token]
    after: list[Token]
    source: str = ""
    _edit: Optional[Edit] = None

    def edit(self, idioms) -> Edit:
        if self._edit is None:
            self._edit = learn_edit(self.before, self.after, idioms, self.source)
        return self._edit


def _features(tokens: Sequence[Token], idioms) -> Counter:
    seq = abstract(tokens, idioms).tokens
    return Counter(zip(seq, seq[1:])) + Counter((t,) for t in seq)


class NeighbourIndex:
    def __init__(self, examples: list[Example], idioms):
        self.examples = examples
        self.idioms = idioms
        self.postings: dict = defaultdict(list)
        df: Counter = Counter()
        feats = [_features(e.before, idioms) for e in examples]
        for f in feats:
            df.update(f.keys())
        n = max(1, len(examples))
        self.idf = {k: math.log(1 + n / v) for k, v in df.items()}
        self.norms = []
        for idx, f in enumerate(feats):
            weights = {k: (1 + math.log(c)) * self.idf[k] for k, c in f.items()}
            norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
            self.norms.append(norm)
            for k, w in weights.items():
                self.postings[k].append((idx, w / norm))

    @classmethod
    def from_pairs(cls, pairs: list[dict], idioms) -> "NeighbourIndex":
        examples = []
        for p in pairs:
            lang = p.get("language", "python")
            examples.append(Example(tokenize(p["before"], lang), tokenize(p["after"], lang),
                                    f"{p.get('path', '')}:{p.get('qualname', '')}"))
        return cls(examples, idioms)

    def nearest(self, tokens: Sequence[Token], k: int = 20) -> list[tuple[int, float]]:
        f = _features(tokens, self.idioms)
        scores: Counter = Counter()
        weights = {key: (1 + math.log(c)) * self.idf[key] for key, c in f.items() if key in self.idf}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for key, w in weights.items():
            postings = self.postings[key]
            if len(postings) > 0.5 * len(self.examples) and len(self.examples) > 50:
                continue      # in half the functions: says little, costs much
            for idx, pw in postings:
                scores[idx] += w / norm * pw
        return scores.most_common(k)

    def predict(self, tokens: Sequence[Token], k: int = 10, neighbours: int = 50) -> list[tuple[list[str], float, int]]:
        """Up to ``k`` distinct new token sequences (texts with layout), best first, each with
        a score (similarity x the edit's confidence) and the index of the example used."""
        original = [t.text for t in tokens]
        out, seen = [], set()
        for idx, sim in self.nearest(tokens, neighbours):
            result = apply_edit(self.examples[idx].edit(self.idioms), tokens)
            if result is None:
                continue
            texts, confidence, _ = result
            key = tuple(t for t in texts if t != "<NL>")
            if texts == original or key in seen:
                continue
            seen.add(key)
            out.append((texts, round(sim * confidence, 4), idx))
            if len(out) >= k:
                break
        return out
