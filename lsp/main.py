"""Assembles the language server and serves it: the state and protocol plumbing
(``lsp.server``) below, the handlers (``lsp.features``, which brings ``lsp.generate``) registered on
it above; nothing below imports this module, so imports run one way."""
from __future__ import annotations

from typing import Optional

from . import features  # noqa: F401  (registers the handlers on ``server``)
from . import logs
from .server import server


def start(tcp: Optional[str] = None, token: Optional[str] = None) -> None:
    """Serve over stdio, or listen on ``HOST:PORT`` (``lsp.tcp``: clients must send ``token``)."""
    logs.configure()
    if tcp:
        from .tcp import serve

        host, _, port = tcp.rpartition(":")
        serve(host or "127.0.0.1", int(port), token)
    else:
        server.start_io()
