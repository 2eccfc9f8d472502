"""`codeintel lsp --tcp HOST:PORT`: a listener that takes LSP clients over TCP, each served by a
`codeintel lsp` process of its own over stdio (a client closing its connection, or crashing
its server, never takes the listener down for the next one).

A local port can be reached by any program on the machine and by any web page a browser shows
(a form may POST to 127.0.0.1), so a connection is served only if it speaks LSP's framing from
its first byte (``Content-Length: N``, an optional ``Content-Type``, a blank line: an HTTP
request line closes it unread) and its first message is ``initialize`` carrying the listener's
token as ``initializationOptions.token`` (compared in constant time, then removed before the
server sees the message). Without a token the listener starts only with
``--allow-unauthenticated``.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import sys
from pathlib import Path
from typing import Optional

from .framing import frame

log = logging.getLogger(__name__)

TOKEN_ENV = "CODEINTEL_LSP_TOKEN"
FIRST_MESSAGE_S = 30.0          # a connection that sends no initialize by then is closed
MAX_BODY = 64 << 20             # a larger message is not a client's
INVALID_REQUEST = -32600


class TokenError(ValueError):
    """No usable token (the CLI's usage error)."""


def load_token(token_file: Optional[Path], allow_unauthenticated: bool) -> Optional[str]:
    """The token clients must send: the file's first line, else $CODEINTEL_LSP_TOKEN; None
    only when unauthenticated clients are allowed."""
    token = None
    if token_file is not None:
        try:
            lines = token_file.read_text("utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise TokenError(f"--token-file {token_file}: cannot be read ({exc.__class__.__name__})") from None
        token = lines[0].strip() if lines else ""
        if not token:
            raise TokenError(f"--token-file {token_file}: the file holds no token")
    elif os.environ.get(TOKEN_ENV, "").strip():
        token = os.environ[TOKEN_ENV].strip()
    if token is None and not allow_unauthenticated:
        raise TokenError(f"--tcp needs a token that clients send as initializationOptions.token: "
                         f"--token-file FILE or ${TOKEN_ENV} (or --allow-unauthenticated)")
    return token


async def read_frame(reader: asyncio.StreamReader) -> Optional[bytes]:
    """The body of the next LSP message; None at the end of the stream or when what comes is
    not LSP framing (the first header line must be ``Content-Length: N``)."""
    length: Optional[int] = None
    while True:
        try:
            line = await reader.readuntil(b"\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            return None
        if line == b"\r\n":
            break
        name, sep, value = line[:-2].partition(b":")
        name, value = name.strip().lower(), value.strip()
        if length is None and name == b"content-length" and sep and value.isdigit() and int(value) <= MAX_BODY:
            length = int(value)
        elif length is None or name != b"content-type":
            return None
    try:
        return await reader.readexactly(length) if length is not None else None
    except asyncio.IncompleteReadError:
        return None


def authorized(body: bytes, token: Optional[str]) -> tuple[Optional[bytes], object, str]:
    """(the message to pass on, or None; its id; why not) for a connection's first message."""
    try:
        message = json.loads(body)
    except ValueError:
        return None, None, "not JSON"
    if not isinstance(message, dict) or message.get("method") != "initialize":
        return None, message.get("id") if isinstance(message, dict) else None, "the first message must be initialize"
    if token is None:
        return body, message.get("id"), ""
    params = message.get("params")
    options = params.get("initializationOptions") if isinstance(params, dict) else None
    given = options.pop("token", None) if isinstance(options, dict) else None
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), token.encode()):
        return None, message.get("id"), "initializationOptions.token is missing or wrong"
    return json.dumps(message).encode(), message.get("id"), ""


async def _pump_in(reader: asyncio.StreamReader, stdin: asyncio.StreamWriter) -> None:
    try:
        while (body := await read_frame(reader)) is not None:
            stdin.write(frame(body))
            await stdin.drain()
    except (ConnectionError, OSError):      # the server exited: its output's end closes the connection
        pass
    stdin.close()      # the client left (or stopped speaking LSP): its server reads the end and exits


async def _pump_out(stdout: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while data := await stdout.read(1 << 16):
        writer.write(data)
        await writer.drain()


async def _serve_client(reader, writer, token: Optional[str], command: list[str]) -> None:
    peer = writer.get_extra_info("peername")
    try:
        body = await asyncio.wait_for(read_frame(reader), FIRST_MESSAGE_S)
    except asyncio.TimeoutError:
        body = None
    if body is None:
        log.warning("%s: not an LSP client (no Content-Length framing); connection closed", peer)
        return
    message, msg_id, why = authorized(body, token)
    if message is None:
        log.warning("%s: refused: %s", peer, why)
        if msg_id is not None:
            writer.write(frame(json.dumps({"jsonrpc": "2.0", "id": msg_id, "error": {
                "code": INVALID_REQUEST, "message": f"codeintel: refused: {why}"}}).encode()))
            await writer.drain()
        return
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}     # the server has no use for it
    proc = await asyncio.create_subprocess_exec(*command, stdin=asyncio.subprocess.PIPE,
                                                stdout=asyncio.subprocess.PIPE, env=env)
    proc.stdin.write(frame(message))
    pumps = [asyncio.ensure_future(_pump_in(reader, proc.stdin)),
             asyncio.ensure_future(_pump_out(proc.stdout, writer))]
    try:
        await pumps[1]          # the server's output ends when it exits
    finally:
        pumps[0].cancel()
        if proc.returncode is None:
            proc.stdin.close()
            await proc.wait()


async def _connection(reader, writer, token: Optional[str], command: list[str]) -> None:
    try:
        await _serve_client(reader, writer, token, command)
    except (ConnectionError, OSError) as exc:
        log.warning("connection lost: %s", exc)
    finally:
        writer.close()


def serve(host: str, port: int, token: Optional[str]) -> None:
    """Listen until interrupted; each client gets its own `codeintel lsp` over stdio."""
    command = [sys.executable, "-m", "codeintel", "lsp"]

    async def main() -> None:
        listener = await asyncio.start_server(lambda r, w: _connection(r, w, token, command), host, port)
        where = ", ".join("%s:%s" % sock.getsockname()[:2] for sock in listener.sockets)
        print(f"codeintel lsp: listening on {where}" + ("" if token else " (unauthenticated)"),
              file=sys.stderr, flush=True)
        async with listener:
            await listener.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
