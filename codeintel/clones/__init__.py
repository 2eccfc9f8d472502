"""Clone and plagiarism detection: shared fragments found by winnowing fingerprints over
normalised tree-sitter tokens, mapped back to exact byte and line ranges in both files.

- ``tokens``: the normalised token stream of a file (identifiers and literals abstracted,
  comments and whitespace dropped), for every language the indexer knows and a plain fallback.
- ``fingerprints``: k-gram hashes and winnowing.
- ``fragments``: one pair of documents compared: matched fragments and their similarity.
- ``plagiarism``: many submissions compared at once (ranked pairs, clusters, templates, an archive).
- ``submissions``: reading submissions from disk as untrusted input (no links followed, only
  regular files, bounded sizes; what is skipped and why).
- ``repo``: near-duplicate functions inside an indexed repository (``codeintel clones``) and
  ``near_duplicates(root, rel_path, text)`` for an editor buffer.
- ``render``: the terminal, HTML and CSV views of a plagiarism run.
- ``evaluate``: MAP@R and ROC-AUC against the TF-IDF and winnowing baselines.
"""
