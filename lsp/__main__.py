"""``python -m lsp``: the same server as ``codeintel lsp``."""
from .server import start

start()
