"""Replaying real merges the way a user meets the merge driver.

    python3 bench/bench_merge_replay.py GIT_DIR[@COMMIT] [GIT_DIR ...] [--merges 25] [--json FILE]

For each repository (a bare git directory is fine), the newest ``--merges`` merge commits (reachable from COMMIT, default HEAD) whose
plain ``git merge`` conflicts are replayed in a temporary clone (``git clone --shared``): the
first parent is checked out and the second parent merged with ``git merge --no-commit`` twice,
once plainly and once with the driver installed by the real ``codeintel install-merge-driver``
(its ``.gitattributes`` committed on top of the first parent, as a user would). Every file the
plain merge left with a content conflict is then classified by what the driver run left in it:

- safe: still conflicted (git's markers; ``partly`` counts those where the driver resolved some
  hunks and left others);
- right: resolved, and equal to what the developers committed (trailing whitespace aside);
- wrong: resolved and different, a silent wrong merge.

Also: the wall time of each merge with and without the driver; the clean (non-conflicted) files
whose merge the driver changed (should be none); and the driver's cost per file, a new process
as git runs it, against ``git merge-file`` on the same three versions, for up to ``--cost-files``
files per merge that merge cleanly and as many that conflict. What cannot be used is skipped and
counted with the reason (octopus merges, binary files, submodules, conflicts that are not about
content, merges git refuses or that run past ``--timeout``); the run never aborts.

The temporary clone gets its own HOME, XDG/codeintel configuration and global git configuration
(user identity, rerere off), so nothing touches the user's: the driver runs with the default
threshold of the active model (the built-in one, or ``$CODEINTEL_BUILTIN_MODELS``), no config.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from codeintel.display import printable  # noqa: E402

GITCONFIG = """[user]
\tname = codeintel replay
\temail = replay@localhost
[rerere]
\tenabled = false
[advice]
\tdetachedHead = false
[gc]
\tauto = 0
[maintenance]
\tauto = false
[core]
\tautocrlf = false
"""


class Timeout(Exception):
    """A command ran past its time limit (it was killed)."""


@dataclass
class FileResult:
    merge: str
    path: str
    outcome: str                 # safe / right / wrong
    claimed: bool                # routed to the driver by the installed .gitattributes
    partly: bool = False         # safe, but the driver resolved some of its hunks


@dataclass
class RepoResult:
    git_dir: str
    head: str = ""
    scanned: int = 0
    replayed: list[str] = field(default_factory=list)
    files: list[FileResult] = field(default_factory=list)
    skipped_merges: Counter = field(default_factory=Counter)
    skipped_files: Counter = field(default_factory=Counter)
    clean_changed: list[str] = field(default_factory=list)
    left_out: set = field(default_factory=set)     # files whose blob the repository lacks (not checked out)
    plain_seconds: list[float] = field(default_factory=list)
    driver_seconds: list[float] = field(default_factory=list)
    cost: dict = field(default_factory=lambda: {"clean": [], "conflicted": []})  # (driver s, merge-file s)
    seconds: float = 0.0


# ----------------------------------------------------------------------------------- plumbing
def _env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "CODEINTEL_CONFIG"))}
    env.pop("CODEINTEL_DEBUG", None)
    env.update({"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"),
                "CODEINTEL_CONFIG_HOME": str(home / ".config" / "codeintel"),
                "GIT_CONFIG_GLOBAL": str(home / ".gitconfig"), "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_TERMINAL_PROMPT": "0", "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                "LC_ALL": "C"})
    return env


def _run(cmd: list[str], cwd: Path, env: dict, timeout: float = 600, check: bool = False,
         stdin: Optional[bytes] = None) -> subprocess.CompletedProcess:
    """Run ``cmd`` in its own process group; past ``timeout`` the whole group is killed."""
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                            start_new_session=True)
    try:
        out, err = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise Timeout(f"{' '.join(cmd[:3])} ran past {timeout:.0f} s") from None
    done = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}: {err.decode('utf-8', 'replace').strip().splitlines()[:1]}")
    return done


class Git:
    def __init__(self, cwd: Path, env: dict, timeout: float):
        self.cwd, self.env, self.timeout = cwd, env, timeout

    def __call__(self, *args: str, check: bool = True, timeout: Optional[float] = None) -> subprocess.CompletedProcess:
        return _run(["git", *args], self.cwd, self.env, timeout or self.timeout, check)

    def text(self, *args: str) -> str:
        return self(*args).stdout.decode("utf-8", "surrogateescape")

    def blob(self, spec: str) -> Optional[bytes]:
        out = self("cat-file", "blob", spec, check=False)
        return out.stdout if out.returncode == 0 else None

    def unmerged(self) -> dict[str, dict[int, tuple[str, str]]]:
        """path -> {stage: (mode, blob)} of the conflicted paths in the index."""
        out: dict[str, dict[int, tuple[str, str]]] = {}
        for entry in self.text("ls-files", "-u", "-z").split("\0"):
            if "\t" in entry:
                info, path = entry.split("\t", 1)
                mode, blob, stage = info.split()
                out.setdefault(path, {})[int(stage)] = (mode, blob)
        return out

    def staged(self) -> dict[str, str]:
        """path -> blob of the merged (stage 0) paths in the index."""
        out = {}
        for entry in self.text("ls-files", "-s", "-z").split("\0"):
            if "\t" in entry:
                info, path = entry.split("\t", 1)
                _, blob, stage = info.split()
                if stage == "0":
                    out[path] = blob
        return out

    def missing_paths(self, *commits: str) -> set[str]:
        """The files of ``commits`` whose blobs the repository lacks (a snapshot may leave its
        largest files out): the work tree leaves them out (sparse checkout)."""
        paths: dict[str, str] = {}
        for commit in commits:
            for entry in self.text("ls-tree", "-r", "-z", commit).split("\0"):
                if "\t" in entry:
                    info, path = entry.split("\t", 1)
                    if info.split()[1] == "blob":
                        paths.setdefault(info.split()[2], path)
        if not paths:
            return set()
        out = _run(["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"], self.cwd, self.env, self.timeout,
                   stdin="\n".join(paths).encode() + b"\n").stdout.decode()
        return {paths[line.split()[0]] for line in out.splitlines() if line.endswith(" missing")}

    def reset_to(self, commit: str, leave_out: set[str] = frozenset()) -> None:
        """A clean work tree at ``commit`` (detached), without the files ``leave_out``."""
        self("merge", "--abort", check=False)
        self("reset", "-q", "--hard", check=False)
        sparse = Path(self.text("rev-parse", "--git-path", "info/sparse-checkout").strip())
        if not sparse.is_absolute():
            sparse = self.cwd / sparse
        sparse.parent.mkdir(parents=True, exist_ok=True)
        escaped = ("!/" + "".join("\\" + c if c in "*?[]\\!# " else c for c in p) for p in sorted(leave_out))
        sparse.write_text("/*\n" + "".join(line + "\n" for line in escaped))
        self("config", "core.sparseCheckout", "true")
        self("config", "core.sparseCheckoutCone", "false")
        self("checkout", "-q", "-f", "--detach", commit)
        self("reset", "-q", "--hard")
        self("clean", "-qffdx")


def _same(a: Optional[bytes], b: Optional[bytes]) -> bool:
    """Equal, trailing whitespace of each line and of the file aside (CRLF too)."""
    if a is None or b is None:
        return a is b
    norm = [[line.rstrip() for line in x.splitlines()] for x in (a, b)]
    for lines in norm:
        while lines and not lines[-1]:
            lines.pop()
    return norm[0] == norm[1]


def _without_install_lines(text: Optional[bytes]) -> Optional[bytes]:
    """``.gitattributes`` as it was before the install added its lines."""
    if text is None:
        return None
    return b"\n".join(line for line in text.split(b"\n")
                      if not line.rstrip().endswith(b" merge=codeintel") and b"codeintel install-merge-driver" not in line)


def _is_binary(data: Optional[bytes]) -> bool:
    return data is not None and b"\0" in data[:8000]


# ----------------------------------------------------------------------------------- one merge
def _merge(git: Git, theirs: str) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    proc = git("merge", "--no-commit", "--no-ff", "-q", theirs, check=False)
    return time.perf_counter() - start, proc


def _content_conflicts(git: Git, unmerged: dict, result: RepoResult) -> dict[str, tuple]:
    """The conflicted paths the driver could have merged: text, in all of ours and theirs."""
    out = {}
    for path, stages in unmerged.items():
        if any(mode == "160000" for mode, _ in stages.values()):
            result.skipped_files["submodule"] += 1
            continue
        if 2 not in stages or 3 not in stages:
            result.skipped_files["not a content conflict (deleted, or renamed, on one side)"] += 1
            continue
        versions = tuple(git.blob(stages[n][1]) if n in stages else b"" for n in (1, 2, 3))
        if any(_is_binary(v) for v in versions):
            result.skipped_files["binary"] += 1
            continue
        out[path] = versions
    return out


def _install_driver(git: Git, clone: Path, env: dict, install_args: list[str]) -> None:
    """`codeintel install-merge-driver` as a user runs it, its .gitattributes committed."""
    proc = _run([sys.executable, "-m", "codeintel", "install-merge-driver", "--repo", str(clone), *install_args],
                clone, env, 120)
    if proc.returncode != 0:
        raise RuntimeError("install-merge-driver failed: " + proc.stderr.decode("utf-8", "replace").strip())
    git("add", "-f", ".gitattributes")
    git("commit", "-q", "--no-verify", "-m", "install the codeintel merge driver")


def _claimed(git: Git, paths: list[str]) -> set[str]:
    if not paths:
        return set()
    proc = _run(["git", "check-attr", "-z", "--stdin", "merge"], git.cwd, git.env, git.timeout,
                stdin="\0".join(paths).encode("utf-8", "surrogateescape") + b"\0")
    fields = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return {fields[i] for i in range(0, len(fields) - 2, 3) if fields[i + 2] == "codeintel"}


def _time_file(cmd: list[str], folder: Path, versions: tuple, env: dict, cwd: Path) -> float:
    for name, data in zip(("O", "A", "B"), versions):
        (folder / name).write_bytes(data)
    start = time.perf_counter()
    _run(cmd, cwd, env, 120)
    return time.perf_counter() - start


def _cost(clone: Path, env: dict, path: str, versions: tuple, scratch: Path) -> tuple[float, float]:
    """(driver seconds, git merge-file seconds) on base, ours, theirs of ``path``."""
    driver = [sys.executable, "-m", "codeintel", "merge-driver", str(scratch / "O"), str(scratch / "A"),
              str(scratch / "B"), "7", path]
    merge_file = ["git", "merge-file", "-p", str(scratch / "A"), str(scratch / "O"), str(scratch / "B")]
    return _time_file(driver, scratch, versions, env, clone), _time_file(merge_file, scratch, versions, env, clone)


def _clean_both_sides(git: Git, ours: str, theirs: str, conflicted: set[str], limit: int) -> list[tuple[str, tuple]]:
    """Up to ``limit`` text files both sides changed that git merged cleanly (what the driver
    sees on most files of a big merge)."""
    bases = git.text("merge-base", ours, theirs).split()
    if not bases or limit <= 0:
        return []
    changed = [set(git.text("diff", "--name-only", "-z", "--no-renames", bases[0], side).split("\0")) - {""}
               for side in (ours, theirs)]
    out = []
    for path in sorted(changed[0] & changed[1] - conflicted):
        versions = tuple(git.blob(f"{c}:{path}") for c in (bases[0], ours, theirs))
        if None in versions or any(_is_binary(v) for v in versions):
            continue
        out.append((path, versions))
        if len(out) == limit:
            break
    return out


def replay_merge(git: Git, clone: Path, env: dict, merge: str, ours: str, theirs: str, result: RepoResult,
                 args, scratch: Path) -> None:
    leave_out = git.missing_paths(ours, theirs)
    result.left_out.update(leave_out)
    git.reset_to(ours, leave_out)
    plain_s, proc = _merge(git, theirs)
    unmerged = git.unmerged()
    if not unmerged:
        reason = "merges cleanly in a work tree" if proc.returncode == 0 else \
            "git merge refused: " + (proc.stderr.decode("utf-8", "replace").strip().splitlines() or ["?"])[0][:80]
        result.skipped_merges[reason] += 1
        return
    conflicts = _content_conflicts(git, unmerged, result)
    plain_text = {p: (clone / p).read_bytes() if (clone / p).is_file() else None for p in conflicts}
    plain_index = git.staged()
    git.reset_to(ours, leave_out)
    _install_driver(git, clone, env, args.install_args.split())
    driver_s, _ = _merge(git, theirs)
    left = git.unmerged()
    claimed = _claimed(git, list(conflicts))
    result.plain_seconds.append(round(plain_s, 3))
    result.driver_seconds.append(round(driver_s, 3))
    result.replayed.append(merge)
    for path in conflicts:
        if path in left:
            now = (clone / path).read_bytes() if (clone / path).is_file() else None
            result.files.append(FileResult(merge, path, "safe", path in claimed, now != plain_text[path]))
            continue
        got = (clone / path).read_bytes() if (clone / path).is_file() else None
        expected = git.blob(f"{merge}:{path}")
        if path == ".gitattributes":
            got = _without_install_lines(got)
        result.files.append(FileResult(merge, path, "right" if _same(got, expected) else "wrong", path in claimed))
    driver_index = git.staged()
    result.clean_changed.extend(f"{merge[:10]}:{p}" for p, blob in plain_index.items()
                                if p != ".gitattributes" and p not in conflicts and driver_index.get(p, blob) != blob)
    todo = [("conflicted", p, v) for p, v in conflicts.items() if p in claimed][:args.cost_files]
    clean = _clean_both_sides(git, ours, theirs, set(unmerged), args.cost_files * 4)
    judged = _claimed(git, [p for p, _ in clean])
    todo += [("clean", p, v) for p, v in clean if p in judged][:args.cost_files]
    for kind, path, versions in todo:
        result.cost[kind].append(tuple(round(s, 4) for s in _cost(clone, env, path, versions, scratch)))


# ----------------------------------------------------------------------------------- one repository
def replay_repository(git_dir: Path, args, rev: str = "HEAD") -> RepoResult:
    result = RepoResult(str(git_dir))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="codeintel-replay-") as tmp:
        home, clone, scratch = Path(tmp) / "home", Path(tmp) / "work", Path(tmp) / "scratch"
        home.mkdir()
        scratch.mkdir()
        (home / ".gitconfig").write_text(GITCONFIG)
        env = _env(home)
        source = Git(git_dir, env, args.timeout)
        try:
            result.head = source.text("rev-parse", "--verify", f"{rev}^{{commit}}").strip()
            merges = source.text("rev-list", "--merges", f"--max-count={args.scan}", result.head).split()
            _run(["git", "clone", "-q", "--shared", "--no-checkout", str(git_dir), str(clone)], Path(tmp), env,
                 args.timeout, check=True)
        except (RuntimeError, Timeout, OSError) as exc:
            result.skipped_merges[f"repository unusable: {exc}"] += 1
            return result
        git = Git(clone, env, args.timeout)
        for merge in merges:
            if len(result.replayed) >= args.merges:
                break
            result.scanned += 1
            parents = source.text("rev-list", "--parents", "-n1", merge).split()[1:]
            if len(parents) > 2:
                result.skipped_merges["octopus merge"] += 1
                continue
            probe = source("merge-tree", "--write-tree", "--name-only", "--no-messages", *parents, check=False)
            if probe.returncode == 0:
                continue                         # a clean merge: not what this measures
            if probe.returncode != 1:
                result.skipped_merges["git merge-tree failed"] += 1
                continue
            try:
                replay_merge(git, clone, env, merge, parents[0], parents[1], result, args, scratch)
            except Timeout as exc:
                result.skipped_merges[f"timeout ({exc})"] += 1
            except Exception as exc:  # noqa: BLE001 - one merge's trouble never stops the run
                result.skipped_merges[f"error: {type(exc).__name__}: {str(exc)[:80]}"] += 1
            if args.verbose and result.replayed and result.replayed[-1] == merge:
                print(f"  {printable(_name(str(git_dir)))} {merge[:10]}: {len(result.files)} files so far, "
                      f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    result.seconds = round(time.perf_counter() - start, 1)
    return result


# ----------------------------------------------------------------------------------- report
def _name(git_dir: str) -> str:
    """owner/name for a mirror folder (``/work/.mirror/owner+name/repo``), else the folder's name."""
    p = Path(git_dir)
    folder = p.parent.name if p.name in ("repo", ".git") else p.name
    return folder.replace("+", "/").removesuffix(".git")


def summary(result: RepoResult) -> dict:
    counts = Counter(f.outcome for f in result.files)
    n = len(result.files)

    def pct(k):
        return round(100 * counts[k] / n, 1) if n else 0.0

    def med(xs):
        return round(statistics.median(xs), 3) if xs else None

    cost = {kind: {"files": len(v), "driver_median_s": med([d for d, _ in v]),
                   "driver_max_s": round(max((d for d, _ in v), default=0), 3) if v else None,
                   "merge_file_median_s": med([m for _, m in v])} for kind, v in result.cost.items()}
    return {"repository": _name(result.git_dir), "head": result.head, "merges_replayed": len(result.replayed),
            "merges_scanned": result.scanned, "conflicted_files": n, "claimed_by_driver": sum(f.claimed for f in result.files),
            "safe": counts["safe"], "partly_resolved": sum(f.partly for f in result.files), "right": counts["right"],
            "wrong": counts["wrong"], "pct_right": pct("right"), "pct_wrong": pct("wrong"),
            "clean_files_changed_by_driver": len(result.clean_changed),
            "merge_median_s": {"plain": med(result.plain_seconds), "driver": med(result.driver_seconds)},
            "merge_total_s": {"plain": round(sum(result.plain_seconds), 2), "driver": round(sum(result.driver_seconds), 2)},
            "cost_per_file": cost, "skipped_merges": dict(result.skipped_merges),
            "skipped_files": dict(result.skipped_files), "left_out_of_work_tree": sorted(result.left_out),
            "seconds": result.seconds}


def _total(rows: list[dict]) -> dict:
    n = sum(r["conflicted_files"] for r in rows)
    total = {"repository": "all", "merges_replayed": sum(r["merges_replayed"] for r in rows), "conflicted_files": n}
    for k in ("claimed_by_driver", "safe", "partly_resolved", "right", "wrong", "clean_files_changed_by_driver"):
        total[k] = sum(r[k] for r in rows)
    total["pct_right"] = round(100 * total["right"] / n, 1) if n else 0.0
    total["pct_wrong"] = round(100 * total["wrong"] / n, 1) if n else 0.0
    return total


def _ms(x) -> str:
    return "-" if x is None else f"{1000 * x:.0f}"


def print_table(rows: list[dict], results: list[RepoResult]) -> None:
    head = (f"{'repository':<28} {'merges':>6} {'files':>5} {'driver':>6} {'safe':>5} {'right':>5} {'wrong':>5} "
            f"{'%right':>6} {'%wrong':>6}  {'merge s plain/driver (median)':>29}  "
            f"{'clean file ms drv/mf':>20}  {'conflicted ms drv/mf':>20}")
    print(head)
    print("-" * len(head))
    for r in rows + [_total(rows)]:
        line = (f"{printable(r['repository'])[:28]:<28} {r['merges_replayed']:>6} {r['conflicted_files']:>5} "
                f"{r['claimed_by_driver']:>6} {r['safe']:>5} {r['right']:>5} {r['wrong']:>5} {r['pct_right']:>6} "
                f"{r['pct_wrong']:>6}")
        if "merge_median_s" in r:
            m, c = r["merge_median_s"], r["cost_per_file"]
            line += (f"  {str(m['plain']) + ' / ' + str(m['driver']):>29}  "
                     f"{_ms(c['clean']['driver_median_s']) + ' / ' + _ms(c['clean']['merge_file_median_s']):>20}  "
                     f"{_ms(c['conflicted']['driver_median_s']) + ' / ' + _ms(c['conflicted']['merge_file_median_s']):>20}")
        print(line)
    print("(files: content conflicts of the plain merge; driver: of those, routed to the driver by "
          "install-merge-driver; ms: a new process per file, median; drv = codeintel merge-driver, mf = git merge-file)")
    for r, res in zip(rows, results):
        notes = [f"{v} {k}" for k, v in {**r["skipped_merges"], **r["skipped_files"]}.items()]
        if r["left_out_of_work_tree"]:
            notes.append(f"{len(r['left_out_of_work_tree'])} files left out of the work tree (their blobs are not "
                         f"in the repository)")
        if notes:
            print(f"{printable(r['repository'])}: skipped {', '.join(notes)}")
        for f in res.files:
            if f.outcome == "wrong":
                print(f"{printable(r['repository'])}: silent wrong merge {f.merge[:10]} {printable(f.path)}")
        for item in res.clean_changed:
            print(f"{printable(r['repository'])}: the driver changed a clean merge: {printable(item)}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("git_dirs", nargs="+", metavar="GIT_DIR[@COMMIT]")
    ap.add_argument("--merges", type=int, default=25, help="conflicting merges to replay per repository")
    ap.add_argument("--scan", type=int, default=5000, help="at most this many of the newest merges are looked at")
    ap.add_argument("--cost-files", type=int, default=2,
                    help="per merge, files timed against git merge-file (this many clean, this many conflicted)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds for one git command (a merge) at most")
    ap.add_argument("--install-args", default="", help="extra arguments for install-merge-driver, e.g. \"--also *.yaml\"")
    ap.add_argument("--json", type=Path, help="write every figure, per repository and per file, here")
    ap.add_argument("--verbose", action="store_true", help="a line on stderr after each merge")
    args = ap.parse_args(argv)
    results, rows = [], []
    for spec in args.git_dirs:
        folder, _, rev = spec.rpartition("@") if re.fullmatch(r".+@[0-9a-fA-F]{7,40}", spec) else (spec, "", "HEAD")
        res = replay_repository(Path(folder).resolve(), args, rev)
        results.append(res)
        rows.append(summary(res))
        print(f"{printable(rows[-1]['repository'])}: {len(res.replayed)} merges replayed in {res.seconds} s",
              file=sys.stderr, flush=True)
    print_table(rows, results)
    if args.json:
        payload = {"command": " ".join(sys.argv), "repositories": rows, "total": _total(rows),
                   "files": {row["repository"]: [asdict(f) for f in res.files] for row, res in zip(rows, results)},
                   "clean_files_changed_by_driver": {row["repository"]: res.clean_changed
                                                     for row, res in zip(rows, results)},
                   "cost_samples": {row["repository"]: res.cost for row, res in zip(rows, results)}}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
