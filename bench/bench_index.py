"""Indexing benchmark: how fast `codeintel index` is, compared with bare tree-sitter and ctags.

On a copy of a source tree (by default the running Python's standard library,
``sysconfig.get_paths()["stdlib"]``, ~1,800 .py files / ~31 MB, copied with shutil.copytree into a
temp dir without __pycache__, site-packages and .codeintel, so nothing is ever written into the
interpreter's folder or into a ``--tree`` you pass) it measures, in one run: (1) the baseline, a
bare tree-sitter parse of the tree's .py files in this process (read bytes + ``parser.parse``); (2)
a cold ``codeintel index TREE --no-history --quiet`` run as a subprocess, with the default workers
(one per core) and with ``--workers 1``, as seconds, files/s, MB/s and the throughput ratio to the
bare parse (bare seconds / index seconds; target >= 0.5); (3) a no-op re-index (target < 2 s); (4)
re-indexes after appending a comment to 1 file and to 50 files; (5) Universal Ctags (``ctags -R
--languages=Python --exclude=.codeintel``) on the same tree, and the index/ctags time ratio; (6)
the store's size on disk and the counts from ``codeintel stats --json``. Subprocess peak memory is
sampled with psutil every 50 ms: the codeintel main process's RSS and the sum of RSS over its whole
process tree (main + pool workers; forked workers share copy-on-write pages, so the sum
over-counts), plus the kernel's exact ru_maxrss of the largest single process (from wait4) in the
JSON, and user+sys CPU seconds (wait4) next to the wall seconds. Timed runs are repeated ``--repeat
N`` times (default 1) and the median is reported (RSS: the maximum). Run it from the repository
root: ``python3 bench/bench_index.py [--repeat 3] [--tree PATH] [--json bench/results/bench.json]
[--keep]``; it takes about 1.5 minutes on 2 cores for the stdlib with the default repeat of 1.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

try:
    import psutil
except ImportError:  # the tree-sum column then reads n/a; ru_maxrss still works
    psutil = None

IGNORED = ("__pycache__", "site-packages", ".codeintel")
SKIP_DIRS = {".git", ".codeintel", ".hg", ".svn"}   # the indexer's ALWAYS_SKIPPED_DIRS
EDIT_MARK = b"\n# codeintel bench edit %d\n"
TARGET_RATIO = 0.5
TARGET_NOOP_S = 2.0
MB = 1e6


# ------------------------------------------------------------------------------------ helpers
def median(values):
    return statistics.median(values) if values else None


def fmt(value, spec="{:.2f}", none="–"):
    return none if value is None else spec.format(value)


def python_files(tree: Path, max_size: int) -> list[Path]:
    """The tree's .py files that the indexer would parse (outside skipped dirs, within the size limit)."""
    found = []
    for folder, dirs, files in os.walk(tree):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in sorted(files):
            if name.endswith(".py"):
                path = Path(folder, name)
                try:
                    st = path.lstat()
                except OSError:
                    continue
                if not path.is_symlink() and st.st_size <= max_size:
                    found.append(path)
    return found


def dir_size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                pass
    return total


class Sampler(threading.Thread):
    """Polls a process and its descendants: peak RSS of the process itself and of the tree's sum."""

    def __init__(self, pid: int, interval: float = 0.05):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.stop = threading.Event()
        self.main_peak = 0
        self.tree_peak = 0
        self.max_procs = 0
        self.main_cpu = None   # user+sys seconds of the process itself at the last sample

    def run(self) -> None:
        if psutil is None:
            return
        try:
            proc = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self.stop.is_set():
            try:
                main_rss = proc.memory_info().rss
                cpu = proc.cpu_times()
                self.main_cpu = cpu.user + cpu.system
                children = proc.children(recursive=True)
            except psutil.Error:
                break
            total = main_rss
            for child in children:
                try:
                    total += child.memory_info().rss
                except psutil.Error:
                    pass
            self.main_peak = max(self.main_peak, main_rss)
            self.tree_peak = max(self.tree_peak, total)
            self.max_procs = max(self.max_procs, 1 + len(children))
            self.stop.wait(self.interval)


def run_measured(cmd: list[str], env: Optional[dict] = None) -> dict:
    """Run ``cmd``; wall seconds, exit code, stdout, sampled peak RSS (main and tree sum) and the
    kernel's ru_maxrss (the largest single process of the tree, from wait4)."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    sampler = Sampler(proc.pid)
    sampler.start()
    # read the pipes in threads so a chatty child cannot block; reap with wait4 for its rusage
    out: dict[str, bytes] = {}
    readers = [threading.Thread(target=lambda k=k, f=f: out.__setitem__(k, f.read()), daemon=True)
               for k, f in (("stdout", proc.stdout), ("stderr", proc.stderr))]
    for r in readers:
        r.start()
    _pid, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    sampler.stop.set()
    for r in readers:
        r.join()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    ru_mb = usage.ru_maxrss * 1024 / MB   # Linux: KiB
    sampled = psutil is not None and sampler.main_peak > 0
    return {
        "seconds": seconds,
        "rc": proc.returncode,
        "stdout": out.get("stdout", b"").decode("utf-8", "replace"),
        "stderr": out.get("stderr", b"").decode("utf-8", "replace"),
        # a run shorter than one sampling interval: the kernel's figure (exact for one process)
        "rss_main_mb": sampler.main_peak / MB if sampled else ru_mb,
        "rss_tree_mb": sampler.tree_peak / MB if sampled else (ru_mb if psutil else None),
        "max_procs": sampler.max_procs if sampled else None,
        "ru_maxrss_mb": ru_mb,
        "cpu_s": usage.ru_utime + usage.ru_stime,       # the process and its reaped children
        "main_cpu_s": sampler.main_cpu,
    }


# ------------------------------------------------------------------------------------ bench
class Bench:
    def __init__(self, args):
        self.args = args
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.facts: dict = {}
        self.codeintel = (args.codeintel.split() if args.codeintel
                          else [sys.executable, "-m", "codeintel"])
        self.env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
        self.env.pop("CODEINTEL_DEBUG", None)

    # ---- setup
    def prepare_tree(self) -> None:
        source = Path(self.args.tree).resolve() if self.args.tree else Path(sysconfig.get_paths()["stdlib"])
        if not source.is_dir():
            sys.exit(f"bench: {source} is not a directory")
        self.tmp = Path(tempfile.mkdtemp(prefix="codeintel-bench-"))
        self.tree = self.tmp / source.name
        t = time.perf_counter()
        shutil.copytree(source, self.tree, symlinks=True, ignore_dangling_symlinks=True,
                        ignore=shutil.ignore_patterns(*IGNORED))
        copy_s = time.perf_counter() - t
        from indexer.files import DEFAULT_MAX_FILE_SIZE
        self.max_size = DEFAULT_MAX_FILE_SIZE
        self.files = python_files(self.tree, self.max_size)
        if not self.files:
            sys.exit(f"bench: no .py files under {source}")
        self.py_bytes = sum(p.stat().st_size for p in self.files)
        self.facts["tree"] = {"source": str(source), "copy": str(self.tree), "copy_seconds": round(copy_s, 2),
                              "py_files": len(self.files), "py_mb": round(self.py_bytes / MB, 2),
                              "all_files": sum(len(f) for _d, _s, f in os.walk(self.tree)),
                              "all_mb": round(dir_size(self.tree) / MB, 2)}

    def machine_facts(self) -> None:
        def version(dist):
            try:
                return metadata.version(dist)
            except metadata.PackageNotFoundError:
                return None
        cpu = None
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
        try:
            usable = len(os.sched_getaffinity(0))
        except AttributeError:
            usable = os.cpu_count()
        ctags = shutil.which("ctags")
        ctags_version = None
        if ctags:
            try:
                ctags_version = subprocess.run([ctags, "--version"], capture_output=True, text=True,
                                               timeout=10).stdout.splitlines()[0]
            except (OSError, subprocess.SubprocessError, IndexError):
                pass
        mem = None
        if psutil:
            mem = round(psutil.virtual_memory().total / 2**30, 1)
        self.facts["machine"] = {
            "cores": os.cpu_count(), "usable_cores": usable, "cpu": cpu, "memory_gib": mem,
            "python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "tree_sitter": version("tree-sitter"),
            "tree_sitter_python": version("tree-sitter-python"), "sqlite": sqlite3.sqlite_version,
            "codeintel": version("codeintel"), "ctags": ctags_version, "psutil": version("psutil"),
        }
        self.ctags = ctags

    # ---- measurements
    def add_row(self, name, runs, *, files=None, mbytes=None, ratio=None, target=None, met=None, **extra):
        secs = [r["seconds"] for r in runs]
        s = median(secs)
        cpu = [r["cpu_s"] for r in runs if r.get("cpu_s") is not None]
        main_cpu = [r["main_cpu_s"] for r in runs if r.get("main_cpu_s") is not None]
        rss_main = [r.get("rss_main_mb") for r in runs if r.get("rss_main_mb") is not None]
        rss_tree = [r.get("rss_tree_mb") for r in runs if r.get("rss_tree_mb") is not None]
        ru = [r.get("ru_maxrss_mb") for r in runs if r.get("ru_maxrss_mb") is not None]
        row = {
            "measurement": name, "seconds": s, "runs_seconds": [round(x, 3) for x in secs],
            "cpu_s": median(cpu), "main_cpu_s": median(main_cpu),
            "files": files, "files_per_s": files / s if files and s else None,
            "mb": mbytes, "mb_per_s": mbytes / s if mbytes and s else None,
            "ratio_vs_bare": ratio, "rss_main_mb": max(rss_main) if rss_main else None,
            "rss_tree_mb": max(rss_tree) if rss_tree else None,
            "ru_maxrss_mb": max(ru) if ru else None, "target": target, "met": met, **extra,
        }
        self.rows.append(row)
        return row

    def bare_parse(self) -> dict:
        from indexer.languages import get_spec
        parser = get_spec("python").parser()
        parser.parse(b"x = 1\n")  # load the grammar before timing
        runs = []
        for _ in range(self.args.repeat):
            t, c = time.perf_counter(), time.process_time()
            total = 0
            for path in self.files:
                with open(path, "rb") as fh:
                    data = fh.read()
                parser.parse(data)
                total += len(data)
            runs.append({"seconds": time.perf_counter() - t, "cpu_s": time.process_time() - c,
                         "rss_main_mb": _self_maxrss_mb()})
        self.bare_s = median([r["seconds"] for r in runs])
        self.bare_cpu = median([r["cpu_s"] for r in runs])
        return self.add_row("bare tree-sitter parse (1 process)", runs, files=len(self.files),
                            mbytes=total / MB, ratio=1.0, rss_note="bench process ru_maxrss")

    def index_cmd(self, *extra: str) -> list[str]:
        return [*self.codeintel, "index", str(self.tree), "--no-history", "--quiet", "--json", *extra]

    def run_index(self, *extra: str, expect_parsed: Optional[int] = None) -> dict:
        run = run_measured(self.index_cmd(*extra), env=self.env)
        if run["rc"] != 0:
            sys.exit(f"bench: `{' '.join(self.index_cmd(*extra))}` failed (exit {run['rc']}):\n{run['stderr']}")
        try:
            run["result"] = json.loads(run["stdout"])
        except json.JSONDecodeError:
            run["result"] = {}
        parsed = run["result"].get("parsed")
        if expect_parsed is not None and parsed is not None and parsed != expect_parsed:
            self.notes.append(f"expected {expect_parsed} parsed files, the run parsed {parsed} "
                              f"({' '.join(extra) or 'default'})")
        return run

    def drop_store(self) -> None:
        shutil.rmtree(self.tree / ".codeintel", ignore_errors=True)

    def indexed_bytes(self) -> tuple[int, int, str]:
        """(files, bytes, 'language files/MB, ...') the store holds as parsed (ok or partial)."""
        conn = sqlite3.connect(f"file:{self.tree / '.codeintel' / 'index.db'}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT language, count(*), coalesce(sum(size), 0) FROM files"
                                " WHERE status != 'skipped' GROUP BY language ORDER BY 2 DESC").fetchall()
        finally:
            conn.close()
        langs = ", ".join(f"{lang} {n} files / {b / MB:.2f} MB" for lang, n, b in rows)
        return sum(r[1] for r in rows), sum(r[2] for r in rows), langs

    def cold_index(self, label: str, *extra: str) -> dict:
        runs = []
        for _ in range(self.args.repeat):
            self.drop_store()
            runs.append(self.run_index(*extra))
        n, b, langs = self.indexed_bytes()
        s = median([r["seconds"] for r in runs])
        ratio = self.bare_s / s
        cpu = median([r["cpu_s"] for r in runs])
        row = self.add_row(label, runs, files=n, mbytes=b / MB, ratio=ratio, target=f"ratio ≥ {TARGET_RATIO}",
                           met=ratio >= TARGET_RATIO, ratio_vs_bare_cpu=self.bare_cpu / cpu if cpu else None,
                           indexer_seconds=median([r["result"].get("seconds") or 0 for r in runs]),
                           max_procs=max((r.get("max_procs") or 0) for r in runs), result=runs[-1]["result"])
        if n != len(self.files) or abs(b - self.py_bytes) > 0.01 * self.py_bytes:
            self.notes.append(f"{label}: the index parsed {n} files / {b / MB:.2f} MB ({langs}), the bare "
                              f"parse {len(self.files)} .py files / {self.py_bytes / MB:.2f} MB")
        return row

    def reindex(self, label: str, edit_files: list[Path], target=None, limit=None) -> dict:
        runs = []
        for i in range(self.args.repeat):
            mb = 0
            for path in edit_files:
                with open(path, "ab") as fh:
                    fh.write(EDIT_MARK % i)
                mb += path.stat().st_size
            runs.append(self.run_index(expect_parsed=len(edit_files)))
        s = median([r["seconds"] for r in runs])
        met = None if limit is None else s < limit
        return self.add_row(label, runs, files=len(edit_files) or None, mbytes=(mb / MB) or None,
                            target=target, met=met,
                            parsed=[r["result"].get("parsed") for r in runs],
                            indexer_seconds=median([r["result"].get("seconds") or 0 for r in runs]))

    def run_ctags(self) -> Optional[dict]:
        if not self.ctags:
            self.notes.append("ctags: not installed (apt-get install universal-ctags); row skipped")
            return None
        out = self.tmp / "tags"
        runs = []
        for _ in range(self.args.repeat):
            out.unlink(missing_ok=True)
            run = run_measured([self.ctags, "-R", "-f", str(out), "--languages=Python",
                                "--exclude=.codeintel", str(self.tree)])
            if run["rc"] != 0:
                self.notes.append(f"ctags failed (exit {run['rc']}): {run['stderr'].strip()[:200]}")
                return None
            runs.append(run)
        s = median([r["seconds"] for r in runs])
        with open(out, "rb") as fh:
            tags = sum(1 for line in fh if not line.startswith(b"!_TAG_"))
        return self.add_row("universal-ctags -R --languages=Python", runs, files=len(self.files),
                            mbytes=self.py_bytes / MB, ratio=self.bare_s / s, tags=tags)

    def store_facts(self) -> None:
        run = run_measured([*self.codeintel, "stats", "--repo", str(self.tree), "--json"], env=self.env)
        stats = json.loads(run["stdout"]) if run["rc"] == 0 else {}
        store_dir = self.tree / ".codeintel"
        breakdown = {}
        try:
            conn = sqlite3.connect(f"file:{store_dir / 'index.db'}?mode=ro", uri=True)
            try:
                breakdown = {name: round(size / MB, 1) for name, size in conn.execute(
                    "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC")}
            finally:
                conn.close()
        except sqlite3.Error as exc:  # dbstat is an optional SQLite feature
            breakdown = {"unavailable": str(exc)}
        self.facts["store"] = {
            "size_mb": round(dir_size(store_dir) / MB, 1),
            "size_vs_source": round(dir_size(store_dir) / self.py_bytes, 2),
            "files": sum((stats.get("files") or {}).values()),
            "files_by_status": stats.get("files"),
            "symbols": sum((stats.get("symbols") or {}).values()),
            "symbols_by_kind": stats.get("symbols"),
            "imports": stats.get("imports"),
            "references": stats.get("references"),
            "chunks": stats.get("chunks"),
            "parse_errors": stats.get("parse_errors"),
            "stats_seconds": round(run["seconds"], 2),
            "bytes_by_table_mb": breakdown,
        }

    # ---- the whole run
    def run(self) -> None:
        t0 = time.perf_counter()
        self.facts["load_average_before"] = _loadavg()
        self.machine_facts()
        self.prepare_tree()
        say = (lambda msg: print(f"[{time.perf_counter() - t0:6.1f}s] {msg}", file=sys.stderr, flush=True))
        say(f"tree copied to {self.tree} ({self.facts['tree']['py_files']} .py files, "
            f"{self.facts['tree']['py_mb']} MB); repeat={self.args.repeat}")
        say("bare tree-sitter parse")
        self.bare_parse()
        cores = self.facts["machine"]["usable_cores"]
        say("cold index, default workers")
        self.cold_index(f"index, default workers ({cores})")
        say("cold index, --workers 1")
        self.cold_index("index, --workers 1", "--workers", "1")
        self.store_facts()
        say("no-op re-index")
        self.reindex("re-index, nothing changed", [], target=f"< {TARGET_NOOP_S:g} s", limit=TARGET_NOOP_S)
        # edited files: spread over the tree, deterministic
        step = max(1, len(self.files) // 50)
        fifty = self.files[::step][:50]
        one = [self.files[len(self.files) // 2]]
        say("re-index after editing 1 file")
        self.reindex("re-index, 1 file edited", one)
        say(f"re-index after editing {len(fifty)} files")
        self.reindex(f"re-index, {len(fifty)} file{'s' if len(fifty) != 1 else ''} edited", fifty)
        say("ctags")
        self.run_ctags()
        self.facts["bench_seconds"] = round(time.perf_counter() - t0, 1)
        self.facts["load_average_after"] = _loadavg()
        say("done")

    # ---- output
    def table(self) -> str:
        head = ["measurement", "seconds", "CPU s", "files/s", "MB/s", "ratio vs bare parse",
                "peak RSS MB main", "peak RSS MB tree Σ", "target", "met?"]
        body = []
        for r in self.rows:
            body.append([
                r["measurement"], fmt(r["seconds"], "{:.2f}"), fmt(r["cpu_s"], "{:.2f}"),
                fmt(r["files_per_s"], "{:.0f}"),
                fmt(r["mb_per_s"], "{:.2f}"), fmt(r["ratio_vs_bare"], "{:.2f}"),
                fmt(r["rss_main_mb"], "{:.0f}"), fmt(r["rss_tree_mb"], "{:.0f}"),
                r["target"] or "–", "–" if r["met"] is None else ("yes" if r["met"] else "NO"),
            ])
        widths = [max(len(str(x)) for x in col) for col in zip(head, *body)]
        numeric = {1, 2, 3, 4, 5, 6, 7}

        def line(cells):
            return "  ".join(str(c).rjust(w) if i in numeric else str(c).ljust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
        out = [line(head), line(["-" * w for w in widths])] + [line(b) for b in body]
        return "\n".join(out)

    def report(self) -> str:
        m, t, st = self.facts["machine"], self.facts["tree"], self.facts.get("store", {})
        lines = [
            f"machine: {m['usable_cores']} usable cores (os.cpu_count {m['cores']}), {m['cpu'] or '?'}, "
            f"{m['memory_gib']} GiB RAM; Python {m['python']} ({m['implementation']}); tree-sitter "
            f"{m['tree_sitter']}, tree-sitter-python {m['tree_sitter_python']}; SQLite {m['sqlite']}; "
            f"{m['ctags'] or 'no ctags'}",
            f"tree: {t['source']} -> {t['copy']}: {t['py_files']} .py files, {t['py_mb']} MB "
            f"({t['all_files']} files, {t['all_mb']} MB in all); repeat={self.args.repeat} "
            f"(median seconds, max RSS)",
            "",
            self.table(),
            "",
        ]
        ctags = next((r for r in self.rows if r["measurement"].startswith("universal-ctags")), None)
        if ctags:
            parts = [f"{r['measurement']}: {r['seconds'] / ctags['seconds']:.1f}×"
                     for r in self.rows if r["measurement"].startswith("index")]
            lines.append(f"index/ctags time ratio: {'; '.join(parts)} (ctags wrote {ctags['tags']:,} tags)")
        for r in self.rows:
            if r["measurement"].startswith("index") and r.get("indexer_seconds"):
                split = ""
                if r.get("main_cpu_s") is not None and r.get("cpu_s") is not None:
                    split = (f"; CPU: main process {r['main_cpu_s']:.1f} s, workers "
                             f"{max(0.0, r['cpu_s'] - r['main_cpu_s']):.1f} s")
                if r.get("ratio_vs_bare_cpu"):
                    split += f"; CPU-time ratio vs bare parse {r['ratio_vs_bare_cpu']:.2f}"
                lines.append(f"{r['measurement']}: indexer's own timer {r['indexer_seconds']:.2f} s "
                             f"(the rest is interpreter start-up and imports); up to {r['max_procs']} processes"
                             f"{split}; largest single process (kernel ru_maxrss) {r['ru_maxrss_mb']:.0f} MB")
        for r in self.rows:
            if "parsed" in r:
                lines.append(f"{r['measurement']}: files parsed per run {r['parsed']}")
        if st:
            lines.append(f"store: {st['size_mb']} MB on disk ({st['size_vs_source']}× the .py bytes); "
                         f"files {st['files']} ({st['files_by_status']}), symbols {st['symbols']}, "
                         f"references {st['references']}, chunks {st['chunks']}, imports {st['imports']}")
            tb = st.get("bytes_by_table_mb") or {}
            if tb and "unavailable" not in tb:
                lines.append("store MB by table/index: " + ", ".join(f"{k} {v}" for k, v in list(tb.items())[:8]))
        lines.append("CPU s = user+sys seconds of the run (subprocess rows: the process and all its children, "
                     "from wait4); less sensitive than wall seconds to other load on the machine.")
        lines.append("RSS: 'main' = peak RSS of the codeintel process itself, 'tree Σ' = peak of the summed RSS "
                     "of that process and all its children at one instant (psutil, sampled every 50 ms; forked "
                     "workers share copy-on-write pages, so Σ over-counts; a run too short to sample shows "
                     "the kernel's ru_maxrss); bare parse row = this bench process's ru_maxrss.")
        for note in self.notes:
            lines.append(f"note: {note}")
        lines.append(f"bench wall time {self.facts['bench_seconds']} s; load average (1/5/15 min) before "
                     f"{self.facts['load_average_before']}, after {self.facts['load_average_after']} "
                     f"(other work on the machine skews the figures)")
        return "\n".join(lines)

    def to_json(self) -> dict:
        rows = []
        for r in self.rows:
            rows.append({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()})
        return {"machine": self.facts["machine"], "tree": self.facts["tree"], "store": self.facts.get("store"),
                "load_average": [self.facts.get("load_average_before"), self.facts.get("load_average_after")],
                "rows": rows, "notes": self.notes, "bench_seconds": self.facts.get("bench_seconds"),
                "repeat": self.args.repeat, "bare_parse_seconds": self.bare_s,
                "targets": {"ratio_vs_bare_min": TARGET_RATIO, "noop_seconds_max": TARGET_NOOP_S}}

    def cleanup(self) -> None:
        if getattr(self, "tmp", None) and not self.args.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _self_maxrss_mb() -> float:
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MB


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tree", help="source tree to copy and index (default: this Python's stdlib)")
    ap.add_argument("--repeat", type=int, default=1, help="timed runs per measurement; the median is reported")
    ap.add_argument("--json", metavar="FILE", help="also write the figures to FILE as JSON")
    ap.add_argument("--keep", action="store_true", help="keep the temp copy (and its index) and print its path")
    ap.add_argument("--codeintel", metavar="CMD",
                    help="command that runs codeintel (default: this Python -m codeintel, from this checkout)")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be 1 or more")
    bench = Bench(args)
    try:
        bench.run()
        print(bench.report())
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(bench.to_json(), indent=2, ensure_ascii=False) + "\n")
            print(f"figures written to {args.json}")
        if args.keep:
            print(f"kept the tree and its index at {bench.tree}")
    finally:
        bench.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
