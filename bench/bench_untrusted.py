"""What hostile input costs (issue #23): the work codeintel does on a file or a submission it did
not write is bounded in time and memory.

    python3 bench/bench_untrusted.py [--sizes 1,8] [--nested-kb 1000]

- merge driver: a one-line file of N MiB that conflicts every few words (what once took 58 s and
  825 MiB at 8 MiB), through ``codeintel merge-driver`` as git runs it, beside ``git merge-file``
  on the same three versions (what git does without the driver);
- plagiarism: two submissions of deeply nested code (what once grew a 110 MB HTML page from 2 MB):
  wall time, peak memory and the size of the ``--html`` page beside the size of the input.

Each run is a fresh process; peak memory is its own maximum resident set (``wait4``).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, int]:
    """(seconds, peak MiB, exit code) of ``cmd`` in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def one_line_conflict(mib: float) -> tuple[bytes, bytes, bytes]:
    words = [f"w{i}" for i in range(int(mib * (1 << 20) / 6))]
    base = " ".join(words)
    ours = " ".join(w + "a" if i % 10 == 0 else w for i, w in enumerate(words))
    theirs = " ".join(w + "b" if i % 10 == 0 else w for i, w in enumerate(words))
    return base.encode(), ours.encode(), theirs.encode()


def bench_merge(sizes: list[float], folder: Path) -> list[list]:
    rows = []
    for mib in sizes:
        base, ours, theirs = one_line_conflict(mib)
        for name, data in (("o", base), ("b", theirs)):
            (folder / name).write_bytes(data)
        for tool, cmd in (("git merge-file", ["git", "merge-file", "-p", "a", "o", "b"]),
                          ("codeintel merge-driver", [sys.executable, "-m", "codeintel", "merge-driver",
                                                      "o", "a", "b", "7", "big.py"])):
            (folder / "a").write_bytes(ours)
            seconds, peak, code = run(cmd, folder)
            kept = b"<<<<<<<" in (folder / "a").read_bytes() if tool != "git merge-file" else True
            rows.append([f"merge {mib:g} MiB one line", tool, f"{seconds:.2f}", f"{peak:.0f}",
                         f"exit {code}" + ("" if kept else ", markers gone")])
    return rows


def nested(depth: int, width: int) -> str:
    inner = "x = 1\n"
    for level in range(depth):
        pad = "    " * (depth - level - 1)
        inner = f"{pad}if a{level}:\n" + "".join(f"    {line}\n" for line in inner.splitlines()) * width
        if len(inner) > 4 << 20:
            break
    return inner


def bench_plagiarism(kb: int, folder: Path) -> list[list]:
    text = ""
    depth = 4
    while len(text) < kb * 1024 and depth < 40:
        text = nested(depth, 2)
        depth += 1
    text = text[: kb * 1024]
    text = text[: text.rfind("\n") + 1]
    for who in ("alice", "bob"):
        (folder / "subs" / who).mkdir(parents=True, exist_ok=True)
        (folder / "subs" / who / "main.py").write_text(text)
    html = folder / "report.html"
    seconds, peak, code = run([sys.executable, "-m", "codeintel", "plagiarism", str(folder / "subs"),
                               "--html", str(html)], folder)
    size = html.stat().st_size if html.exists() else 0
    return [[f"plagiarism 2 x {len(text) / 1e6:.2f} MB nested", "codeintel plagiarism --html",
             f"{seconds:.2f}", f"{peak:.0f}", f"exit {code}, page {size / 1e6:.3f} MB "
             f"({size / (2 * len(text)):.3f} x input)"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1,8", help="MiB of the one-line conflicted file (comma-separated).")
    ap.add_argument("--nested-kb", type=int, default=1000, help="KB of nested code per submission.")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        rows = bench_merge([float(s) for s in args.sizes.split(",") if s], folder)
        rows += bench_plagiarism(args.nested_kb, folder)
    header = ["case", "tool", "seconds", "peak MiB", "outcome"]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
