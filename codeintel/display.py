"""Names from untrusted places (a repository's file names, a submission's folders) made safe to
print: control characters (C0, DEL, C1: escape sequences, carriage returns, newlines) and the
bidirectional overrides that reorder what a terminal shows are written as Python escapes
(``\\x1b``, ``\\n``, ``\\u202e``), so a file name can neither drive the terminal nor pass for
another line of output.
"""
from __future__ import annotations

import re

_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match) -> str:
    return ascii(match.group())[1:-1]


def printable(name: object, keep_tabs: bool = False) -> str:
    """``name`` as text a terminal shows as it is: unprintable characters escaped (``keep_tabs``:
    tabs left as they are, for lines of source code)."""
    text = str(name)
    if keep_tabs:
        return "\t".join(_UNPRINTABLE.sub(_escape, part) for part in text.split("\t"))
    return _UNPRINTABLE.sub(_escape, text)


def markup_safe(name: object) -> str:
    """``printable(name)`` for a rich markup string: brackets escaped too, so a file called
    ``[link=…]x`` is shown, not obeyed."""
    from rich.markup import escape

    return escape(printable(name))


def json_safe(text: str) -> str:
    """JSON text (``ensure_ascii=False``) with the characters ``printable`` escapes written as
    ``\\uXXXX`` (inside strings ``json.dumps`` has escaped the C0 controls already; the layout's
    own line breaks stay): the same JSON, and nothing in it that drives a terminal."""
    return _UNPRINTABLE.sub(lambda m: m.group() if m.group() in "\t\n\r" else f"\\u{ord(m.group()):04x}", text)
