"""Findings of the learned features shown in the editor as hint diagnostics, with their code
actions: near-duplicate functions (``codeintel.clones.near_duplicates``) now, more as features
land. They read the whole index, so the server computes them off the message loop when a
document is opened or saved, not on every keystroke. Wiring only."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

SOURCE = "codeintel"
NEAR_DUPLICATE = "near-duplicate"
SHOW_LOCATION = "codeintel.showLocation"


def _line_range(lines: list[str], first: int, last: Optional[int] = None) -> lsp.Range:
    """Lines ``first``..``last`` (0-based, inclusive) of a buffer; the end column in UTF-16 units
    is only needed for the last line's length, which every encoding bounds from above."""
    last = first if last is None else last
    end_text = lines[last] if 0 <= last < len(lines) else ""
    return lsp.Range(lsp.Position(first, 0), lsp.Position(last, len(end_text.encode("utf-16-le")) // 2))


def near_duplicate_diagnostics(root: Path, rel: str, text: str, threshold: Optional[float] = None
                               ) -> list[lsp.Diagnostic]:
    """A hint on the first line of each function of the buffer that has a near-duplicate in the
    index, with the other copy as related information."""
    from codeintel.clones.repo import near_duplicates

    kwargs = {} if threshold is None else {"threshold": threshold}
    found = near_duplicates(root, rel, text, **kwargs)
    lines = text.splitlines()
    out = []
    for dup in found:
        other_uri = from_fs_path(str(root / dup.other_path))
        other_range = lsp.Range(lsp.Position(dup.other_start_line - 1, 0), lsp.Position(dup.other_end_line, 0))
        out.append(lsp.Diagnostic(
            range=_line_range(lines, dup.start_line - 1),
            message=f"near-duplicate of {dup.other_name} in {dup.other_path}:{dup.other_start_line} "
                    f"({dup.similarity:.2f})",
            severity=lsp.DiagnosticSeverity.Hint, source=SOURCE, code=NEAR_DUPLICATE,
            related_information=[lsp.DiagnosticRelatedInformation(
                location=lsp.Location(other_uri, other_range),
                message=f"{dup.other_name} ({dup.similarity:.2f} of their tokens in shared fragments)")],
            data={"uri": other_uri, "line": dup.other_start_line - 1, "end_line": dup.other_end_line - 1,
                  "name": dup.other_name}))
    return out


def finding_actions(findings: list[lsp.Diagnostic], first_line: int, last_line: int) -> list[lsp.CodeAction]:
    """Code actions for the findings on lines ``first_line``..``last_line`` (0-based)."""
    actions = []
    for d in findings:
        if not (d.range.start.line <= last_line and first_line <= d.range.end.line):
            continue
        if d.code == NEAR_DUPLICATE and isinstance(d.data, dict):
            where = f"{d.data['name']} ({Path(d.data['uri']).name}:{d.data['line'] + 1})"
            target = {"start": {"line": d.data["line"], "character": 0},
                      "end": {"line": d.data["end_line"] + 1, "character": 0}}
            actions.append(lsp.CodeAction(
                title=f"Open the near-duplicate {where}", kind=lsp.CodeActionKind.QuickFix, diagnostics=[d],
                command=lsp.Command(title=f"Open {where}", command=SHOW_LOCATION, arguments=[d.data["uri"], target])))
    return actions
