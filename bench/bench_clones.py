"""Benchmark of plagiarism detection (``codeintel plagiarism``): this script owns measuring how
long a whole class of submissions takes, all pairs, against copydetect (PyPI) on the same
files in the same run, and how many planted copies each ranks at the top.

It writes ``--submissions N`` (default 1,000) independent Python programs of about
``--lines`` (default 200) lines each, generated from random functions (loops, branches,
arithmetic, calls, names drawn at random), and plants ``--copies`` (default 50) disguised
copies among them: identifiers renamed, functions reordered, comments and blank lines
added, one statement in six rewritten. Each tool gets the folder; its wall time includes
reading, tokenising, comparing and writing its HTML report. "recall@copies" is the share of
planted pairs among each tool's best-ranked ``--copies`` pairs. Medians over ``--repeat`` runs.

    nice python3 bench/bench_clones.py [--submissions 1000] [--lines 200] [--copies 50] [--repeat 3]
                                       [--copydetect-timeout 600] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = ("count total value item index result data row col key node left right low high step size limit acc "
         "buf tmp best score name part chunk line word char start end mid pivot flag seen queue stack").split()


class Gen:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def name(self) -> str:
        r = self.rng
        return r.choice(WORDS) + (r.choice(["", "_" + r.choice(WORDS), str(r.randint(1, 9))]))

    def expr(self, names: list, depth: int = 0) -> str:
        r = self.rng
        if depth > 1 or r.random() < 0.4:
            return r.choice(names) if r.random() < 0.7 else str(r.randint(0, 100))
        op = r.choice(["+", "-", "*", "//", "%"])
        if r.random() < 0.2:
            return f"{r.choice(['len', 'abs', 'min', 'max'])}({self.expr(names, depth + 1)})" if r.random() < 0.5 \
                else f"{self.expr(names, depth + 1)} {op} {self.expr(names, depth + 1)}"
        return f"({self.expr(names, depth + 1)} {op} {self.expr(names, depth + 1)})"

    def block(self, names: list, indent: int, budget: int) -> list:
        r = self.rng
        lines = []
        pad = "    " * indent
        while budget > 0:
            kind = r.random()
            if kind < 0.45 or indent > 3:
                target = self.name() if r.random() < 0.4 else r.choice(names)
                if target not in names:
                    names.append(target)
                lines.append(f"{pad}{target} = {self.expr(names)}")
                budget -= 1
            elif kind < 0.6:
                lines.append(f"{pad}if {self.expr(names)} {r.choice(['<', '>', '==', '!='])} {self.expr(names)}:")
                inner = self.block(list(names), indent + 1, min(budget, r.randint(1, 4)))
                lines += inner
                budget -= len(inner) + 1
                if r.random() < 0.5:
                    lines.append(f"{pad}else:")
                    inner = self.block(list(names), indent + 1, r.randint(1, 3))
                    lines += inner
                    budget -= len(inner) + 1
            elif kind < 0.8:
                var = self.name()
                lines.append(f"{pad}for {var} in range({self.expr(names)}):")
                inner = self.block(names + [var], indent + 1, min(budget, r.randint(1, 5)))
                lines += inner
                budget -= len(inner) + 1
            elif kind < 0.9:
                lines.append(f"{pad}print({self.expr(names)}, {self.expr(names)})")
                budget -= 1
            else:
                lines.append(f"{pad}{r.choice(names)} = [{self.expr(names)} for _ in range({r.randint(2, 9)})]")
                budget -= 1
        return lines

    def program(self, lines: int) -> str:
        funcs = []
        used = 0
        while used < lines:
            params = list(dict.fromkeys(self.name() for _ in range(self.rng.randint(1, 3))))
            body = self.block(list(params), 1, self.rng.randint(6, 18))
            ret = f"    return {self.expr(params)}"
            fname = f"{self.rng.choice(WORDS)}_{self.rng.choice(WORDS)}_{len(funcs)}"
            funcs.append("\n".join([f"def {fname}({', '.join(params)}):", *body, ret]))
            used += len(body) + 3
        return "\n\n\n".join(funcs) + "\n"


def disguise(code: str, rng: random.Random) -> str:
    """Rename identifiers, reorder functions, add comments and blank lines, rewrite a few statements."""
    import re

    names = sorted(set(re.findall(r"\b[a-z_][a-z_0-9]*\b", code)) - {"def", "return", "for", "in", "range", "if",
                                                                     "else", "print", "len", "abs", "min", "max"})
    mapping = {n: f"v{rng.randint(0, 10**6)}_{n[:2]}" for n in names if rng.random() < 0.8}
    code = re.sub(r"\b[a-z_][a-z_0-9]*\b", lambda m: mapping.get(m.group(), m.group()), code)
    funcs = code.strip("\n").split("\n\n\n")
    rng.shuffle(funcs)
    out = []
    for f in funcs:
        lines = []
        for line in f.split("\n"):
            if rng.random() < 1 / 6 and " = " in line and not line.rstrip().endswith(":"):
                pad = line[:len(line) - len(line.lstrip())]
                lines.append(f"{pad}{line.split(' = ')[0].strip()} = {rng.randint(0, 9)}  # changed")
            else:
                lines.append(line)
            if rng.random() < 0.1:
                lines.append("")
        out.append(f"# helper {rng.randint(0, 99)}\n" + "\n".join(lines))
    return "\n\n".join(out) + "\n"


def make_class(folder: Path, n: int, lines: int, copies: int, seed: int = 7) -> set:
    rng = random.Random(seed)
    gen = Gen(rng)
    planted = set()
    originals = {}
    for i in range(n - copies):
        name = f"s{i:04d}.py"
        originals[name] = gen.program(lines)
        (folder / name).write_text(originals[name])
    sources = rng.sample(sorted(originals), copies)
    for j, src in enumerate(sources):
        name = f"s{n - copies + j:04d}.py"
        (folder / name).write_text(disguise(originals[src], rng))
        planted.add(frozenset((src, name)))
    return planted


def recall(ranked: list, planted: set) -> float:
    top = ranked[:len(planted)]
    return sum(frozenset(p) in planted for p in top) / max(1, len(planted))


def run_codeintel(folder: Path, out: Path):
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "codeintel", "plagiarism", str(folder), "--json",
                           "--html", str(out / "codeintel.html"), "--limit", "500"],
                          capture_output=True, text=True, cwd=str(Path(__file__).resolve().parent.parent))
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"codeintel failed: {proc.stderr}")
    data = json.loads(proc.stdout)
    ranked = [(p["a"].split("/")[-1], p["b"].split("/")[-1]) for p in data["pairs"]]
    return seconds, ranked, data["candidate_pairs"]


_COPYDETECT = """
import json, sys
from copydetect import CopyDetector
d = CopyDetector(test_dirs=[sys.argv[1]], extensions=["py"], display_t=0.2, autoopen=False, silent=True,
                 out_file=sys.argv[2])
d.run()
d.generate_html_report()
pairs = sorted(d.get_copied_code_list(), key=lambda x: -max(x[0], x[1]))
print(json.dumps([[str(p[2]).split("/")[-1], str(p[3]).split("/")[-1]] for p in pairs]))
"""


def run_copydetect(folder: Path, out: Path, timeout: int):
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-c", _COPYDETECT, str(folder), str(out / "copydetect.html")],
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, [], f"did not finish in {timeout} s"
    seconds = time.perf_counter() - started
    if proc.returncode:
        return None, [], "failed: " + (proc.stderr.strip().splitlines() or ["?"])[-1]
    return seconds, [tuple(p) for p in json.loads(proc.stdout.strip().splitlines()[-1])], ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--submissions", type=int, default=1000)
    ap.add_argument("--lines", type=int, default=200)
    ap.add_argument("--copies", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--copydetect-timeout", type=int, default=600)
    ap.add_argument("--no-copydetect", action="store_true")
    ap.add_argument("--keep", type=Path, default=None, help="Write the submissions here and keep them.")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-clones-"))
    folder = args.keep or work / "class"
    folder.mkdir(parents=True, exist_ok=True)
    planted = make_class(folder, args.submissions, args.lines, args.copies)
    total_lines = sum(p.read_text().count("\n") for p in folder.glob("*.py"))
    print(f"{args.submissions} submissions, {total_lines / args.submissions:.0f} lines on average, "
          f"{len(planted)} planted disguised copies, {args.submissions * (args.submissions - 1) // 2} pairs")
    rows = []
    times, ranked, candidates = [], [], 0
    for _ in range(args.repeat):
        seconds, ranked, candidates = run_codeintel(folder, work)
        times.append(seconds)
    rows.append(("codeintel plagiarism (winnowing + fragments, HTML)", statistics.median(times), recall(ranked, planted),
                 f"{candidates} pairs share fingerprints; best 500 compared in full"))
    if not args.no_copydetect:
        cd_times, cd_ranked, note = [], [], ""
        for _ in range(args.repeat):
            seconds, cd_ranked, note = run_copydetect(folder, work, args.copydetect_timeout)
            if seconds is None:
                break
            cd_times.append(seconds)
        rows.append(("copydetect 0.5 (winnowing, HTML)", statistics.median(cd_times) if cd_times else None,
                     recall(cd_ranked, planted) if cd_times else None, note or f"{len(cd_ranked)} pairs >= 0.2"))
    print(f"\n{'tool':<52} {'seconds (median)':>16} {'recall@copies':>14}  notes")
    for name, seconds, rec, note in rows:
        s = "-" if seconds is None else f"{seconds:.1f}"
        r = "-" if rec is None else f"{rec:.2f}"
        print(f"{name:<52} {s:>16} {r:>14}  {note}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
