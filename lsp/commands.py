"""workspace/executeCommand: the work behind each ``codeintel.*`` command (agreed names in
the project's contracts). Long work runs off the message loop and reports progress."""
from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Callable, Optional

from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

Report = Callable[[str, Optional[int]], None]     # (message, percentage)

TRAINABLE = ("merge", "completion", "sketch", "edits", "clones")


class Stopped(Exception):
    """An index run given up because the server shuts down (the store stays consistent)."""


def index_folder(folder, report: Report, history: bool = True) -> dict:
    """Refresh a folder's index (only changed files are parsed); runs on its writer thread and
    stops at the next file once the folder is closing (each batch is its own transaction)."""
    from indexer.pipeline import index_repository
    from codeintel.config import load_index_settings

    settings = load_index_settings(folder.root)

    def progress(phase: str, done: int, total: int) -> None:
        if folder.closing.is_set():
            raise Stopped(f"{folder.root}: the server is shutting down")
        if total:
            report(f"{folder.root.name}: {phase} {done}/{total}", int(100 * done / total))

    # workers=1: parsed in this process. The indexer's worker pool forks, and a fork of a process
    # with running threads (this server's) can inherit a lock held mid-call and hang for ever.
    result = index_repository(folder.root, max_file_size=folder.settings.max_file_size, workers=1,
                              history=history and settings.history, max_commits=settings.max_commits,
                              since=settings.since, progress=progress, store=folder.writer)
    return {"root": result.root, "files": result.listed, "parsed": result.parsed, "unchanged": result.unchanged,
            "deleted": result.deleted, "skipped": result.skipped, "partial": result.partial,
            "seconds": round(result.seconds, 3), "history": result.history}


async def train(root: Path, feature: object, report: Report) -> dict:
    """`codeintel train FEATURE` in a subprocess (the model work never runs in the server)."""
    if not isinstance(feature, str) or not feature:
        raise JsonRpcInvalidParams(f"codeintel.train needs a feature name, one of {', '.join(TRAINABLE)}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "codeintel", "train", feature, cwd=str(root), env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    lines: list[str] = []
    try:
        assert proc.stdout is not None
        async for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").strip()
            if line:
                lines.append(line)
                report(line[:200], None)
        code = await proc.wait()
    except asyncio.CancelledError:
        proc.terminate()
        await proc.wait()
        raise
    tail = "\n".join(lines[-5:])
    if code == 0:
        return {"ok": True, "message": tail or f"trained {feature}"}
    return {"ok": False, "message": f"codeintel train {feature} exited {code}: {tail}".strip()}


def report(root: Path, options: object) -> dict:
    """codeintel.report: the report as JSON, or written as .codeintel/report.html."""
    options = options if isinstance(options, dict) else {}
    fmt = options.get("format", "html")
    if fmt not in ("html", "json"):
        raise JsonRpcInvalidParams(f"codeintel.report: format must be html or json, not {fmt!r}")
    try:
        from codeintel.report import build_report, render_html
    except ImportError as exc:
        raise JsonRpcInternalError(f"the report is not available in this codeintel ({exc})") from None
    from codeintel.store import STORE_DIR, StoreError
    from codeintel.store.files import write_text_atomic

    try:
        data = build_report(root)
        if fmt == "json":
            return json.loads(json.dumps(data, default=str))
        target = root / STORE_DIR / "report.html"
        write_text_atomic(target, render_html(data))      # never through a link a repository committed
    except StoreError as exc:
        raise JsonRpcInternalError(f"codeintel.report: {exc}") from None
    return {"path": str(target)}


def install_merge_driver(root: Path) -> dict:
    from codeintel.merge.install import install

    try:
        return {"ok": True, "message": "\n".join(install(root, False))}
    except Exception as exc:  # noqa: BLE001 - InstallError or git's error: say it
        return {"ok": False, "message": str(exc)}
