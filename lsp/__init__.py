"""codeintel's language server (``codeintel lsp``): pygls wiring around the indexer, the store
and the learned features. ``lsp.server`` holds the handlers; the features live in codeintel/."""
