"""Merge driver speed: how long `codeintel merge-driver` takes as git runs it (a new process
each time, interpreter start included) on a file that merges cleanly and on one with
conflicts (model load and classification included), against `git merge-file` on the same
files in the same run; plus the built-in model's recorded training time.

    python3 bench/bench_merge.py [--repeat 5] [--corpus FILE.jsonl.gz]

Targets (issue 3): clean < 250 ms wall, conflicted < 2 s wall on 2 cores, training the
default model on the shared corpus < 30 minutes.
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "merge" / "psf__requests.jsonl.gz"


def _conflicted_record(corpus: Path) -> dict:
    with gzip.open(corpus, "rt") as fh:
        for line in fh:
            rec = json.loads(line)
            if rec["path"].endswith(".py") and 2000 < len(rec["ours"]) < 40000 and rec["base"]:
                return rec
    raise SystemExit(f"no Python conflict in {corpus}")


def _clean_triple(text: str) -> tuple[str, str, str]:
    lines = text.splitlines(keepends=True)
    ours, theirs = list(lines), list(lines)
    ours[2] = "# edited on ours\n"
    theirs[-3] = "# edited on theirs\n"
    return text, "".join(ours), "".join(theirs)


def _time(cmd: list[str], files: tuple[str, str, str], folder: Path, repeat: int, env: dict) -> list[float]:
    out = []
    for _ in range(repeat):
        for name, text in zip(("O", "A", "B"), files):
            (folder / name).write_text(text)
        start = time.perf_counter()
        subprocess.run(cmd, cwd=folder, env=env, capture_output=True)
        out.append(time.perf_counter() - start)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = ap.parse_args(argv)
    rec = _conflicted_record(args.corpus)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    driver = [sys.executable, "-m", "codeintel", "merge-driver", "O", "A", "B", "7", rec["path"]]
    git_cmd = ["git", "merge-file", "-p", "A", "O", "B"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        subprocess.run(["git", "init", "-q"], cwd=folder)
        for label, files, target in (("clean merge", _clean_triple(rec["base"]), 0.25),
                                     ("conflicted file", (rec["base"], rec["ours"], rec["theirs"]), 2.0)):
            t_driver = _time(driver, files, folder, args.repeat, env)
            t_git = _time(git_cmd, files, folder, args.repeat, env)
            _time(driver, files, folder, 1, env)
            result = subprocess.run(driver, cwd=folder, env=env, capture_output=True)
            med = statistics.median(t_driver)
            rows.append((label, med, statistics.median(t_git), target, result.returncode))
    from codeintel.models.registry import active_model
    info = active_model("merge", None)
    train_s = info.meta.get("training", {}).get("seconds") if info else None
    print(f"file: {rec['repo']} {rec['path']} ({len(rec['ours']):,} chars); median of {args.repeat} runs; "
          f"model: {info.path if info else 'none'}")
    print(f"{'case':<18} {'driver s':>9} {'git merge-file s':>17} {'ratio':>6} {'target s':>9} {'met?':>5} {'exit':>5}")
    for label, med, git_s, target, code in rows:
        print(f"{label:<18} {med:>9.3f} {git_s:>17.4f} {med / git_s:>6.0f} {target:>9.2f} "
              f"{'yes' if med < target else 'NO':>5} {code:>5}")
    if train_s is not None:
        print(f"training the built-in model (recorded in its meta.json): {train_s / 60:.1f} min "
              f"(target < 30 min: {'yes' if train_s < 1800 else 'NO'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
