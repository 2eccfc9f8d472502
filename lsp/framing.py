"""The LSP base protocol's framing (a ``Content-Length`` header, a blank line, the JSON body) for
clients that talk to ``codeintel lsp`` over raw pipes instead of through pygls: the tests'
``RawClient``, the benchmark's ``WireClient`` and the TCP listener (``lsp.tcp``), which relays
each client's messages to a server of its own. (The server frames through pygls.)"""
from __future__ import annotations

from typing import BinaryIO, Optional


def frame(body: bytes) -> bytes:
    """One message ready to write: header and body."""
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream: BinaryIO) -> Optional[bytes]:
    """The body of the next message on ``stream``; None at the end of the stream."""
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            break
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return stream.read(length)
