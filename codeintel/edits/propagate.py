"""Edit propagation (model-free): the user's own edit, proposed wherever else it fits.

``user_edits(root, against)`` reads what the user changed: every function whose text differs
between ``against`` (a commit: ``HEAD`` by default, or the merge base of the current branch
with another one) and the working tree, each generalised to an abstract edit
(``patterns.learn_edit``). ``propagate(root)`` finds the other functions of the repository
where an edit's "before" pattern occurs (the indexed files that contain its anchor token, read
as they are on disk now) and returns one ``Suggestion`` per function, best first. The language
server can call both directly; the CLI prints them as diffs and applies the chosen ones.
"""
from __future__ import annotations

import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from indexer.gitcmd import repository_filters_off, run_git

from .abstraction import parses, render, tokenize
from .patterns import Edit, learn_edit
from .suggestion import Function, Suggestion, functions_of, make_suggestion

MIN_CONFIDENCE = 0.3


class PropagationError(RuntimeError):
    """Git could not tell what the user changed (the message is one line)."""


@dataclass
class UserEdit:
    path: str
    qualname: str
    edit: Edit
    before: str
    after: str


def git_in(root: Path, *args: str) -> subprocess.CompletedProcess:
    return run_git("-C", str(root), *args, capture_output=True, config=repository_filters_off(root))


def resolve_base(root: Path, against: str = "HEAD", branch: Optional[str] = None) -> str:
    """The commit to compare the working tree with: ``against``, or with ``branch`` the merge
    base of HEAD and that branch (what the current branch changed)."""
    if branch:
        proc = git_in(root, "merge-base", "HEAD", branch)
        if proc.returncode:
            raise PropagationError(f"no merge base of HEAD and {branch!r}: "
                                   f"{proc.stderr.decode(errors='replace').strip().splitlines()[-1:] or ['?']}")
        return proc.stdout.decode().strip()
    proc = git_in(root, "rev-parse", "--verify", "--quiet", f"{against}^{{commit}}")
    if proc.returncode:
        raise PropagationError(f"{against!r} is not a commit in {root}")
    return proc.stdout.decode().strip()


def worktree_state(root: Path, against: str = "HEAD", branch: Optional[str] = None) -> str:
    """A digest of what ``user_edits`` reads: the commit compared with and the work tree's diff
    against it. The same digest means the same edits (a cache of ``propagate`` keys on it, with
    the index's version: the other files are read from the index and the disk)."""
    base = resolve_base(Path(root), against, branch)
    proc = git_in(Path(root), "diff", "--no-ext-diff", "--no-textconv", "--no-color", "--binary", "--no-renames", base, "--")
    if proc.returncode:
        raise PropagationError(f"git diff failed: {proc.stderr.decode(errors='replace').strip()}")
    return hashlib.sha1(base.encode() + b"\0" + proc.stdout).hexdigest()


def user_edits(root: Path, against: str = "HEAD", branch: Optional[str] = None, idioms=None) -> list[UserEdit]:
    from indexer.languages import language_for_path

    root = Path(root)
    base = resolve_base(root, against, branch)
    proc = git_in(root, "diff", "--name-only", "-z", "--no-renames", base, "--")
    if proc.returncode:
        raise PropagationError(f"git diff failed: {proc.stderr.decode(errors='replace').strip()}")
    out = []
    for rel in filter(None, proc.stdout.decode("utf-8", "replace").split("\0")):
        spec = language_for_path(rel)
        path = root / rel
        if spec is None or not path.is_file():
            continue
        old = git_in(root, "show", f"{base}:{rel}")
        if old.returncode:
            continue      # a new file: nothing it was before
        before = {f.qualname: f for f in functions_of(old.stdout, spec.name)}
        for fn in functions_of(path.read_bytes(), spec.name):
            prev = before.get(fn.qualname)
            if prev is None or prev.text == fn.text:
                continue
            edit = learn_edit(tokenize(prev.text, spec.name), tokenize(fn.text, spec.name), idioms,
                              f"{rel}:{fn.qualname}")
            if not edit.empty:
                out.append(UserEdit(rel, fn.qualname, edit, prev.text, fn.text))
    return out


def _anchor(edit: Edit) -> Optional[str]:
    """The rarest-looking concrete token of the edit's patterns (the longest identifier)."""
    words = [s.text for r in edit.rules for s in r.pattern
             if not s.hole and s.kind in ("VAR", "METHOD", "TYPE", "STRING", "NUMBER")]
    return max(words, key=len) if words else None


def suggest_in_function(edit: Edit, fn: Function, language: str) -> Optional[tuple[str, float, int]]:
    """(new text, confidence, places) of ``edit`` applied to ``fn``, when it applies and the
    result parses."""
    from .patterns import apply_edit

    tokens = tokenize(fn.text, language)
    result = apply_edit(edit, tokens)
    if result is None:
        return None
    texts, confidence, places = result
    new_text = render(fn.text, tokens, texts, language)
    if new_text == fn.text or (not parses(new_text, language) and parses(fn.text, language)):
        return None
    return new_text, confidence, places


def propagate(root: Path, against: str = "HEAD", branch: Optional[str] = None, store=None,
              edits: Optional[list[UserEdit]] = None, min_confidence: float = MIN_CONFIDENCE) -> list[Suggestion]:
    """Suggestions that repeat the user's edits elsewhere, best first (one per function)."""
    from indexer.languages import language_for_path

    from ..store import Store, store_path

    root = Path(root)
    if edits is None:
        edits = user_edits(root, against, branch)
    if not edits:
        return []
    own = {(e.path, e.qualname) for e in edits}
    close = store is None
    store = store or Store.open(store_path(root), create=False)
    try:
        candidates: dict[str, None] = {}
        for e in edits:
            anchor = _anchor(e.edit)
            if anchor:
                candidates.update((path, None) for path, _ in store.files_containing(anchor.encode("utf-8")))
    finally:
        if close:
            store.close()
    best: dict[tuple[str, str], Suggestion] = {}
    for rel in candidates:
        spec = language_for_path(rel)
        path = root / rel
        if spec is None or not path.is_file():
            continue
        data = path.read_bytes()
        for fn in functions_of(data, spec.name):
            if (rel, fn.qualname) in own:
                continue
            for e in edits:
                found = suggest_in_function(e.edit, fn, spec.name)
                if found is None or found[1] < min_confidence:
                    continue
                new_text, confidence, places = found
                key = (rel, fn.qualname)
                if key not in best or best[key].confidence < confidence:
                    best[key] = make_suggestion(
                        rel, data, fn, new_text, confidence, "propagation",
                        f"the edit you made in {e.path}:{e.qualname} ({places} place(s))")
    return sorted(best.values(), key=lambda s: (-s.confidence, s.path, s.start_line))
