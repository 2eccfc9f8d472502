"""The git merge driver and `codeintel resolve`: merge one file, resolve what the model is
sure of, and never lose work.

Protocol (gitattributes(5), "Defining a custom merge driver"): git runs
``codeintel merge-driver %O %A %B %L %P``; the result goes to %A only; exit 0 means every
conflict was resolved, non-zero leaves the file conflicted with markers. A clean merge is git's
own ``git merge-file`` result and never imports torch. With conflicts, MergeBERT's token-level
plan is built and each remaining token conflict is classified; a line hunk is resolved only
when the model is at least ``threshold`` sure of every conflict in it, and a candidate that
no longer parses (tree-sitter) is rejected. Any error falls back to git's textual merge, and so
does a file past the bounds of ``limits`` (size, conflicts, time, memory), said in one line on
stderr.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from codeintel.display import printable
from indexer.gitcmd import run_git
from indexer.gitmerge import LABELS, git_merge_file

from .limits import MergeLimits, MergeTooCostly, enforced

DEFAULT_THRESHOLD = 0.9

@dataclass
class Decision:
    hunk: int
    resolved: bool
    patterns: list[str]
    confidence: float
    reason: str
    text: Optional[str] = None       # what the hunk was resolved to (None when left)


@dataclass
class MergeOutcome:
    text: bytes
    conflicts: int                 # line hunks left with markers
    resolved: int                  # line hunks the model resolved
    decisions: list[Decision] = field(default_factory=list)
    fallback: Optional[str] = None  # why git's plain merge stands, if it does
    model: Optional[str] = None
    too_costly: Optional[str] = None  # the bound (limits) that stopped the model, if one did


def git_config(key: str, cwd: Optional[str] = None) -> Optional[str]:
    try:
        out = run_git("config", "--get", key, capture_output=True, text=True, cwd=cwd, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def conflict_style(cwd: Optional[str] = None) -> str:
    style = (git_config("merge.conflictStyle", cwd) or "merge").lower()
    return style if style in ("merge", "diff3", "zdiff3") else "merge"


def _parses(text: str, path: Optional[str]) -> bool:
    if not path:
        return True
    from indexer.languages import language_for_path

    spec = language_for_path(path)
    if spec is None:
        return True
    return not spec.parser().parse(text.encode("utf-8", "surrogateescape")).root_node.has_error


def merge_bytes(base: bytes, ours: bytes, theirs: bytes, path: Optional[str] = None, resolver=None,
                threshold: float = DEFAULT_THRESHOLD, style: str = "merge", marker_size: int = 7,
                labels: tuple[str, str, str] = LABELS,
                textual: Optional[tuple[bytes, int]] = None, limits: Optional[MergeLimits] = None) -> MergeOutcome:
    """Merge three versions of a file. Clean merges, every failure and a merge past ``limits``
    (default: ``MergeLimits.from_env()``) return git's result; ``textual`` is that result when
    the caller already has it."""
    text, conflicts = textual or git_merge_file(ours, base, theirs, style=style, marker_size=marker_size,
                                                labels=labels)
    if conflicts == 0:
        return MergeOutcome(text, 0, 0)
    if any(b"\0" in data[:8192] for data in (base, ours, theirs)):
        return MergeOutcome(text, conflicts, 0, fallback="binary file: git's textual merge")
    try:
        texts = [data.decode("utf-8") for data in (base, ours, theirs)]
    except UnicodeDecodeError:
        return MergeOutcome(text, conflicts, 0, fallback="not UTF-8: git's textual merge")
    if resolver is None or not resolver.available:
        return MergeOutcome(text, conflicts, 0, fallback="no merge model: git's textual merge")
    limits = limits or MergeLimits.from_env()
    try:
        too_large = limits.check_sides(base, ours, theirs)
        if too_large:
            raise MergeTooCostly(too_large)
        budget = limits.budget()
        with enforced(budget):
            return _resolve(texts, path, resolver, threshold, style, marker_size, labels, text, conflicts, budget)
    except MergeTooCostly as exc:
        return MergeOutcome(text, conflicts, 0, fallback=f"{exc}: git's textual merge", model=resolver.name,
                            too_costly=str(exc))
    except Exception as exc:  # noqa: BLE001 - never lose work: git's merge stands
        return MergeOutcome(text, conflicts, 0, fallback=f"error ({type(exc).__name__}: {exc}); git's textual merge",
                            model=resolver.name)


def _resolve(texts, path, resolver, threshold, style, marker_size, labels, git_text, git_conflicts,
             budget) -> MergeOutcome:
    from .conflicts import plan_merge

    base, ours, theirs = texts
    plan = plan_merge(base, ours, theirs, path=path, budget=budget)
    hunk_decisions = resolver.decide(plan, threshold, budget)
    decisions = [Decision(d.hunk, d.text is not None, d.classes, d.confidence, d.reason, d.text)
                 for d in hunk_decisions]
    overrides = {d.hunk: d.text for d in hunk_decisions if d.text is not None}
    if not overrides:
        return MergeOutcome(git_text, git_conflicts, 0, decisions, model=resolver.name)
    result = plan.assemble({}, style=style, marker_size=marker_size, labels=labels, use_token_merge=False,
                           overrides=overrides)
    if all(_parses(t, path) for t in (ours, theirs)) and not _parses(result.text, path):
        for d in decisions:
            if d.resolved:
                d.resolved, d.reason, d.text = False, "rejected: the resolved file does not parse", None
        return MergeOutcome(git_text, git_conflicts, 0, decisions, model=resolver.name)
    return MergeOutcome(result.text.encode("utf-8"), result.unresolved_hunks, len(overrides), decisions,
                        model=resolver.name)


def write_atomically(path: str, data: bytes) -> None:
    """Replace ``path``'s content without a moment where it is half written."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".codeintel-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


# ------------------------------------------------------------------------------ git's driver
def git_repo_root(cwd: Optional[str] = None) -> Optional[Path]:
    try:
        out = run_git("rev-parse", "--show-toplevel", capture_output=True, text=True, cwd=cwd, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def record(repo_root: Optional[Path], path: str, outcome_decisions: list[Decision], model: Optional[str],
           threshold: float, via: str, blobs: tuple = (None, None, None)) -> None:
    """Keep each decision in the store (best effort: a merge never fails for want of a store).
    ``blobs``: the git blob ids of base, ours and theirs, so that the merge commit which later
    records these versions can be found; decisions are in conflict order (their ``region``)."""
    if repo_root is None or not outcome_decisions:
        return
    try:
        from codeintel.store import Store, store_path

        db = store_path(repo_root)
        if not db.is_file():
            return
        base_blob, ours_blob, theirs_blob = blobs
        with Store.open(db, create=False) as store:
            store.record_merge_decisions([
                {"path": path, "hunk": d.hunk, "resolved": int(d.resolved), "patterns": ",".join(d.patterns),
                 "confidence": round(d.confidence, 4), "reason": d.reason, "model": model,
                 "threshold": threshold, "via": via, "region": region, "base_blob": base_blob,
                 "ours_blob": ours_blob, "theirs_blob": theirs_blob, "resolution": d.text if d.resolved else None}
                for region, d in enumerate(outcome_decisions)])
    except Exception:  # noqa: BLE001
        pass


def _tell(message: str) -> None:
    """One line on stderr, where git shows what a merge driver says."""
    print(f"codeintel: {message}", file=sys.stderr)


def _tell_model_not_used(path: str, fallback: Optional[str]) -> None:
    """Say why the model did not run on a conflicted file (it failed to load or run, or there
    is none), so that a conflict left to git is never left in silence."""
    if fallback and fallback.startswith(("error", "no merge model")):
        from codeintel.display import printable as shown

        reason = fallback.removeprefix("error (").split("); git's textual merge")[0].split(": git's textual")[0]
        _tell(f"{shown(path)}: the merge model could not run ({reason}); git's conflict markers are left")


def run_merge_driver(o_path: str, a_path: str, b_path: str, marker_size: int, path: Optional[str],
                     threshold: Optional[float] = None) -> int:
    """git's ``%O %A %B %L %P``: write the merge to %A; 0 when nothing is left to resolve."""
    with open(a_path, "rb") as fh:
        ours = fh.read()
    with open(o_path, "rb") as fh:
        base = fh.read()
    with open(b_path, "rb") as fh:
        theirs = fh.read()
    root = git_repo_root()
    style = conflict_style()
    try:
        text, conflicts = git_merge_file(ours, base, theirs, style=style, marker_size=marker_size)
    except Exception:  # noqa: BLE001 - git itself failed: leave ours in place, report a conflict
        return 1
    if conflicts:
        try:
            from .resolver import Resolver

            resolver = Resolver(root)
            limit = threshold if threshold is not None else merge_threshold(root, resolver, warn=_tell)
            outcome = merge_bytes(base, ours, theirs, path, resolver, limit, style, marker_size,
                                  textual=(text, conflicts))
            text, conflicts = outcome.text, outcome.conflicts
            if outcome.too_costly:
                _tell(f"{printable(path or a_path)}: {outcome.too_costly}; git's conflict markers are left")
            else:
                _tell_model_not_used(path or a_path, outcome.fallback)
            from indexer.files import git_blob_id

            record(root, path or a_path, outcome.decisions, outcome.model, limit, "merge-driver",
                   tuple(git_blob_id(data) for data in (base, ours, theirs)))
        except Exception as exc:  # noqa: BLE001 - git's textual merge stands
            _tell_model_not_used(path or a_path, f"error ({type(exc).__name__}: {exc}); git's textual merge")
    write_atomically(a_path, text)
    return 0 if conflicts == 0 else 1


def merge_threshold(root: Optional[Path], resolver=None, warn: Optional[Callable[[str], None]] = None) -> float:
    """The threshold the user (or a trusted repository) configured in ``[merge] threshold``,
    else the model's, else the default; an untrusted repository's own value only ever raises
    it (``warn`` is told when one asked for less)."""
    from codeintel.config import load_merge_threshold

    setting = load_merge_threshold(root)
    default = DEFAULT_THRESHOLD
    if resolver is not None and resolver.default_threshold is not None:
        default = float(resolver.default_threshold)
    note = setting.ignored(default)
    if note and warn is not None:
        warn(note)
    return setting.resolve(default)


# ------------------------------------------------------------------------------ resolve FILE
@dataclass
class FileResolution:
    text: str
    conflicts: int
    resolved: int
    decisions: list[Decision]
    notes: list[str]
    too_costly: Optional[str] = None    # the bound (limits) that left the conflicts after it, if one did


def _stage(root: Path, rel: str, n: int) -> Optional[str]:
    out = run_git("show", f":{n}:{rel}", capture_output=True, cwd=root, timeout=30)
    return out.stdout.decode("utf-8", "surrogateescape") if out.returncode == 0 else None


def stage_blobs(root: Optional[Path], rel: str) -> tuple:
    """The blob ids of base, ours and theirs (stages 1-3) of a conflicted path in git's index."""
    blobs: list = [None, None, None]
    if root is None:
        return tuple(blobs)
    try:
        out = run_git("ls-files", "-u", "-z", "--", rel, capture_output=True, cwd=root, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return tuple(blobs)
    for entry in out.stdout.decode("utf-8", "surrogateescape").split("\0"):
        fields = entry.split("\t", 1)[0].split()
        if len(fields) == 3 and fields[2] in ("1", "2", "3"):
            blobs[int(fields[2]) - 1] = fields[1]
    return tuple(blobs)


def bases_from_index(root: Optional[Path], file_path: Path) -> list[tuple[list[str], list[str], list[str]]]:
    """The conflicts of the file's merge as git's index has it (stages 1-3), with bases."""
    if root is None:
        return []
    try:
        rel = file_path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return []
    try:
        if file_path.stat().st_size > MergeLimits.from_env().max_bytes:
            return []     # resolve_text leaves such a file as it is: reading its stages is no use
    except OSError:
        return []
    stages = [_stage(root, rel, n) for n in (1, 2, 3)]
    if stages[1] is None or stages[2] is None:
        return []
    from .markers import parse_conflicts

    merged, _ = git_merge_file(stages[1].encode("utf-8", "surrogateescape"),
                               (stages[0] or "").encode("utf-8", "surrogateescape"),
                               stages[2].encode("utf-8", "surrogateescape"), style="diff3", marker_size=41)
    return [(s.ours, s.base or [], s.theirs) for s in parse_conflicts(merged.decode("utf-8", "surrogateescape"), 41)
            if s.conflict]


def resolve_text(text: str, path: Optional[str], resolver, threshold: float,
                 index_conflicts: list = (), limits: Optional[MergeLimits] = None) -> FileResolution:
    """Resolve the conflict markers in ``text``; unresolved conflicts are kept byte for byte.
    Past ``limits`` (default ``MergeLimits.from_env()``: the text's size, then the time, memory
    and token conflicts of all its conflicts together) the conflicts left are kept as they are,
    and ``too_costly`` says why."""
    from .markers import parse_conflicts

    limits = limits or MergeLimits.from_env()
    stop = limits.check_sides(text)
    budget = limits.budget()
    segments = parse_conflicts(text)
    out, decisions, notes = [], [], [f"{stop}; every conflict left as it is"] if stop else []
    stop = _resolve_segments(segments, path, resolver, threshold, index_conflicts, budget, stop,
                             out, decisions, notes)
    left = sum(1 for d in decisions if not d.resolved)
    return FileResolution("".join(out), left, len(decisions) - left, decisions, notes, stop)


def _resolve_segments(segments, path, resolver, threshold, index_conflicts, budget, stop, out, decisions,
                      notes) -> Optional[str]:
    """resolve_text's loop: appends to ``out``, ``decisions`` and ``notes``; returns the bound
    that stopped it, if one did."""
    for n, seg in enumerate(segments):
        if not seg.conflict:
            out.append(seg.text)
            continue
        decision = None
        if stop is None:
            base = seg.base
            if base is None:
                base = next((b for o, b, t in index_conflicts if o == seg.ours and t == seg.theirs), None)
            if base is None:
                notes.append(f"conflict {len(decisions) + 1}: no base version (merge.conflictStyle=merge, and "
                             f"git's index has no stages for it); left as it is")
                decision = Decision(len(decisions), False, [], 0.0, "no base version")
            else:
                try:
                    with enforced(budget):
                        decision = _resolve_segment(segments, n, base, path, resolver, threshold, budget)
                except MergeTooCostly as exc:
                    stop = str(exc)
                    notes.append(f"conflict {len(decisions) + 1} and after: {stop}; left as they are")
        if decision is None:
            decision = Decision(len(decisions), False, [], 0.0, stop or "")
        decision.hunk = len(decisions)
        decisions.append(decision)
        out.append(decision.text if decision.resolved else seg.text)
    return stop


def _resolve_segment(segments, n: int, base: list[str], path: Optional[str], resolver, threshold: float,
                     budget) -> Decision:
    """The decision on conflict ``segments[n]`` (its text when resolved), planned with up to 10
    lines of context on each side; raises MergeTooCostly past the budget."""
    from .conflicts import plan_merge

    seg = segments[n]
    budget.region(base, seg.ours, seg.theirs)
    before = "".join(segments[n - 1].text.splitlines(keepends=True)[-10:]) if n and not segments[n - 1].conflict else ""
    after_seg = segments[n + 1] if n + 1 < len(segments) and not segments[n + 1].conflict else None
    after = "".join(after_seg.text.splitlines(keepends=True)[:10]) if after_seg else ""
    sides = ["".join(lines) for lines in (base, seg.ours, seg.theirs)]
    plan = plan_merge(*(before + s + after for s in sides), path=path, budget=budget)
    hunk_decisions = resolver.decide(plan, threshold, budget) if plan.conflict_hunks else []
    overrides = {d.hunk: d.text for d in hunk_decisions if d.text is not None}
    ok = bool(plan.conflict_hunks) and len(overrides) == len(plan.conflict_hunks)
    confidence = min((d.confidence for d in hunk_decisions), default=1.0)
    classes = [c for d in hunk_decisions for c in d.classes]
    reason = "; ".join(d.reason for d in hunk_decisions) or "the sides merge cleanly"
    if not plan.conflict_hunks:
        merged = plan.assemble({}).text
        ok = True
    elif ok:
        merged = plan.assemble({}, use_token_merge=False, overrides=overrides).text
    if ok and merged.startswith(before) and merged.endswith(after):
        return Decision(n, True, classes, confidence, reason, merged[len(before):len(merged) - len(after)])
    return Decision(n, False, classes, confidence, reason)
