"""Column units at the server's edge: the store and the indexer count UTF-8 bytes, an LSP
client counts UTF-16 code units (or UTF-8 / UTF-32 when it negotiated them)."""
from __future__ import annotations

from lsprotocol import types as lsp

from codeintel.navigation import Place

UTF8, UTF16, UTF32 = lsp.PositionEncodingKind.Utf8, lsp.PositionEncodingKind.Utf16, lsp.PositionEncodingKind.Utf32


def to_client_col(line_text: bytes, byte_col: int, encoding=UTF16) -> int:
    """Client units of the first ``byte_col`` bytes of a line."""
    if encoding == UTF8:
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


def location_json(uri: str, place: Place, encoding=UTF16) -> dict:
    """A Location as plain JSON: for answers of thousands of locations (references), where
    building and converting lsprotocol objects would cost more than finding them."""
    return {"uri": uri, "range": {
        "start": {"line": place.line - 1, "character": to_client_col(place.line_text, place.col, encoding)},
        "end": {"line": place.end_line - 1, "character": to_client_col(place.end_line_text, place.end_col, encoding)}}}
