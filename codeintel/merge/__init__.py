"""The merge feature (MergeBERT, Svyatkovskiy et al., FSE 2022): a learned three-way merge.

A file is merged line by line as git does; inside each conflicting line hunk the three sides are
merged again token by token, and every token conflict left is given to a classifier that picks one
of nine resolution patterns (take ours, theirs, the base, both in either order, or only what a
side added). Hunks whose conflicts all get a pattern are resolved; the rest keep git's markers.

The model-free core lives in these modules (pure Python, no torch; importing this package stays
cheap):

- ``xdiff``: git's Myers two-way diff, re-implemented for any sequences;
- ``diff3``: the three-way merge and git-identical marker output (``merge_file``);
- ``tokens``: lossless tokenization (tree-sitter leaves or a generic lexer);
- ``patterns``: the nine patterns, applying them and matching a known resolution;
- ``conflicts``: the two-level plan of one file (``plan_merge``) and its assembly;
- ``markers``: parsing files that already contain conflict markers;
- ``corpus``: training examples from corpus JSONL files and from the store's past merges.

The model, training, evaluation and the git merge driver build on these.
"""
from __future__ import annotations

from .conflicts import (AssembleResult, ConflictInstance, HunkPlan, MergePlan, candidate_for_hunk,
                        line_level_result, plan_hunk, plan_merge)
from .diff3 import Hunk, diff3, merge_file, render, split_lines
from .markers import Segment, has_markers, parse_conflicts, safe_marker_size
from .patterns import PATTERNS, UNRESOLVABLE, apply_pattern, line_label, matching_patterns
from .tokens import generic_tokenize, tokenize

__all__ = [
    "AssembleResult", "ConflictInstance", "Hunk", "HunkPlan", "MergePlan", "PATTERNS", "Segment",
    "UNRESOLVABLE", "apply_pattern", "candidate_for_hunk", "diff3", "generic_tokenize", "has_markers",
    "line_label", "line_level_result", "matching_patterns", "merge_file", "parse_conflicts",
    "plan_hunk", "plan_merge", "render", "safe_marker_size", "split_lines", "tokenize",
]
