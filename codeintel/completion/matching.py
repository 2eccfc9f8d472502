"""Model-free completion: the best-matching continuation found in some context texts.

Given the text before the cursor, find the places in the context texts where the longest run
of its last tokens (words, punctuation, line breaks) occurs, and propose what follows there up
to the end of that line. A partly typed word at the cursor matches any word it begins. Ranking:
more matched tokens first, then more places agreeing on the same continuation, then the
earlier context (contexts come in ranked order), then the later place in that context.

The evaluation's model-free baselines are this predictor over different contexts (prefix
only, in-file, in-file + BM25, in-file + proposals), and ``complete()`` uses it when no model
is available. When nothing matches, ``identifier_completions`` offers identifiers from the
contexts that begin with the partly typed word.
"""
from __future__ import annotations

import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Sequence

_TOKENS = re.compile(r"\w+|[^\w\s]|\n")
QUERY_TOKENS = 24
# proposal forms that are code as written (the others are lists of names or literals, whose
# token sequences would match by accident)
CODE_FORMS = ("lines", "method_bodies", "field_declarations", "chunk")


@dataclass
class Continuation:
    text: str
    matched: int           # tokens matched before the cursor
    votes: int             # places that agree
    context: int           # index of the first context it was found in


class TokenizedText:
    """A context text with its tokens' strings and spans (built once, reused across queries;
    ``tokenized`` caches them for texts that recur, such as proposals)."""

    __slots__ = ("text", "tokens", "starts", "ends")

    def __init__(self, text: str):
        self.text = text
        self.tokens = _TOKENS.findall(text)
        self.starts = self.ends = None      # filled on the first match (most contexts need them)

    def spans(self) -> None:
        if self.starts is None:
            matches = list(_TOKENS.finditer(self.text))
            self.starts = [m.start() for m in matches]
            self.ends = [m.end() for m in matches]


_TOKENIZED: "OrderedDict[str, TokenizedText]" = OrderedDict()
_TOKENIZED_LOCK = threading.Lock()
_TOKENIZED_SIZE = 1024


def tokenized(text: str) -> TokenizedText:
    """``TokenizedText(text)``, from a small shared cache."""
    with _TOKENIZED_LOCK:
        doc = _TOKENIZED.get(text)
        if doc is not None:
            _TOKENIZED.move_to_end(text)
            return doc
    doc = TokenizedText(text)
    doc.spans()
    with _TOKENIZED_LOCK:
        _TOKENIZED[text] = doc
        while len(_TOKENIZED) > _TOKENIZED_SIZE:
            _TOKENIZED.popitem(last=False)
    return doc


def _query(prefix: str) -> tuple[list[str], str]:
    """The last tokens before the cursor and the partly typed word ('' when none)."""
    tail = prefix[-600:]
    tokens = _TOKENS.findall(tail)
    partial = ""
    if tokens and prefix and (prefix[-1].isalnum() or prefix[-1] == "_") and tokens[-1][-1:] == prefix[-1]:
        partial = tokens.pop()
    return tokens[-QUERY_TOKENS:], partial


@dataclass
class Match:
    """What the contexts say about one continuation: per group of contexts, the most tokens
    matched before it and the number of places; ``first``: the index of the first context (over
    all groups, in order) it was found in; ``matched_sum``: matched tokens summed over places."""
    first: int
    matched: dict
    votes: dict
    matched_sum: float = 0.0

    @property
    def best(self) -> float:
        return max(self.matched.values())

    @property
    def places(self) -> int:
        return sum(self.votes.values())


def pool(prefix: str, groups: Sequence[tuple[str, Sequence["TokenizedText | str"]]],
         max_places: int = 4000) -> dict[str, Match]:
    """Every continuation of ``prefix`` (the rest of its line) found in the contexts, grouped
    (``[(group name, contexts)]``, contexts in ranked order), with what each group says of it."""
    query, partial = _query(prefix)
    if not query and not partial:
        return {}
    ends_in_space = prefix[-1:] in (" ", "\t")
    at_line_start = prefix.endswith("\n") or prefix == ""
    found: dict[str, Match] = {}
    ci = -1
    for group, contexts in groups:
        for ctx in contexts:
            ci += 1
            doc = ctx if isinstance(ctx, TokenizedText) else TokenizedText(ctx)
            toks, text = doc.tokens, doc.text
            if partial:
                places = [i for i, t in enumerate(toks) if t.startswith(partial)]
            else:
                last = query[-1]
                places = [i for i, t in enumerate(toks) if t == last]
            if len(places) > max_places:
                places = places[-max_places:]
            if places:
                doc.spans()
            for i in reversed(places):
                # how many query tokens match, ending at token i (or just before it when a word is partial)
                j = i - 1 if partial else i
                k, q = 0, len(query) - 1
                while q >= 0 and j >= 0 and toks[j] == query[q]:
                    k, q, j = k + 1, q - 1, j - 1
                if partial:
                    k += 1
                    if k == 1 and query:     # the partial word alone: weak evidence
                        k = 0.5
                    start = doc.starts[i] + len(partial)
                else:
                    if k == 0:
                        continue
                    start = doc.ends[i]
                end = text.find("\n", start)
                rest = text[start:end if end != -1 else len(text)]
                if ends_in_space or (not partial and query[-1] == "\n" and not at_line_start):
                    rest = rest.lstrip(" \t")
                rest = rest.rstrip()
                if not rest:
                    continue
                have = found.get(rest)
                if have is None:
                    have = found[rest] = Match(ci, {}, {})
                have.matched[group] = max(have.matched.get(group, 0), k)
                have.votes[group] = have.votes.get(group, 0) + 1
                have.matched_sum += k
    return found


def matcher_order(found: dict[str, Match]) -> list[str]:
    """The continuations in the matcher's own order: more matched tokens first, then more
    places agreeing, then the earlier context."""
    return sorted(found, key=lambda t: (-found[t].best, -found[t].places, found[t].first))


def continuations(prefix: str, contexts: Sequence["TokenizedText | str"], n: int = 3,
                  max_places: int = 4000) -> list[Continuation]:
    """The ``n`` best continuations of ``prefix`` (the rest of its line) found in ``contexts``."""
    found = pool(prefix, [("all", contexts)], max_places)
    return [Continuation(t, found[t].best, found[t].places, found[t].first) for t in matcher_order(found)[:n]]


def identifier_completions(prefix: str, contexts: Sequence["TokenizedText | str"], n: int = 3) -> list[str]:
    """Identifiers from ``contexts`` that extend the partly typed word at the cursor, most
    frequent first (the part still to type)."""
    _, partial = _query(prefix)
    if not partial:
        return []
    counts: Counter = Counter()
    for ctx in contexts:
        text = ctx.text if isinstance(ctx, TokenizedText) else ctx
        counts.update(w for w in re.findall(r"\b" + re.escape(partial) + r"\w+", text))
    return [w[len(partial):] for w, _ in counts.most_common(n)]


def proposal_contexts(proposals) -> list[TokenizedText]:
    """The code-shaped proposals other than the in-file ones, in rank order, as contexts."""
    return [tokenized(p.text) for p in proposals
            if p.form in CODE_FORMS and p.source not in ("in_file_prior", "in_file_post")]
