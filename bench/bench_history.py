"""Benchmark of git history mining (indexer.history.mine_history): this script owns measuring how
fast a repository's history is mined into a fresh store, and how fast a re-run with no new commits
is. Given ``--repo PATH`` it mines that repository; otherwise it synthesises one in a temp dir:
``--commits N`` commits (default 3000) written in one ``git fast-import`` stream, over a few dozen
realistic Python modules (functions, classes with methods, imports) whose function bodies are
edited, added, deleted, and whose modules are added, renamed and deleted across commits, with
feature branches merged back (some touching the same functions as the main line, so some
merges conflict and are resolved). It prints one table: commits, seconds, commits/s, function
changes, merge scenarios (conflicting), and the re-run time.

    python3 bench/bench_history.py [--commits 3000] [--repo PATH] [--max-commits 0] [--keep]
"""
from __future__ import annotations

import argparse
import copy
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from codeintel.store import Store  # noqa: E402
from indexer.history import mine_history  # noqa: E402

VERBS = ["load", "parse", "build", "render", "fetch", "update", "validate", "merge", "split", "resolve",
         "compute", "normalize", "encode", "decode", "collect", "filter", "format", "check", "apply", "scan"]
NOUNS = ["config", "header", "token", "record", "index", "cache", "request", "payload", "path", "entry",
         "batch", "schema", "session", "report", "option", "window", "symbol", "buffer", "graph", "node"]
CLASSES = ["Loader", "Parser", "Client", "Registry", "Planner", "Resolver", "Builder", "Worker", "Store",
           "Scanner", "Tracker", "Writer", "Reader", "Session", "Manager", "Visitor", "Formatter", "Cache"]
PACKAGES = ["core", "io", "net", "util", "cli", "model", "plugins", "storage"]
IMPORTS = ["import os", "import re", "import json", "import logging", "from pathlib import Path",
           "from typing import Optional", "import itertools", "from collections import defaultdict"]
AUTHORS = [("Ada Lovelace", "ada@example.com"), ("Grace Hopper", "grace@example.com"),
           ("Alan Turing", "alan@example.com"), ("Edsger Dijkstra", "edsger@example.com"),
           ("Barbara Liskov", "barbara@example.com"), ("Ken Thompson", "ken@example.com")]
MESSAGES = ["Fix off-by-one in {f}", "Refactor {f}", "Handle empty input in {f}", "Speed up {f}",
            "Add {f}", "Remove unused {f}", "Tidy {f} and its callers", "Log failures in {f}",
            "Make {f} tolerate missing keys", "Simplify {f}"]
VARS = ["value", "item", "result", "count", "name", "data", "key", "total", "parts", "line"]


# ---------------------------------------------------------------------------- synthetic Python

def _statement(rng: random.Random, indent: str) -> list[str]:
    v, w = rng.sample(VARS, 2)
    n = rng.randint(0, 99)
    choice = rng.randrange(6)
    if choice == 0:
        return [f"{indent}{v} = {w} + {n}"]
    if choice == 1:
        return [f"{indent}if {v} > {n}:", f"{indent}    {w} = {v} - {n}"]
    if choice == 2:
        return [f"{indent}for {v} in range({n}):", f"{indent}    {w} += {v}"]
    if choice == 3:
        return [f"{indent}{v} = [{w} for {w} in {v}s if {w}]"]
    if choice == 4:
        return [f"{indent}logging.debug(\"{v}=%s\", {v})"]
    return [f"{indent}{v} = {rng.choice(VERBS)}_{rng.choice(NOUNS)}({w})"]


def make_function(rng: random.Random, name: str, indent: str = "", method: bool = False) -> str:
    params = (["self"] if method else []) + rng.sample(VARS, rng.randint(0, 2))
    lines = [f"{indent}def {name}({', '.join(params)}):",
             f'{indent}    """{rng.choice(VERBS).capitalize()} the {rng.choice(NOUNS)}."""']
    for v in VARS[:3]:
        if v not in params:
            lines.append(f"{indent}    {v} = {rng.randint(0, 9)}")
    for _ in range(rng.randint(2, 7)):
        lines += _statement(rng, indent + "    ")
    lines.append(f"{indent}    return {rng.choice(VARS[:3])}")
    return "\n".join(lines)


def mutate_function(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    indent = lines[0][: len(lines[0]) - len(lines[0].lstrip())] + "    "
    body = range(2, len(lines) - 1)   # keep the def, docstring and return lines
    op = rng.randrange(4)
    if op == 0 and len(body) > 4:     # delete a simple statement
        i = rng.choice(body)
        if not lines[i].rstrip().endswith(":") and not lines[i - 1].rstrip().endswith(":"):
            del lines[i]
            return "\n".join(lines)
    if op == 1:                       # change a number
        for i in rng.sample(list(body), len(body)):
            words = lines[i].split(" ")
            nums = [j for j, word in enumerate(words) if word.isdigit()]
            if nums:
                words[rng.choice(nums)] = str(rng.randint(100, 999))
                lines[i] = " ".join(words)
                return "\n".join(lines)
    if op == 2:                       # change the return value
        lines[-1] = f"{indent}return {rng.choice(VARS)}"
        return "\n".join(lines)
    i = rng.randint(2, len(lines) - 1)   # insert statements
    lines[i:i] = _statement(rng, indent)
    return "\n".join(lines)


def _fresh_name(rng: random.Random, taken) -> str:
    for _ in range(100):
        name = f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}"
        if name not in taken:
            return name
    return f"{rng.choice(VERBS)}_{rng.choice(NOUNS)}_{rng.randint(0, 10**6)}"


def make_module(rng: random.Random) -> dict:
    units: OrderedDict = OrderedDict()
    for _ in range(rng.randint(3, 7)):
        if rng.random() < 0.3:
            cname = rng.choice(CLASSES) + rng.choice(["", "V2", "Impl", "Base"])
            if cname in units:
                continue
            methods: OrderedDict = OrderedDict()
            methods["__init__"] = make_function(rng, "__init__", "    ", method=True)
            for _ in range(rng.randint(2, 5)):
                m = _fresh_name(rng, methods)
                methods[m] = make_function(rng, m, "    ", method=True)
            units[cname] = methods
        else:
            f = _fresh_name(rng, units)
            units[f] = make_function(rng, f)
    header = "\n".join(sorted(rng.sample(IMPORTS, rng.randint(1, 4))))
    return {"header": header, "units": units}


def render(module: dict) -> bytes:
    parts = []
    for name, unit in module["units"].items():
        if isinstance(unit, str):
            parts.append(unit)
        else:
            parts.append(f"class {name}:\n    \"\"\"The {name.lower()}.\"\"\"\n\n" + "\n\n".join(unit.values()))
    return (module["header"] + "\n\n\n" + "\n\n\n".join(parts) + "\n").encode()


def merge3(base, ours, theirs):
    """A function-level three-way merge; when both sides changed a unit, theirs wins."""
    if ours == theirs:
        return ours
    if ours == base:
        return theirs
    if theirs == base:
        return ours
    if isinstance(ours, dict) and isinstance(theirs, dict):
        base = base if isinstance(base, dict) else {}
        out = OrderedDict()
        for key in list(ours) + [k for k in theirs if k not in ours]:
            got = merge3(base.get(key), ours.get(key), theirs.get(key))
            if got is not None:
                out[key] = got
        return out
    return theirs if theirs is not None else ours


# ---------------------------------------------------------------------------- the synthetic repo

class Synth:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.mark = 0
        self.time = 1_600_000_000
        self.out: list[bytes] = []

    def _edit(self, state: dict, hot: list[str]) -> tuple[dict, str]:
        """A new state with one commit's worth of edits, and its message."""
        rng = self.rng
        state = dict(state)
        paths = sorted(state)
        roll = rng.random()
        if roll < 0.04 or len(paths) < 8:
            path = f"src/{rng.choice(PACKAGES)}/{_fresh_name(rng, ())}.py"
            state[path] = make_module(rng)
            return state, f"Add {path}"
        if roll < 0.05:
            path = rng.choice(paths)
            del state[path]
            return state, f"Remove {path}"
        if roll < 0.06:
            path = rng.choice(paths)
            new = f"src/{rng.choice(PACKAGES)}/{_fresh_name(rng, ())}.py"
            state[new] = state.pop(path)
            return state, f"Move {path} to {new}"
        if roll < 0.10:
            state["README.md"] = f"# synthetic project\n\nrevision {self.mark}\n".encode()
            return state, "Update README"
        touched = []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
            path = rng.choice(hot if hot and rng.random() < 0.5 else paths)
            if path not in state or not isinstance(state[path], dict):
                continue
            module = copy.deepcopy(state[path])
            units = module["units"]
            op = rng.random()
            if op < 0.12 or not units:
                f = _fresh_name(rng, units)
                units[f] = make_function(rng, f)
                touched.append(f)
            elif op < 0.18 and len(units) > 2:
                name = rng.choice(list(units))
                del units[name]
                touched.append(name)
            else:
                # while a feature branch is open, both lines often touch its first function,
                # so some merges conflict
                name = next(iter(units)) if path in hot and rng.random() < 0.35 else rng.choice(list(units))
                unit = units[name]
                if isinstance(unit, str):
                    units[name] = mutate_function(rng, unit)
                    touched.append(name)
                elif rng.random() < 0.15:
                    m = _fresh_name(rng, unit)
                    unit[m] = make_function(rng, m, "    ", method=True)
                    touched.append(f"{name}.{m}")
                else:
                    m = rng.choice(list(unit))
                    unit[m] = mutate_function(rng, unit[m])
                    touched.append(f"{name}.{m}")
            state[path] = module
        msg = rng.choice(MESSAGES).format(f=touched[0] if touched else "module layout")
        if rng.random() < 0.3:
            msg += "\n\n" + " ".join(rng.choice(VARS) for _ in range(rng.randint(5, 25))) + "\n"
        return state, msg

    def _emit(self, ref: str, state: dict, parent_state: dict | None, msg: str,
              parents: list[int]) -> int:
        self.mark += 1
        self.time += self.rng.randint(600, 4 * 3600)
        name, email = self.rng.choice(AUTHORS)
        data = msg.encode()
        lines = [f"commit {ref}", f"mark :{self.mark}",
                 f"author {name} <{email}> {self.time} +0000",
                 f"committer {name} <{email}> {self.time} +0000", f"data {len(data)}"]
        chunks = ["\n".join(lines).encode() + b"\n" + data + b"\n"]
        if parents:
            chunks.append(f"from :{parents[0]}\n".encode())
            for extra in parents[1:]:
                chunks.append(f"merge :{extra}\n".encode())
        old = parent_state or {}
        for path in old:
            if path not in state:
                chunks.append(f"D {path}\n".encode())
        for path, module in state.items():
            if old.get(path) is module:
                continue
            content = module if isinstance(module, bytes) else render(module)
            if path in old:
                prev = old[path] if isinstance(old[path], bytes) else render(old[path])
                if prev == content:
                    continue
            chunks.append(f"M 100644 inline {path}\ndata {len(content)}\n".encode() + content + b"\n")
        self.out.append(b"".join(chunks) + b"\n")
        return self.mark

    def build(self, n_commits: int) -> bytes:
        rng = self.rng
        main = {f"src/{rng.choice(PACKAGES)}/{_fresh_name(rng, ())}.py": make_module(rng) for _ in range(30)}
        main_mark = self._emit("refs/heads/main", main, None, "Initial import", [])
        made = 1
        branch = None   # (fork_state, state, mark, remaining, hot paths)
        while made < n_commits:
            if branch is None and rng.random() < 0.08 and n_commits - made > 8:
                hot = rng.sample(sorted(p for p in main if p.endswith(".py")), 3)
                branch = [main, main, main_mark, rng.randint(2, 6), hot]
            if branch is not None and branch[3] == 0 and made < n_commits:
                fork, theirs, their_mark = branch[0], branch[1], branch[2]
                merged = {}
                for path in list(main) + [p for p in theirs if p not in main]:
                    got = merge3(fork.get(path), main.get(path), theirs.get(path))
                    if got is not None:
                        merged[path] = got
                main_mark = self._emit("refs/heads/main", merged, main, "Merge branch 'feature'",
                                       [main_mark, their_mark])
                main = merged
                branch = None
                made += 1
                continue
            hot = branch[4] if branch else []
            if branch is not None and (rng.random() < 0.5 or branch[2] == main_mark):
                state, msg = self._edit(branch[1], hot)
                branch[2] = self._emit("refs/heads/feature", state, branch[1], msg, [branch[2]])
                branch[1] = state
                branch[3] -= 1
            else:
                state, msg = self._edit(main, hot)
                main_mark = self._emit("refs/heads/main", state, main, msg, [main_mark])
                main = state
            made += 1
        return b"".join(self.out)


def synthesize(target: Path, n_commits: int, seed: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    subprocess.run(["git", "init", "-q", "-b", "main", str(target)], check=True, env=env)
    stream = Synth(seed).build(n_commits)
    subprocess.run(["git", "fast-import", "--quiet"], input=stream, cwd=target, check=True, env=env)
    subprocess.run(["git", "branch", "-q", "-D", "feature"], cwd=target, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------- the bench

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, help="mine this repository instead of a synthetic one")
    ap.add_argument("--commits", type=int, default=3000, help="commits in the synthetic repository")
    ap.add_argument("--max-commits", type=int, default=0, help="mine_history's bound (0 = all)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (synthetic repo and store)")
    args = ap.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="bench-history-"))
    try:
        if args.repo:
            repo = args.repo.resolve()
            build_s = None
        else:
            repo = work / "repo"
            t = time.perf_counter()
            synthesize(repo, args.commits, args.seed)
            build_s = time.perf_counter() - t
        count = int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=repo, capture_output=True,
                                   text=True, check=True).stdout)
        merges = int(subprocess.run(["git", "rev-list", "--count", "--merges", "HEAD"], cwd=repo,
                                    capture_output=True, text=True, check=True).stdout)
        with Store.open(work / "store" / "index.db") as store:
            t = time.perf_counter()
            result = mine_history(repo, store, max_commits=args.max_commits or None)
            first_s = time.perf_counter() - t
            t = time.perf_counter()
            again = mine_history(repo, store, max_commits=args.max_commits or None)
            rerun_s = time.perf_counter() - t
            size = sum(p.stat().st_size for p in store.path.parent.glob(store.path.name + "*"))

        # baseline in the same run: git itself printing every mined commit's patch (the floor
        # for anything that reads each change), timed as a median of 3
        limit = ["-n", str(args.max_commits)] if args.max_commits else []
        times = []
        for _ in range(3):
            t = time.perf_counter()
            subprocess.run(["git", "log", "-p", "-m", "--no-color", *limit, "HEAD"],
                           cwd=repo, stdout=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - t)
        git_log_s = sorted(times)[1]

        src = str(args.repo) if args.repo else f"synthetic ({args.commits} commits, {merges} merges, " \
                                                f"built in {build_s:.1f} s)"
        print(f"repository: {src}; {count} commits reachable from HEAD")
        rows = [("commits mined", f"{result.new_commits}"),
                ("seconds", f"{first_s:.2f}"),
                ("commits/s", f"{result.new_commits / first_s:.0f}" if first_s else "-"),
                ("baseline: git log -p -m, s (median of 3)", f"{git_log_s:.2f} ({count / git_log_s:.0f} commits/s)"),
                ("mining time / git log -p time", f"{first_s / git_log_s:.1f}x"),
                ("function changes", f"{result.function_changes}"),
                ("merge scenarios", f"{result.merge_scenarios} ({result.conflicting_scenarios} conflicting)"),
                ("re-run (no new commits) s", f"{rerun_s:.3f} ({again.new_commits} mined)"),
                ("store size", f"{size / 1e6:.1f} MB")]
        width = max(len(k) for k, _ in rows)
        print(f"{'metric':<{width}}  value")
        print(f"{'-' * width}  {'-' * 28}")
        for key, value in rows:
            print(f"{key:<{width}}  {value}")
        if result.skipped_note:
            print(f"note: {result.skipped_note}")
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
