"""codeintel's language server (``codeintel lsp``): pygls wiring around the indexer, the store
and the learned features. ``lsp.server`` holds the state and protocol plumbing, ``lsp.features`` (and ``lsp.generate``) the
handlers registered on it, ``lsp.main`` assembles and serves them; the features live in codeintel/."""
