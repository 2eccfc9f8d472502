"""The indexer: tree-sitter parsing per language, fact extraction, the incremental walk of the
work tree and git history mining. It writes through ``codeintel.store`` and nothing else."""
