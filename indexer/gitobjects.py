"""Reading git objects fast: this module owns the persistent ``git cat-file --batch-check`` /
``--batch`` processes that history mining reads commits and blobs through, pipelined (a whole
batch of ids written before the answers are read: one round trip per batch, not per object),
with GitPython's ``repo.odb.stream`` as the fallback for any failure."""
from __future__ import annotations

import subprocess
from typing import Optional

import git

from .gitcmd import git_command

MAX_BLOB_BYTES = 1 << 20          # blobs above this are not read (history mining skips them)


def git_exe() -> str:
    return git.Git.GIT_PYTHON_GIT_EXECUTABLE or "git"



class ObjectReader:
    """Pipelined object reads through persistent ``git cat-file --batch-check`` / ``--batch``
    processes: a whole list of ids is written before the answers are read, so a batch of
    commits costs one round trip instead of one per object. Any failure falls back to
    GitPython's ``repo.odb.stream`` one object at a time."""

    CHUNK = 512   # ids per write: 41 bytes each stays below the 64 KiB pipe buffer

    def __init__(self, repo: git.Repo):
        self.repo = repo
        self.procs: dict[str, object] = {}
        self.broken = False

    def _proc(self, mode: str):
        proc = self.procs.get(mode)
        if proc is None:
            proc = self.procs[mode] = self.repo.git.execute(git_command("cat-file", f"--{mode}", exe=git_exe()),
                                                            as_process=True, istream=subprocess.PIPE)
        return proc

    def _ask(self, mode: str, ids: list[str]):
        proc = self._proc(mode)
        proc.stdin.write("".join(i + "\n" for i in ids).encode("ascii"))
        proc.stdin.flush()
        return proc.stdout

    @staticmethod
    def _header(line: bytes) -> Optional[tuple[bytes, int]]:
        parts = line.split()
        if len(parts) != 3 or not parts[2].isdigit():
            return None   # "<id> missing" / "ambiguous"
        return parts[1], int(parts[2])

    def headers(self, ids: list[str]) -> dict[str, Optional[tuple[bytes, int]]]:
        """id -> (type, size), or None when missing."""
        out: dict[str, Optional[tuple[bytes, int]]] = {}
        if self.broken:
            return out
        try:
            for i in range(0, len(ids), self.CHUNK):
                chunk = ids[i:i + self.CHUNK]
                stdout = self._ask("batch-check", chunk)
                for oid in chunk:
                    line = stdout.readline()
                    if not line:
                        raise OSError("git cat-file ended")
                    out[oid] = self._header(line)
        except Exception:
            self._break()
        return out

    def read(self, ids: list[str], max_blob: int = MAX_BLOB_BYTES) -> dict[str, Optional[bytes]]:
        """id -> content, or None when missing or a blob over ``max_blob`` (not kept)."""
        out: dict[str, Optional[bytes]] = {}
        if self.broken:
            return {oid: self._fallback(oid, max_blob) for oid in ids}
        try:
            for i in range(0, len(ids), self.CHUNK):
                chunk = ids[i:i + self.CHUNK]
                stdout = self._ask("batch", chunk)
                for oid in chunk:
                    line = stdout.readline()
                    if not line:
                        raise OSError("git cat-file ended")
                    head = self._header(line)
                    if head is None:
                        out[oid] = None
                        continue
                    kind, size = head
                    if kind == b"blob" and size > max_blob:
                        left = size + 1
                        while left > 0:
                            got = stdout.read(min(left, 1 << 20))
                            if not got:
                                raise OSError("git cat-file ended")
                            left -= len(got)
                        out[oid] = None
                        continue
                    data = stdout.read(size)
                    stdout.read(1)
                    if len(data) != size:
                        raise OSError("git cat-file ended")
                    out[oid] = data
        except Exception:
            self._break()
            for oid in ids:
                if oid not in out:
                    out[oid] = self._fallback(oid, max_blob)
        return out

    def _fallback(self, oid: str, max_blob: int) -> Optional[bytes]:
        try:
            ostream = self.repo.odb.stream(bytes.fromhex(oid))
        except Exception:
            return None
        if ostream.type == b"blob" and ostream.size > max_blob:
            while ostream.read(1 << 20):   # drain the batch pipe, keep nothing
                pass
            return None
        return ostream.read()

    def _break(self) -> None:
        self.broken = True
        self.close()

    def close(self) -> None:
        for proc in self.procs.values():
            try:
                proc.stdin.close()
            except Exception:
                pass
            try:
                proc.proc.wait(timeout=5)
            except Exception:
                try:
                    proc.proc.kill()
                    proc.proc.wait()
                except Exception:
                    pass
            for pipe in (proc.proc.stdout, proc.proc.stderr):
                try:
                    pipe.close()
                except Exception:
                    pass
        self.procs.clear()
