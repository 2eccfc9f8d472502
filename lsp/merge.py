"""The merge feature in the editor: a diagnostic on each block of conflict markers
(``codeintel.merge.markers``) and the WorkspaceEdit that resolves them with the merge model
(``codeintel.merge.driver.resolve_text``, what `codeintel resolve` runs)."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from lsprotocol import types as lsp

from .positions import UTF16, to_client_col

SOURCE = "codeintel"
log = logging.getLogger("codeintel.lsp.merge")


def conflict_diagnostics(text: str, encoding=UTF16) -> list[lsp.Diagnostic]:
    """One error per conflict: from its ``<<<<<<<`` line to its ``>>>>>>>`` line."""
    from codeintel.merge.markers import has_markers, parse_conflicts

    if not has_markers(text):
        return []
    out, line = [], 0
    for seg in parse_conflicts(text):
        lines = seg.text.splitlines()
        if seg.conflict:
            last = lines[-1] if lines else ""
            ours, _, theirs = seg.labels
            sides = f"ours {ours!r} / theirs {theirs!r}" if ours or theirs else "ours / theirs"
            out.append(lsp.Diagnostic(
                range=lsp.Range(lsp.Position(line, 0),
                                lsp.Position(line + len(lines) - 1, to_client_col(last.encode(), len(last.encode()), encoding))),
                message=f"merge conflict ({sides}, {len(seg.ours)} vs {len(seg.theirs)} lines)"
                        + ("; the markers are ambiguous" if seg.ambiguous else "") + _prospect(seg),
                severity=lsp.DiagnosticSeverity.Error, source=SOURCE, code="merge-conflict"))
        line += seg.text.count("\n")
    return out


def _prospect(seg) -> str:
    """What the code action can do for a conflict: a conflict without a base section (git's
    ``merge`` style) is resolved only while git's index still holds the merge's versions."""
    if seg.base is None:
        return ("; it has no base section (merge.conflictStyle=merge), so codeintel can resolve it only "
                "while git's index holds the merge; `git config merge.conflictStyle diff3` keeps the base")
    return ": the code action \"Resolve conflicts with codeintel\" may resolve it"


@dataclass
class Resolution:
    edit: Optional[lsp.WorkspaceEdit]     # None when nothing was resolved
    resolved: int
    left: int
    message: str
    reasons: tuple[str, ...] = ()         # why each conflict, in the document's order, was left ("" if resolved)

    def reason(self, conflict: int) -> str:
        """Why conflict ``conflict`` (0-based, in the document's order) was left; else the message."""
        if 0 <= conflict < len(self.reasons) and self.reasons[conflict]:
            return self.reasons[conflict]
        return self.message


class MergeResolvers:
    """The merge model of each repository, loaded lazily (only when a file conflicts) and again
    when another one is trained (``registry.model_stamp``)."""

    def __init__(self):
        self._by_root: dict[Optional[Path], tuple] = {}

    def get(self, root: Optional[Path]):
        from codeintel.models.registry import model_stamp

        stamp = model_stamp(root, "merge")
        cached = self._by_root.get(root)
        if cached is None or cached[0] != stamp:
            from codeintel.merge.resolver import Resolver
            cached = self._by_root[root] = (stamp, Resolver(root))
        return cached[1]


def resolve_document(uri: str, text: str, path: Optional[Path], root: Optional[Path], resolvers: MergeResolvers,
                     threshold: Optional[float], encoding=UTF16, cancelled=lambda: False) -> Resolution:
    """Resolve the conflicts in a document's text; the edit replaces only the changed middle."""
    from codeintel.merge.driver import bases_from_index, merge_threshold, resolve_text

    resolver = resolvers.get(root)
    if not resolver.available:
        return Resolution(None, 0, 0, "no merge model: train one with `codeintel train merge`")
    limit = threshold if threshold is not None else merge_threshold(root, resolver, warn=log.warning)
    rel = path.resolve().relative_to(root).as_posix() if root and path else (path.name if path else None)
    bases = bases_from_index(root, path) if root and path else []
    if cancelled():
        return Resolution(None, 0, 0, "cancelled")
    result = resolve_text(text, rel, resolver, limit, bases)
    message = f"{result.resolved} conflict(s) resolved, {result.conflicts} left (threshold {limit:.2f})"
    if result.too_costly:
        message += f"; {result.too_costly}"
    reasons = tuple("" if d.resolved else _left_because(d.reason) for d in result.decisions)
    if result.notes:
        message += "; " + "; ".join(result.notes)
    if not result.resolved or result.text == text:
        return Resolution(None, 0, result.conflicts, message, reasons)
    return Resolution(lsp.WorkspaceEdit(changes={uri: [minimal_edit(text, result.text, encoding)]}),
                      result.resolved, result.conflicts, message, reasons)


def _left_because(reason: str) -> str:
    if reason == "no base version":
        return ("no base version (merge.conflictStyle=merge and git's index has no stages for it): "
                "`git config merge.conflictStyle diff3`, then merge again")
    return reason or "left as it is"


def minimal_edit(old: str, new: str, encoding=UTF16) -> lsp.TextEdit:
    """One TextEdit turning ``old`` into ``new``: the common head and tail are left alone."""
    head = 0
    limit = min(len(old), len(new))
    while head < limit and old[head] == new[head]:
        head += 1
    head = old.rfind("\n", 0, head) + 1            # whole lines: friendlier undo and diff
    tail = 0
    while tail < limit - head and old[len(old) - 1 - tail] == new[len(new) - 1 - tail]:
        tail += 1
    old_end = len(old) - tail
    return lsp.TextEdit(lsp.Range(_position(old, head, encoding), _position(old, old_end, encoding)),
                        new[head:len(new) - tail])


def _position(text: str, index: int, encoding=UTF16) -> lsp.Position:
    line = text.count("\n", 0, index)
    start = text.rfind("\n", 0, index) + 1
    chunk = text[start:index].encode("utf-8", "surrogateescape")
    return lsp.Position(line, to_client_col(chunk, len(chunk), encoding))
