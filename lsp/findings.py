"""Findings of the learned features shown in the editor as hint diagnostics, with their code
actions: near-duplicate functions (``codeintel.clones.near_duplicates``: open the other copy),
suggested edits (``codeintel.edits.suggest_for_file``: apply it) and the places where the
user's own uncommitted edit fits too (``codeintel.edits.propagate``: apply it there, or
everywhere at once). They read the whole index or the work tree, so the server computes them
off the message loop when a document is opened or saved, not on every keystroke. A
diagnostic carries its edits as plain JSON in ``data``, so its code actions are built from the
diagnostic alone. Wiring only."""
from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Callable, Optional

from lsprotocol import types as lsp
from pygls.uris import from_fs_path

from .positions import UTF16, to_client_col

SOURCE = "codeintel"
NEAR_DUPLICATE = "near-duplicate"
SHOW_LOCATION = "codeintel.showLocation"
SUGGESTED_EDIT = "suggested-edit"
PROPAGATED_EDIT = "propagated-edit"


def _line_range(lines: list[str], first: int, encoding=UTF16) -> lsp.Range:
    """Line ``first`` (0-based) of a buffer, whole, in the client's column units."""
    end_text = (lines[first] if 0 <= first < len(lines) else "").encode("utf-8", "surrogateescape")
    return lsp.Range(lsp.Position(first, 0), lsp.Position(first, to_client_col(end_text, len(end_text), encoding)))


def near_duplicate_diagnostics(root: Path, rel: str, text: str, threshold: Optional[float] = None,
                               encoding=UTF16) -> list[lsp.Diagnostic]:
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
            range=_line_range(lines, dup.start_line - 1, encoding),
            message=f"near-duplicate of {dup.other_name} in {dup.other_path}:{dup.other_start_line} "
                    f"({dup.similarity:.2f}" + (f", learned {dup.learned:.2f})" if dup.learned is not None else ")"),
            severity=lsp.DiagnosticSeverity.Hint, source=SOURCE, code=NEAR_DUPLICATE,
            related_information=[lsp.DiagnosticRelatedInformation(
                location=lsp.Location(other_uri, other_range),
                message=f"{dup.other_name} ({dup.similarity:.2f} of their tokens in shared fragments"
                        + (f"; learned similarity {dup.learned:.2f})" if dup.learned is not None else ")"))],
            data={"uri": other_uri, "line": dup.other_start_line - 1, "end_line": dup.other_end_line - 1,
                  "name": dup.other_name}))
    return out


def _range_json(data: bytes, s, encoding) -> dict:
    """A Suggestion's span (1-based lines, UTF-8 byte columns) in the client's units."""
    lines = data.split(b"\n")

    def line(n: int) -> bytes:
        return lines[n - 1] if 0 < n <= len(lines) else b""

    return {"start": {"line": s.start_line - 1, "character": to_client_col(line(s.start_line), s.start_col, encoding)},
            "end": {"line": s.end_line - 1, "character": to_client_col(line(s.end_line), s.end_col, encoding)}}


def _edit_json(root: Path, s, data: bytes, encoding) -> dict:
    return {"uri": from_fs_path(str(root / s.path)), "range": _range_json(data, s, encoding), "newText": s.after}


def _hint(text_lines: list[str], s, message: str, code: str, actions: list[dict], encoding) -> lsp.Diagnostic:
    return lsp.Diagnostic(range=_line_range(text_lines, s.start_line - 1, encoding), message=message,
                          severity=lsp.DiagnosticSeverity.Hint, source=SOURCE, code=code,
                          data={"actions": actions})


class Propagations:
    """``codeintel.edits.propagate`` for each workspace folder, run once per state of what it
    reads: HEAD and the work tree's diff against it (``worktree_state``) and the version of the
    index. Opening or saving N documents of an unchanged work tree costs one run, not N.
    ``on_run(root, suggestions, seconds)`` is told of each real run (the server logs it);
    ``runs`` counts them. Thread-safe (one run at a time)."""

    def __init__(self, on_run: Optional[Callable[[Path, int, float], None]] = None):
        self.on_run = on_run
        self.runs = 0
        self._cached: dict[Path, tuple[tuple, list]] = {}
        self._lock = threading.Lock()

    def get(self, root: Path) -> list:
        from codeintel.edits.propagate import propagate, worktree_state
        from codeintel.store import Store, store_path

        with self._lock:
            with Store.open(store_path(root), create=False) as store:
                state = (worktree_state(root), store.functions_version())
            cached = self._cached.get(root)
            if cached is not None and cached[0] == state:
                return cached[1]
            started = time.perf_counter()
            found = propagate(root)
            self.runs += 1
            self._cached[root] = (state, found)
        if self.on_run is not None:
            self.on_run(root, len(found), time.perf_counter() - started)
        return found


def edit_diagnostics(root: Path, rel: str, text: str, encoding=UTF16,
                     propagations: Optional[Propagations] = None) -> list[lsp.Diagnostic]:
    """Hints where the edits feature has something for this document: a suggested edit of one
    of its functions, or a place where the user's uncommitted edit (working tree against HEAD)
    fits too. Each carries the WorkspaceEdit(s) its code actions apply. ``propagations``: the
    server's cache of the propagation runs (without it, one run per call)."""
    from codeintel.edits.propagate import propagate
    from codeintel.edits.suggest import suggest_for_file

    data = text.encode("utf-8", "surrogateescape")
    lines = text.splitlines()
    out = []
    for s in suggest_for_file(root, rel, text):
        action = {"title": f"Apply the suggested edit to {s.qualname} ({s.confidence:.2f})",
                  "edits": [_edit_json(root, s, data, encoding)]}
        out.append(_hint(lines, s, f"suggested edit ({s.source}, {s.confidence:.2f}): {s.reason}",
                         SUGGESTED_EDIT, [action], encoding))
    try:
        spread = propagations.get(root) if propagations is not None else propagate(root)
    except Exception:  # noqa: BLE001 - no git, no index yet: no propagation hints
        spread = []
    if spread:
        everywhere = []
        for s in spread:
            try:
                other = data if s.path == rel else (root / s.path).read_bytes()
            except OSError:
                continue
            everywhere.append(_edit_json(root, s, other, encoding))
        for s in spread:
            if s.path != rel:
                continue
            actions = [{"title": f"Apply your edit here ({s.qualname}, {s.confidence:.2f})",
                        "edits": [_edit_json(root, s, data, encoding)]}]
            if len(everywhere) > 1:
                actions.append({"title": f"Apply this edit everywhere ({len(everywhere)} places)", "edits": everywhere})
            out.append(_hint(lines, s, f"{s.reason} fits here too ({s.confidence:.2f})", PROPAGATED_EDIT, actions, encoding))
    return out


def _workspace_edit(edits: list[dict]) -> lsp.WorkspaceEdit:
    changes: dict[str, list[lsp.TextEdit]] = {}
    for e in edits:
        r = e["range"]
        changes.setdefault(e["uri"], []).append(lsp.TextEdit(
            range=lsp.Range(lsp.Position(r["start"]["line"], r["start"]["character"]),
                            lsp.Position(r["end"]["line"], r["end"]["character"])),
            new_text=e["newText"]))
    return lsp.WorkspaceEdit(changes=changes)


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
        elif d.code in (SUGGESTED_EDIT, PROPAGATED_EDIT) and isinstance(d.data, dict):
            for i, action in enumerate(d.data.get("actions", [])):
                actions.append(lsp.CodeAction(title=action["title"], kind=lsp.CodeActionKind.QuickFix,
                                              diagnostics=[d], is_preferred=i == 0 and d.code == PROPAGATED_EDIT,
                                              edit=_workspace_edit(action["edits"])))
    return actions
