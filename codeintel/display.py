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


def printable(name: object) -> str:
    """``name`` as text a terminal shows as it is: unprintable characters escaped."""
    return _UNPRINTABLE.sub(_escape, str(name))
