"""``python -m lsp``: the same server as ``codeintel lsp``."""
from .main import start

start()
