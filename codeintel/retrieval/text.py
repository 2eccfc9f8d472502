"""Code text as retrieval sees it: tokens, identifiers, sub-words, and cutting to a token budget.

A "token" here is a word (``\\w+``) or one punctuation character: close to what a code BPE
tokenizer makes of Python, cheap, and the unit of every budget in retrieval and proposals.
"""
from __future__ import annotations

import re

TOKEN = re.compile(r"\w+|[^\w\s]")
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
_SUBWORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
KEYWORDS = frozenset("""False None True and as assert async await break class continue def del elif else except
finally for from global if import in is lambda nonlocal not or pass raise return try while with yield self cls
""".split())


def count_tokens(text: str) -> int:
    return sum(1 for _ in TOKEN.finditer(text))


def identifiers(text: str, keep_keywords: bool = False) -> list[str]:
    """The identifiers of ``text`` in order (keywords dropped unless asked)."""
    names = IDENTIFIER.findall(text)
    return names if keep_keywords else [n for n in names if n not in KEYWORDS]


def subwords(name: str) -> list[str]:
    """``parseHTTPFile_v2`` -> ['parse', 'http', 'file', 'v', '2'] (lower case)."""
    return [w.lower() for w in _SUBWORD.findall(name)]


def cut_head(text: str, budget: int) -> str:
    """The start of ``text`` holding at most ``budget`` tokens, cut at a line end when possible."""
    return _cut(text, budget, keep_end=False)


def cut_tail(text: str, budget: int) -> str:
    """The end of ``text`` holding at most ``budget`` tokens, starting at a line start when possible."""
    return _cut(text, budget, keep_end=True)


def _cut(text: str, budget: int, keep_end: bool) -> str:
    if budget <= 0:
        return ""
    if keep_end:
        window = 24 * budget
        while True:   # tokens of the end only: a long file is never tokenised whole
            start_at = max(0, len(text) - window)
            spans = [m.start() for m in TOKEN.finditer(text, start_at)]
            if len(spans) > budget or start_at == 0:
                break
            window *= 4
        if len(spans) <= budget and start_at == 0:
            return text
        start = spans[len(spans) - budget]
        line_start = text.find("\n", start)
        if line_start != -1 and line_start + 1 < len(text) and line_start - start < 200:
            start = line_start + 1
        return text[start:]
    end = None
    for count, match in enumerate(TOKEN.finditer(text), 1):
        if count == budget:
            end = match.end()
        elif count > budget:
            break
    else:
        return text
    line_end = text.rfind("\n", 0, end)
    if line_end > 0 and end - line_end < 200:
        end = line_end + 1
    return text[:end]
