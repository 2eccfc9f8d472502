"""``python -m codeintel`` runs the CLI."""
from .cli import entry

entry()
