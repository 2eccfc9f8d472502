"""The store's one exception, kept apart so that every module of the store package (the
database's and the files' alike) can raise it without importing the package itself."""
from __future__ import annotations


class StoreError(Exception):
    """A store that cannot be used: corrupt, from a newer codeintel, locked, missing, or in a
    ``.codeintel`` folder that holds symbolic links."""
