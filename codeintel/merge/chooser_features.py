"""Features of (conflict region, candidate) pairs: what the learned chooser scores.

Plain numbers only (no torch, no model): the same function makes the training rows and the rows the
merge driver scores, so they cannot drift apart. ``FEATURES`` names the columns in order; a model
records them and refuses rows of another layout.

Region features (the same for every candidate of a region): sizes of the three sides, which sides
are empty, how the sides relate as sets of lines and of tokens (Jaccard similarities and
inclusions), what each side added and removed against the base, whether token-level diff3 merges
the region cleanly and how many token conflicts it leaves, whether the sides differ only in digits
(version bumps), the language group and kind of file (test, docs, manifest, changelog), how many
distinct candidates there are. Candidate features: which generators made it (multi-hot) and how
many agree, its size against the sides, how much of each side's lines it keeps, lines it has
from no side, lines it repeats, and whether it parses (tree-sitter ``has_error`` with the region's
context around it; -1 where no grammar exists) beside whether the sides parse that way.
"""
from __future__ import annotations

import difflib
import math
import os
import re
from typing import Optional, Sequence

import numpy as np

from .candidates import GENERATORS, Candidate, Region

LANGUAGE_GROUPS = {
    "python": (".py", ".pyi", ".pyx"), "javascript": (".js", ".jsx", ".mjs", ".cjs", ".vue"),
    "typescript": (".ts", ".tsx", ".mts"), "java": (".java", ".kt", ".kts", ".groovy", ".gradle", ".scala"),
    "go": (".go",), "rust": (".rs",), "c": (".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh", ".hxx"),
    "json": (".json",), "yaml": (".yml", ".yaml"), "markup": (".md", ".rst", ".txt", ".adoc", ".tex", ".html"),
    "config": (".toml", ".ini", ".cfg", ".properties", ".mod", ".sum", ".lock", ".cmake"), "xml": (".xml",),
}
GROUPS = tuple(LANGUAGE_GROUPS) + ("other",)
_EXT_GROUP = {ext: g for g, exts in LANGUAGE_GROUPS.items() for ext in exts}
_MANIFESTS = {"package.json", "pom.xml", "go.mod", "go.sum", "cargo.toml", "setup.py", "setup.cfg",
              "pyproject.toml", "requirements.txt", "build.gradle", "cmakelists.txt", "tox.ini"}
_DIGITS = re.compile(r"\d+")
MAX_PARSE_CHARS = 200_000

REGION_FEATURES = (
    "log_lines_ours", "log_lines_base", "log_lines_theirs", "log_chars_ours", "log_chars_base",
    "log_chars_theirs", "empty_ours", "empty_base", "empty_theirs",
    "line_jac_ours_base", "line_jac_theirs_base", "line_jac_ours_theirs",
    "in_ours_of_base", "in_theirs_of_base", "in_base_of_ours", "in_base_of_theirs",
    "in_theirs_of_ours", "in_ours_of_theirs",
    "tok_jac_ours_base", "tok_jac_theirs_base", "tok_jac_ours_theirs",
    "ours_added", "ours_removed", "theirs_added", "theirs_removed", "ours_pure_insert", "theirs_pure_insert",
    "token_clean", "log_token_conflicts", "token_conflict_share", "digits_only", "sides_same_lines_sorted",
    "ctx_before_empty", "ctx_after_empty", "path_test", "path_doc", "path_manifest", "path_changelog",
    "n_candidates",
) + tuple(f"lang_{g}" for g in GROUPS)
CANDIDATE_FEATURES = tuple(f"gen_{g}" for g in GENERATORS) + (
    "agreement", "first_generator", "log_lines_cand", "cand_vs_ours", "cand_vs_theirs", "cand_vs_base",
    "keeps_ours", "keeps_theirs", "keeps_base", "from_ours", "from_theirs", "from_base_only", "new_lines",
    "repeated_lines", "empty_cand", "cand_error", "sides_error",
)
FEATURES = REGION_FEATURES + CANDIDATE_FEATURES


def language_group(path: Optional[str]) -> str:
    if not path:
        return "other"
    return _EXT_GROUP.get(os.path.splitext(path)[1].lower(), "other")


def _keys(lines: Sequence[str]) -> list[str]:
    return [k for k in (line.strip() for line in lines) if k]


def _jac(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if (a or b) else 1.0


def _inside(a: set, b: set) -> float:
    """Share of ``a`` found in ``b`` (1 for an empty ``a``)."""
    return len(a & b) / len(a) if a else 1.0


def _changes(base: list[str], side: list[str]) -> tuple[int, int]:
    """Lines ``side`` added and removed against ``base``."""
    if len(base) * len(side) > 250_000:
        sb, ss = set(base), set(side)
        return sum(1 for x in side if x not in sb), sum(1 for x in base if x not in ss)
    added = removed = 0
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, base, side, autojunk=False).get_opcodes():
        if tag != "equal":
            removed += i2 - i1
            added += j2 - j1
    return added, removed


def _log(n: float) -> float:
    return math.log1p(n)


class _Parses:
    """Whether text parses in the region's language (cached parser per language; -1: no grammar)."""

    def __init__(self):
        self.parsers: dict[str, object] = {}

    def __call__(self, text: str, path: Optional[str]) -> float:
        if not path or len(text) > MAX_PARSE_CHARS:
            return -1.0
        from indexer.languages import language_for_path

        spec = language_for_path(path)
        if spec is None:
            return -1.0
        parser = self.parsers.get(spec.name)
        if parser is None:
            parser = self.parsers[spec.name] = spec.parser()
        try:
            tree = parser.parse(text.encode("utf-8", "surrogateescape"))
        except Exception:  # noqa: BLE001 - a feature, never a failure
            return -1.0
        return 1.0 if tree.root_node.has_error else 0.0


PARSES = _Parses()


def region_features(region: Region, n_candidates: int) -> list[float]:
    o, b, t = region.ours, region.base, region.theirs
    ko, kb, kt = _keys(o), _keys(b), _keys(t)
    so, sb, st = set(ko), set(kb), set(kt)
    to, tb, tt = (set(x for x in s if x.strip()) for s in region.plan.token_sides) if region.plan.token_sides \
        else (set(), set(), set())
    oa, orm = _changes(kb, ko)
    ta, trm = _changes(kb, kt)
    n_conf = len(region.plan.conflicts)
    conf_tokens = sum(len(h.ours) + len(h.theirs) for h in region.plan.conflicts)
    all_tokens = max(1, sum(len(s) for s in region.plan.token_sides) if region.plan.token_sides else 1)
    to_s, tt_s = "".join(o), "".join(t)
    digits_only = float(to_s != tt_s and _DIGITS.sub("0", to_s) == _DIGITS.sub("0", tt_s))
    path = (region.path or "").lower()
    name = os.path.basename(path)
    group = language_group(region.path)
    row = [
        _log(len(o)), _log(len(b)), _log(len(t)), _log(len(to_s)), _log(len("".join(b))), _log(len(tt_s)),
        float(not ko), float(not kb), float(not kt),
        _jac(so, sb), _jac(st, sb), _jac(so, st),
        _inside(so, sb), _inside(st, sb), _inside(sb, so), _inside(sb, st), _inside(so, st), _inside(st, so),
        _jac(to, tb), _jac(tt, tb), _jac(to, tt),
        _log(oa), _log(orm), _log(ta), _log(trm), float(orm == 0 and oa > 0), float(trm == 0 and ta > 0),
        float(region.plan.clean), _log(n_conf), conf_tokens / all_tokens, digits_only,
        float(sorted(ko) == sorted(kt)),
        float(not region.context_before.strip()), float(not region.context_after.strip()),
        float("test" in path), float(group == "markup"), float(name in _MANIFESTS),
        float(any(w in name for w in ("change", "history", "news", "release"))),
        float(n_candidates),
    ]
    row += [float(group == g) for g in GROUPS]
    return row


def candidate_features(region: Region, cand: Candidate, sides_error: float) -> list[float]:
    o, b, t = _keys(region.ours), _keys(region.base), _keys(region.theirs)
    so, sb, st = set(o), set(b), set(t)
    lines = _keys(cand.text.splitlines())
    sc = set(lines)
    n = len(lines)
    from_base_only = sum(1 for x in lines if x in sb and x not in so and x not in st)
    new = sum(1 for x in lines if x not in so and x not in sb and x not in st)
    repeated = n - len(sc) - max(len(o) - len(so), len(t) - len(st), 0)
    gens = set(cand.generators)
    row = [float(g in gens) for g in GENERATORS]
    row += [
        float(len(cand.generators)), float(GENERATORS.index(cand.generators[0])), _log(n),
        n / max(1, len(o)), n / max(1, len(t)), n / max(1, len(b)),
        _inside(so, sc), _inside(st, sc), _inside(sb, sc),
        sum(1 for x in lines if x in so) / max(1, n), sum(1 for x in lines if x in st) / max(1, n),
        from_base_only / max(1, n), new / max(1, n), float(max(0, repeated)), float(not lines),
        PARSES(region.context_before + cand.text + region.context_after, region.path), sides_error,
    ]
    return row


def feature_rows(region: Region, cands: Sequence[Candidate], parse: bool = True) -> np.ndarray:
    """One row per candidate (columns: ``FEATURES``)."""
    reg = region_features(region, len(cands))
    if parse:
        errs = [PARSES(region.context_before + "".join(s) + region.context_after, region.path)
                for s in (region.ours, region.theirs)]
        sides_error = max(errs)
    else:
        sides_error = -1.0
    rows = []
    for cand in cands:
        row = reg + candidate_features(region, cand, sides_error)
        if not parse:
            row[-2] = -1.0
        rows.append(row)
    return np.asarray(rows, dtype=np.float64).reshape(len(cands), len(FEATURES))


__all__ = ["CANDIDATE_FEATURES", "FEATURES", "GROUPS", "REGION_FEATURES", "feature_rows", "language_group"]
