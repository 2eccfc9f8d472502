"""Column units at the server's edge: the store and the indexer count UTF-8 bytes, an LSP
client counts UTF-16 code units (or UTF-8 / UTF-32 when it negotiated them). Answers of
thousands of locations are written as JSON text here directly (``hit_locations``)."""
from __future__ import annotations

import json
from bisect import bisect_right
from typing import Optional

from lsprotocol import types as lsp

from codeintel.navigation import FileHits, Place

UTF8, UTF16, UTF32 = lsp.PositionEncodingKind.Utf8, lsp.PositionEncodingKind.Utf16, lsp.PositionEncodingKind.Utf32


def to_client_col(line_text: Optional[bytes], byte_col: int, encoding=UTF16) -> int:
    """Client units of the first ``byte_col`` bytes of a line (None: an all-ASCII line)."""
    if encoding == UTF8 or line_text is None:
        return byte_col
    head = line_text[:byte_col].decode("utf-8", "replace")
    if encoding == UTF32:
        return len(head)
    return len(head.encode("utf-16-le")) // 2


def from_client_col(line_text: bytes, col: int, encoding=UTF16) -> int:
    """Byte column of client column ``col`` (clamped to the line's end)."""
    if encoding == UTF8:
        return min(col, len(line_text))
    text = line_text.decode("utf-8", "replace")
    if encoding == UTF32:
        return len(text[:col].encode())
    units = 0
    for i, ch in enumerate(text):
        if units >= col:
            return len(text[:i].encode())
        units += 2 if ord(ch) > 0xFFFF else 1
    return len(line_text)


def to_range(place: Place, encoding=UTF16) -> lsp.Range:
    return lsp.Range(
        lsp.Position(place.line - 1, to_client_col(place.line_text, place.col, encoding)),
        lsp.Position(place.end_line - 1, to_client_col(place.end_line_text, place.end_col, encoding)))


def hit_locations(uri: str, hits: FileHits, encoding=UTF16) -> list[str]:
    """The JSON text of the Location of each hit: for references, where building lsprotocol
    objects (or dicts for pygls to convert) would cost more than finding the uses (about 2 µs
    a location here). A column is converted only on the lines that are not all ASCII."""
    head = '{"uri":' + json.dumps(uri) + ',"range":{"start":{"line":'
    starts, width = hits.lines.starts, hits.width
    wide = hits.lines.wide if encoding != UTF8 else None
    out = []
    add = out.append
    for offset in hits.offsets:
        line = bisect_right(starts, offset) - 1
        col = offset - starts[line]
        end = col + width
        if wide and line + 1 in wide:
            text = wide[line + 1]
            col, end = to_client_col(text, col, encoding), to_client_col(text, end, encoding)
        add(f'{head}{line},"character":{col}}},"end":{{"line":{line},"character":{end}}}}}}}')
    return out
