"""Git history mining: this module owns turning a repository's commits into store rows. It walks
the commits reachable from HEAD (newest first, bounded by ``max_commits`` and ``since``), skips
those the store already knows, and for each new commit records its metadata and changed files,
the function-level before/after pairs of its supported-language files (non-merge commits), and
for two-parent merges the merge scenarios (base/ours/theirs/result of every file changed on both
sides, with the number of conflict regions git's line-level diff3 leaves). It reads git through
GitPython only: one streamed ``git log --raw --numstat`` for all changed-file lists, persistent
``cat-file --batch`` processes read pipelined (``gitobjects``), and ``git merge-file`` on temporary files (never in the work
tree). Shallow boundaries, octopus merges,
missing merge bases, odd encodings, submodules, symlinks and binaries are recorded with a note
or skipped, never raised. Commits are written in batches so an interrupted run keeps its work.
"""
from __future__ import annotations

import codecs
import os
import re
import subprocess
import tempfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Optional

import git
from git.exc import GitCommandError, InvalidGitRepositoryError, NoSuchPathError

from codeintel.store import Store

from .extract import FUNCTION_LIKE, extract
from .gitcmd import git_command, guard_repo
from .gitmerge import MergeFileError, git_merge_file
from .gitobjects import MAX_BLOB_BYTES, ObjectReader, git_exe
from .languages import language_for_path

BATCH_COMMITS = 200               # commits per store transaction
PARSE_CACHE = 1024                # parsed blobs kept (a child's old blob is its parent's new one)
PREFETCH_BYTES = 64 << 20         # blob bytes read ahead per batch of commits
NULL_SHA = "0" * 40
BOUNDARY_NOTE = "shallow boundary: changes not mined"
META_BOUNDARY = "history_boundary"  # commits recorded with BOUNDARY_NOTE (re-mined once unshallowed)

# config that would change what plumbing prints; -c is ignored for unknown keys by older gits
_GIT_CONFIG = ("-c", "log.showSignature=false", "-c", "diff.relative=false", "-c", "core.quotePath=false")


@dataclass
class HistoryResult:
    new_commits: int = 0
    function_changes: int = 0
    merge_scenarios: int = 0
    conflicting_scenarios: int = 0
    skipped_note: Optional[str] = None


@dataclass
class _FileChange:
    status: str          # git's status letter (A M D R T C ...)
    old_mode: str
    new_mode: str
    old_sha: str
    new_sha: str
    path: str
    old_path: Optional[str]


@dataclass
class _CommitDiff:
    files: list
    insertions: int = 0
    deletions: int = 0


def mine_history(root: Path, store: Store, max_commits: Optional[int] = 2000, since: Optional[str] = None,
                 progress: Optional[Callable[[int, int], None]] = None) -> HistoryResult:
    """Mine the commits reachable from HEAD that the store does not know yet (see module doc)."""
    try:
        repo = git.Repo(str(root))
        guard_repo(repo)
    except (InvalidGitRepositoryError, NoSuchPathError, OSError, ValueError) as exc:
        note = f"not a git repository: {root}" if not isinstance(exc, OSError) else f"cannot open {root}: {exc}"
        store.set_meta(history_head=None, history_note=note)
        return HistoryResult(skipped_note=note)
    except Exception as exc:  # a broken .git: say so, never raise
        note = f"cannot read git repository at {root}: {type(exc).__name__}: {exc}"
        store.set_meta(history_head=None, history_note=note)
        return HistoryResult(skipped_note=note)
    try:
        return _Miner(repo, store, max_commits, since, progress).run()
    finally:
        repo.close()


# ---------------------------------------------------------------------------- parsing git output

def _decode(data: bytes, encoding: str = "utf-8") -> str:
    try:
        return data.decode(encoding, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


_ACTOR = re.compile(rb"^(.*?)\s*<([^>]*)>\s*(-?\d+)?")


def _parse_commit_object(raw: bytes) -> dict:
    """Parents, author, times and message from a raw commit object (lenient about odd headers)."""
    head, sep, message = raw.partition(b"\n\n")
    if not sep:
        head, message = raw, b""
    parents: list[str] = []
    author = committer = b""
    encoding = "utf-8"
    for line in head.split(b"\n"):
        if line.startswith(b" "):
            continue  # continuation of a multi-line header (gpgsig, mergetag)
        key, _, value = line.partition(b" ")
        if key == b"parent":
            parents.append(value.strip().decode("ascii", "replace"))
        elif key == b"author":
            author = value
        elif key == b"committer":
            committer = value
        elif key == b"encoding":
            name = value.strip().decode("ascii", "replace")
            try:
                codecs.lookup(name)
                encoding = name
            except LookupError:
                pass

    def actor(value: bytes) -> tuple[Optional[str], Optional[str], Optional[int]]:
        m = _ACTOR.match(value)
        if not m:
            return (_decode(value, encoding) or None), None, None
        when = int(m.group(3)) if m.group(3) else None
        if when is not None and abs(when) > 1 << 62:
            when = None
        return _decode(m.group(1), encoding), _decode(m.group(2), encoding), when

    a_name, a_email, a_time = actor(author)
    _c_name, _c_email, c_time = actor(committer)
    return {"parents": parents, "author_name": a_name, "author_email": a_email, "authored_at": a_time,
            "committed_at": c_time, "message": _decode(message, encoding)}


def _nul_tokens(stream, chunk: int = 1 << 16) -> Iterator[bytes]:
    """NUL-terminated tokens of a byte stream, read incrementally."""
    buf = b""
    while True:
        data = stream.read(chunk)
        if not data:
            break
        buf += data
        parts = buf.split(b"\0")
        buf = parts.pop()
        yield from parts
    if buf:
        yield buf


def _parse_raw_entry(tokens: Iterator[bytes], first: bytes) -> Optional[_FileChange]:
    """One ``--raw -z`` entry whose meta token is ``first`` (its paths are the next tokens)."""
    meta = first.lstrip(b"\n")[1:].split(b" ")
    if len(meta) < 5:
        return None
    old_mode, new_mode, old_sha, new_sha, status = (m.decode("ascii", "replace") for m in meta[:5])
    path = next(tokens, b"")
    old_path = None
    if status[:1] in ("R", "C"):
        old_path, path = path, next(tokens, b"")
    return _FileChange(status[:1], old_mode, new_mode, old_sha, new_sha,
                       _decode(path), _decode(old_path) if old_path is not None else None)


def _parse_log_stream(stream) -> Iterator[tuple[str, _CommitDiff]]:
    """(sha, diff) per commit of ``git log -z --raw --numstat --format=%x01%H``."""
    tokens = _nul_tokens(stream)
    sha: Optional[str] = None
    diff = _CommitDiff([])
    for tok in tokens:
        tok = tok.lstrip(b"\n")
        if not tok:
            continue
        if tok.startswith(b"\x01"):
            if sha is not None:
                yield sha, diff
            sha, diff = tok[1:].strip().decode("ascii", "replace"), _CommitDiff([])
        elif tok.startswith(b":"):
            change = _parse_raw_entry(tokens, tok)
            if change is not None:
                diff.files.append(change)
        else:  # numstat: "added\tdeleted\tpath" or "added\tdeleted\t" + old + new tokens
            fields = tok.split(b"\t", 2)
            if len(fields) < 3:
                continue
            if fields[2] == b"":
                next(tokens, None)
                next(tokens, None)
            for value, attr in ((fields[0], "insertions"), (fields[1], "deletions")):
                if value.isdigit():
                    setattr(diff, attr, getattr(diff, attr) + int(value))
    if sha is not None:
        yield sha, diff


def _parse_diff_tree(out: bytes) -> dict[str, _FileChange]:
    """path -> change of ``git diff-tree -r -z --no-renames A B``."""
    tokens = iter(out.split(b"\0"))
    changes: dict[str, _FileChange] = {}
    for tok in tokens:
        tok = tok.lstrip(b"\n")
        if tok.startswith(b":"):
            change = _parse_raw_entry(tokens, tok)
            if change is not None:
                changes[change.path] = change
    return changes


def _is_regular(mode: str) -> bool:
    return mode.startswith("100")


def _change_letter(status: str) -> str:
    return {"A": "A", "D": "D", "R": "R", "C": "A"}.get(status, "M")


# ---------------------------------------------------------------------------- the miner

class _Miner:
    def __init__(self, repo: git.Repo, store: Store, max_commits: Optional[int], since: Optional[str],
                 progress: Optional[Callable[[int, int], None]]):
        self.repo = repo
        self.store = store
        self.max_commits = max_commits if max_commits and max_commits > 0 else None
        self.since = since
        self.progress = progress
        self.result = HistoryResult()
        self.skips: dict[str, int] = {}
        self.parse_cache: OrderedDict = OrderedDict()
        self.parsers: dict = {}
        self.tmpdir: Optional[tempfile.TemporaryDirectory] = None
        self.shallow: set[str] = set()
        self.boundary: set[str] = set()   # commits stored with BOUNDARY_NOTE
        self.reader = ObjectReader(repo)
        # a GIT_DIR inherited from a calling git (hooks, drivers) must not redirect our plumbing
        repo.git.update_environment(GIT_DIR=os.path.abspath(repo.git_dir))
        self.prefetched: dict[str, Optional[bytes]] = {}

    # ------------------------------------------------------------------ helpers
    def _skip(self, why: str, n: int = 1) -> None:
        self.skips[why] = self.skips.get(why, 0) + n

    def _git(self, *args: str, **kwargs) -> bytes:
        return self.repo.git.execute(git_command(*_GIT_CONFIG, *args, exe=git_exe()), stdout_as_string=False,
                                     strip_newline_in_stdout=False, **kwargs)

    def _read_object(self, hexsha: str) -> Optional[bytes]:
        if hexsha in self.prefetched:
            return self.prefetched[hexsha]
        return self.reader.read([hexsha]).get(hexsha)

    def _blob(self, hexsha: str) -> tuple[Optional[bytes], Optional[str]]:
        """(content, None) or (None, why-not)."""
        if hexsha == NULL_SHA:
            return b"", None
        data = self._read_object(hexsha)
        if data is None:
            return None, "blob over 1 MiB or unreadable"
        if b"\0" in data:
            return None, "binary blob"
        return data, None

    def _read_shallow(self) -> set[str]:
        try:
            path = Path(self.repo.common_dir) / "shallow"
            return set(path.read_text("ascii", "replace").split()) if path.is_file() else set()
        except OSError:
            return set()

    # ------------------------------------------------------------------ the run
    def run(self) -> HistoryResult:
        store, result = self.store, self.result
        try:
            head = self._git("rev-parse", "--verify", "-q", "HEAD^{commit}").decode("ascii").strip()
        except GitCommandError as exc:
            err = _decode(exc.stderr if isinstance(exc.stderr, bytes) else str(exc.stderr or "").encode())
            err = " ".join(err.replace("stderr:", "").split()).strip("' ")
            result.skipped_note = f"git failed: {err[:300]}" if err else "no commits yet (unborn HEAD)"
            store.set_meta(history_head=None, history_note=result.skipped_note)
            return result
        self.shallow = self._read_shallow()

        args = ["rev-list"]
        if self.max_commits:
            args.append(f"--max-count={self.max_commits}")
        if self.since:
            args.append(f"--since={self.since}")
        try:
            walk = self._git(*args, head, "--").decode("ascii", "replace").split()
        except GitCommandError as exc:
            result.skipped_note = f"git rev-list failed: {str(exc).strip()[:300]}"
            store.set_meta(history_head=head, history_note=result.skipped_note)
            return result

        known = store.known_commits()
        boundary_before = set((store.get_meta(META_BOUNDARY) or "").split())
        remine = {sha for sha in boundary_before if sha not in self.shallow}   # unshallowed since
        new = [sha for sha in walk if sha not in known or sha in remine]
        self.boundary = set(boundary_before)

        total = len(new)
        if new:
            diffs = _DiffStream(self, new)
            try:
                for start in range(0, total, BATCH_COMMITS):
                    chunk = new[start:start + BATCH_COMMITS]
                    raws = self.reader.read(chunk, max_blob=0)
                    items = [(sha, raws.get(sha), diffs.get(sha)) for sha in chunk]
                    self._prefetch(items)
                    batch = []
                    for done, (sha, raw, diff) in enumerate(items, start + 1):
                        batch.append(self._mine_commit(sha, raw, diff))
                        if self.progress:
                            self.progress(done, total)
                    self.prefetched = {}
                    self._flush(batch)
            finally:
                diffs.close()
                self.reader.close()
                if self.tmpdir is not None:
                    self.tmpdir.cleanup()
                    self.tmpdir = None

        notes = []
        if self.shallow:
            cut = sorted(self.shallow)
            notes.append("shallow clone: history before " + ", ".join(s[:12] for s in cut[:3])
                         + (f" (+{len(cut) - 3} more)" if len(cut) > 3 else "") + " is missing")
        if self.max_commits and len(walk) >= self.max_commits:
            notes.append(f"walk bounded to the newest {self.max_commits} commits")
        if self.since:
            notes.append(f"commits since {self.since} only")
        store.set_meta(history_head=head, history_note="; ".join(notes) or None)
        skipped = [f"{n} {why}" for why, n in sorted(self.skips.items())]
        if skipped or notes:
            result.skipped_note = "; ".join(notes + skipped)
        return result

    def _flush(self, batch: list[dict]) -> None:
        """One store transaction for the batch. The boundary list only grows before the write
        and only shrinks after it, so an interruption never loses a commit to re-mine."""
        if not batch:
            return
        noted = {cm["sha"] for cm in batch if cm.get("note") == BOUNDARY_NOTE}
        if noted - self.boundary:
            self.boundary |= noted
            self.store.set_meta(**{META_BOUNDARY: " ".join(sorted(self.boundary))})
        self.store.write_commits(batch)
        remined = {cm["sha"] for cm in batch} - noted
        if remined & self.boundary:
            self.boundary -= remined
            self.store.set_meta(**{META_BOUNDARY: " ".join(sorted(self.boundary)) or None})
        for cm in batch:
            self.result.new_commits += 1
            self.result.function_changes += len(cm.get("function_changes", ()))
            self.result.merge_scenarios += len(cm.get("merge_scenarios", ()))
            self.result.conflicting_scenarios += sum(1 for m in cm.get("merge_scenarios", ()) if m["conflicts"] > 0)

    # ------------------------------------------------------------------ one commit
    def _prefetch(self, items: list) -> None:
        """Read ahead, in one pipelined round trip, the blobs the batch's function diffs need."""
        wanted: dict[str, None] = {}
        for sha, raw, diff in items:
            if raw is None or diff is None or sha in self.shallow or raw.count(b"\nparent ") > 1:
                continue
            for f in diff.files:
                spec = language_for_path(f.old_path or f.path if f.status == "D" else f.path)
                if spec is None:
                    continue
                for blob, mode in ((f.old_sha, f.old_mode), (f.new_sha, f.new_mode)):
                    if blob != NULL_SHA and _is_regular(mode) and (blob, spec.name) not in self.parse_cache:
                        wanted[blob] = None
        if not wanted:
            return
        heads = self.reader.headers(list(wanted))
        take, budget = [], PREFETCH_BYTES
        for blob in wanted:
            head = heads.get(blob)
            if head is not None and head[1] > MAX_BLOB_BYTES:
                self.prefetched[blob] = None      # too big: never read
            elif head is not None and head[1] <= budget:
                take.append(blob)
                budget -= head[1]
        self.prefetched.update(self.reader.read(take))

    # ------------------------------------------------------------------ one commit
    def _mine_commit(self, sha: str, raw: Optional[bytes], diff: Optional[_CommitDiff]) -> dict:
        meta = _parse_commit_object(raw) if raw is not None else {"parents": []}
        record = {"sha": sha, **meta}
        if raw is None:
            record["note"] = "commit object unreadable"
            return record
        parents = meta["parents"]
        if sha in self.shallow:
            record["note"] = BOUNDARY_NOTE
            return record
        if diff is not None:
            record["files"] = [{"path": f.path if f.status != "D" else (f.old_path or f.path),
                                "old_path": f.old_path, "change": _change_letter(f.status)}
                               for f in diff.files]
            record["files_changed"] = len(diff.files)
            record["insertions"] = diff.insertions
            record["deletions"] = diff.deletions
        try:
            if len(parents) <= 1:
                if diff is None:
                    record["note"] = "changed files unavailable"
                else:
                    record["function_changes"] = self._function_changes(diff)
            elif len(parents) == 2:
                record.update(self._merge(sha, parents))
            else:
                record["note"] = f"octopus merge ({len(parents)} parents): scenarios not mined"
        except Exception as exc:  # one odd commit must not stop the run
            record["note"] = f"mining failed: {type(exc).__name__}: {str(exc)[:200]}"
            record.pop("function_changes", None)
            record.pop("merge_scenarios", None)
        return record

    # ------------------------------------------------------------------ functions
    def _functions(self, blob: str, data: bytes, spec) -> dict[str, tuple[str, bytes]]:
        """key (qualname, '#n' for repeats) -> (kind, text bytes) of the blob's functions."""
        key = (blob, spec.name)
        hit = self.parse_cache.get(key)
        if hit is not None:
            self.parse_cache.move_to_end(key)
            return hit
        parser = self.parsers.get(spec.name)
        if parser is None:
            parser = self.parsers[spec.name] = spec.parser()
        facts = extract(data, spec, tree=parser.parse(data), symbols_only=True)
        out: dict[str, tuple[str, bytes]] = {}
        seen: dict[str, int] = {}
        for s in facts.symbols:
            if s.kind not in FUNCTION_LIKE:
                continue
            n = seen[s.qualname] = seen.get(s.qualname, 0) + 1
            out[s.qualname if n == 1 else f"{s.qualname}#{n}"] = (s.kind, data[s.start_byte:s.end_byte])
        if blob != NULL_SHA:
            self.parse_cache[key] = out
            if len(self.parse_cache) > PARSE_CACHE:
                self.parse_cache.popitem(last=False)
        return out

    def _function_changes(self, diff: _CommitDiff) -> list[dict]:
        changes: list[dict] = []
        for f in diff.files:
            path = f.old_path or f.path if f.status == "D" else f.path
            spec = language_for_path(path)
            if spec is None:
                continue
            old_sha = f.old_sha if _is_regular(f.old_mode) else NULL_SHA
            new_sha = f.new_sha if _is_regular(f.new_mode) else NULL_SHA
            if old_sha == new_sha:
                continue  # content unchanged, or a submodule / symlink on both sides
            old, why_old = self._blob(old_sha)
            new, why_new = self._blob(new_sha)
            if old is None or new is None:
                self._skip(f"files skipped ({why_old or why_new})")
                continue
            before = self._functions(old_sha, old, spec) if old_sha != NULL_SHA else {}
            after = self._functions(new_sha, new, spec) if new_sha != NULL_SHA else {}
            for qual, (kind, text) in after.items():
                prev = before.get(qual)
                if prev is None:
                    changes.append({"path": path, "language": spec.name, "qualname": qual, "kind": kind,
                                    "change": "added", "before": None, "after": _decode(text)})
                elif prev[1] != text:
                    changes.append({"path": path, "language": spec.name, "qualname": qual, "kind": kind,
                                    "change": "modified", "before": _decode(prev[1]), "after": _decode(text)})
            for qual, (kind, text) in before.items():
                if qual not in after:
                    changes.append({"path": path, "language": spec.name, "qualname": qual, "kind": kind,
                                    "change": "deleted", "before": _decode(text), "after": None})
        return changes

    # ------------------------------------------------------------------ merges
    def _merge(self, sha: str, parents: list[str]) -> dict:
        ours, theirs = parents
        present = self.reader.headers(parents)
        if any(present.get(p) is None for p in parents) and present:
            return {"note": "parent missing (shallow clone): scenarios not mined"}
        try:
            bases = self._git("merge-base", "--all", ours, theirs).decode("ascii", "replace").split()
        except GitCommandError:
            bases = []
        if not bases:
            return {"note": "no merge base: scenarios not mined"}
        base = bases[0]
        d_ours = _parse_diff_tree(self._git("diff-tree", "-r", "-z", "--no-renames", base, ours))
        d_theirs = _parse_diff_tree(self._git("diff-tree", "-r", "-z", "--no-renames", base, theirs))
        both = [p for p in d_ours if p in d_theirs]
        if not both:
            return {"merge_scenarios": []}
        d_result = _parse_diff_tree(self._git("diff-tree", "-r", "-z", "--no-renames", base, sha))
        planned = []
        for path in both:
            o, t = d_ours[path], d_theirs[path]
            r = d_result.get(path)
            sides = {"base": (o.old_mode, o.old_sha), "ours": (o.new_mode, o.new_sha),
                     "theirs": (t.new_mode, t.new_sha),
                     "result": (r.new_mode, r.new_sha) if r is not None else (o.old_mode, o.old_sha)}
            if any(mode == "160000" for mode, _ in sides.values()):
                self._skip("merge scenarios skipped (submodule)")
                continue
            planned.append((path, sides))
        scenarios = []
        for i in range(0, len(planned), 64):   # blobs read ahead 64 paths at a time
            group = planned[i:i + 64]
            ids = sorted({blob for _, sides in group for _, blob in sides.values() if blob != NULL_SHA})
            ahead = self.reader.read(ids)
            self.prefetched.update(ahead)
            for path, sides in group:
                scenario = self._scenario(path, sides)
                if scenario is not None:
                    scenario.update(base_sha=base, ours_sha=ours, theirs_sha=theirs)
                    scenarios.append(scenario)
            for blob in ahead:
                self.prefetched.pop(blob, None)
        return {"merge_scenarios": scenarios}

    def _scenario(self, path: str, sides: dict) -> Optional[dict]:
        contents: dict[str, Optional[bytes]] = {}
        binary = False
        for name, (mode, blob) in sides.items():
            if blob == NULL_SHA or mode == "000000":
                contents[name] = None
                continue
            data = self._read_object(blob)
            if data is None:
                binary = True  # over 1 MiB (or unreadable): kept as a scenario without text
                contents[name] = None
                continue
            if b"\0" in data:
                binary = True
            contents[name] = data
        spec = language_for_path(path) if all(_is_regular(m) or b == NULL_SHA for m, b in sides.values()) else None
        scenario = {"path": path, "language": spec.name if spec else None, "binary": binary}
        base_b, ours_b, theirs_b = sides["base"][1], sides["ours"][1], sides["theirs"][1]
        if binary:
            scenario["conflicts"] = 0 if ours_b == theirs_b or base_b in (ours_b, theirs_b) else 1
            return scenario
        for name in ("base", "ours", "theirs", "result"):
            scenario[name] = _decode(contents[name]) if contents[name] is not None else None
        if ours_b == theirs_b:
            scenario["conflicts"] = 0
            return scenario
        conflicts = self._merge_file(contents["ours"] or b"", contents["base"] or b"", contents["theirs"] or b"")
        if conflicts is None:
            self._skip("merge scenarios skipped (git merge-file failed)")
            return None
        scenario["conflicts"] = conflicts
        return scenario

    def _merge_file(self, ours: bytes, base: bytes, theirs: bytes) -> Optional[int]:
        """Conflict regions of a line-level diff3 merge, via ``git merge-file`` on temp files."""
        if self.tmpdir is None:
            self.tmpdir = tempfile.TemporaryDirectory(prefix="codeintel-merge-")
        try:
            return git_merge_file(ours, base, theirs, style="diff3", folder=self.tmpdir.name)[1]
        except (MergeFileError, OSError, subprocess.SubprocessError):
            return None


class _DiffStream:
    """Changed files of many commits from ONE streamed ``git log --no-walk --stdin --raw --numstat``;
    ``get(sha)`` reads ahead until that commit's entry (commits come in the order given)."""

    def __init__(self, miner: _Miner, shas: list[str]):
        self.pending: dict[str, _CommitDiff] = {}
        self.proc = None
        self.records: Iterator[tuple[str, _CommitDiff]] = iter(())
        self.stdin = tempfile.TemporaryFile()
        self.stdin.write("".join(s + "\n" for s in shas).encode("ascii"))
        self.stdin.seek(0)
        cmd = git_command(*_GIT_CONFIG, "log", "--no-walk=unsorted", "--stdin", "-z", "--raw", "-M",
                          "--no-abbrev", "--numstat", "--root", "--diff-merges=first-parent", "--no-color",
                          "--format=%x01%H", exe=git_exe())
        try:
            self.proc = miner.repo.git.execute(cmd, as_process=True, istream=self.stdin)
            self.records = _parse_log_stream(self.proc.stdout)
        except Exception:
            self.proc = None

    def get(self, sha: str) -> Optional[_CommitDiff]:
        if sha in self.pending:
            return self.pending.pop(sha)
        try:
            for got, diff in self.records:
                if got == sha:
                    return diff
                self.pending[got] = diff
        except Exception:
            self.records = iter(())
        return None

    def close(self) -> None:
        """Ends the log process (killed if the run stopped before reading all of it)."""
        if self.proc is not None:
            proc = self.proc.proc
            try:
                if proc.poll() is None:
                    proc.kill()
                proc.wait()
                for pipe in (proc.stdout, proc.stderr):
                    if pipe is not None:
                        pipe.close()
            except Exception:
                pass
            self.proc = None
        self.stdin.close()
