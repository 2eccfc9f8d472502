"""The VS Code extension (vscode-client/) builds, passes its own tests and packages into a
.vsix, driven through npm in real subprocesses. Where this checkout has the language server
(`python -m codeintel lsp`), the extension's tests also drive it for real
(vscode-client/test/real-server.test.js). Skipped only where node/npm are missing and CI is
not "true" (in CI a missing toolchain fails)."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile

import pytest

from conftest import ROOT

CLIENT = ROOT / "vscode-client"
VSIX = CLIENT / "codeintel.vsix"


def _toolchain_or_skip() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if not missing:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{' and '.join(missing)} not installed; .ci/run installs them")
    pytest.skip(f"{' and '.join(missing)} not installed")


def _has_language_server() -> bool:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "codeintel", "lsp", "--help"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    return proc.returncode == 0


def _npm(*args: str, timeout: int, extra_env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false", "npm_config_audit": "false",
           **(extra_env or {})}
    proc = subprocess.run(["npm", *args], cwd=CLIENT, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"npm {' '.join(args)} exited {proc.returncode}\nstdout:\n{proc.stdout[-4000:]}\nstderr:\n{proc.stderr[-4000:]}"
    return proc


@pytest.mark.timeout(900)
def test_extension_builds_passes_its_tests_and_packages():
    _toolchain_or_skip()
    if not (CLIENT / "node_modules").is_dir():
        _npm("ci", timeout=600)
    VSIX.unlink(missing_ok=True)
    started = time.time()

    _npm("run", "build", timeout=300)
    compiled = CLIENT / "out" / "extension.js"
    assert compiled.is_file() and compiled.stat().st_mtime >= started - 1

    real_server = _has_language_server()
    server_env = {"CODEINTEL_TEST_PYTHON": sys.executable, "CODEINTEL_TEST_PYTHONPATH": str(ROOT)} if real_server else {}
    tests = _npm("test", timeout=300, extra_env=server_env)
    summary = dict(re.findall(r"^# (tests|pass|fail|skipped) (\d+)$", tests.stdout, re.MULTILINE))
    assert int(summary.get("fail", -1)) == 0, tests.stdout[-4000:]
    assert int(summary.get("pass", 0)) >= 40, f"expected the extension's unit tests to run: {summary}"
    if real_server:
        assert int(summary.get("skipped", -1)) == 0, f"the test against the real server did not run: {summary}"

    _npm("run", "package", timeout=300)
    assert VSIX.is_file() and VSIX.stat().st_mtime >= started - 1
    with zipfile.ZipFile(VSIX) as vsix:
        names = set(vsix.namelist())
        manifest = json.loads(vsix.read("extension/package.json"))
        packaged_entry = vsix.read("extension/out/extension.js")
        assert "extension/node_modules/vscode-languageclient/package.json" in names, "runtime dependency bundled"
        assert not any(n.startswith(("extension/src/", "extension/test/")) or n.endswith((".ts", ".map")) for n in names), \
            "sources, tests and maps are left out by .vscodeignore"
    source_manifest = json.loads((CLIENT / "package.json").read_text())
    assert manifest["name"] == source_manifest["name"] and manifest["version"] == source_manifest["version"]
    assert manifest["main"] == "./out/extension.js"
    assert packaged_entry == compiled.read_bytes()
    assert VSIX.stat().st_size < 2_000_000
