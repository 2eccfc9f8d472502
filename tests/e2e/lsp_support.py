"""Shared by the language-server tests: a small git repository with non-ASCII text, and a
pytest-lsp client connected to a real `codeintel lsp` process over stdio."""
from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

from lsprotocol import types as lsp
from pygls.uris import from_fs_path
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from conftest import ROOT, cli, commit_all, git, init_repo

SHAPES = '''"""Shapes and their areas."""


class Shape:
    """A shape with an area."""

    def area(self) -> float:
        """The area in square units."""
        return 0.0


class Circle(Shape):
    def __init__(self, radius):
        self.radius = radius

    def area(self) -> float:
        return 3.14159 * self.radius ** 2


def make_shape(kind: str) -> Shape:
    """Build a shape by name."""
    return Circle(1.0)
'''

UTIL = '''def make_shape(kind):
    """Another make_shape, in a module app.py does not import."""
    return None
'''

# the emoji is 4 UTF-8 bytes, 2 UTF-16 units and 1 code point: every unit differs after it
APP = '''from pkg.shapes import Circle, make_shape


def main():
    label = "é😀"; shape = make_shape("circle")
    ring = Circle(2.0)
    return shape.area() + ring.area()
'''


def make_repo(tmp_path: Path, index: bool = True) -> Path:
    repo = init_repo(tmp_path / "repo")
    (repo / "pkg").mkdir()
    (repo / "pkg" / "__init__.py").write_text("")
    (repo / "pkg" / "shapes.py").write_text(SHAPES, "utf-8")
    (repo / "pkg" / "util.py").write_text(UTIL, "utf-8")
    (repo / "app.py").write_text(APP, "utf-8")
    commit_all(repo, "shapes")
    if index:
        cli("index", repo, "--quiet", check=0)
    return repo


def indexed_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository at ``root`` holding ``files`` (path -> text), committed and indexed."""
    repo = init_repo(root)
    for rel, text in files.items():
        (repo / rel).write_text(text, "utf-8")
    commit_all(repo, "files")
    cli("index", repo, "--quiet", check=0)
    return repo


CONFLICT_BASE = 'import os\n\n\ndef handler(request):\n    value = request.get("k")\n    result = compute(value, 1)\n    return value\n'


def merge_conflict(repo: Path, name: str = "m.py") -> None:
    """Commit ``name`` (CONFLICT_BASE), change one line differently on a branch ``theirs`` and on
    the current branch, and merge: git leaves a diff3 conflict (ours 'HEAD', theirs 'theirs')."""
    git(repo, "config", "merge.conflictStyle", "diff3")
    current = git(repo, "symbolic-ref", "--short", "HEAD").strip()
    (repo / name).write_text(CONFLICT_BASE)
    commit_all(repo, "base")
    git(repo, "checkout", "-q", "-b", "theirs")
    (repo / name).write_text(CONFLICT_BASE.replace("compute(value, 1)", "compute(value, 1 + 1)"))
    commit_all(repo, "theirs")
    git(repo, "checkout", "-q", current)
    (repo / name).write_text(CONFLICT_BASE.replace("compute(value, 1)", "compute_fast(value, 1, cache=True)"))
    commit_all(repo, "ours")
    proc = subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x",
                               "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x"})
    assert proc.returncode != 0 and "|||||||" in (repo / name).read_text()


def uri(path: Path) -> str:
    return from_fs_path(str(path))


def position_of(text: str, needle: str, offset: int = 0, nth: int = 0) -> lsp.Position:
    """The LSP (UTF-16) position of the ``nth`` occurrence of ``needle`` (plus ``offset`` characters)."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += offset
    line = text.count("\n", 0, at)
    start = text.rfind("\n", 0, at) + 1
    return lsp.Position(line, len(text[start:at].encode("utf-16-le")) // 2)


def server_env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("CODEINTEL_DEBUG", None)
    return env


# runs a command with its stderr sent to a file (argv: file, command...): the server's stderr is read back
_STDERR_TO_FILE = ("import os, sys; fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600); "
                   "os.dup2(fd, 2); os.execvp(sys.argv[2], sys.argv[2:])")


def check_stderr(text: str, what: str = "the server") -> None:
    """A traceback in a server's stderr fails the test (the server must never crash or die noisily,
    not even at shutdown); the stderr is echoed so that the failure shows it."""
    if "Traceback" in text:
        sys.stderr.write(text)
        raise AssertionError(f"{what} wrote a traceback to its stderr:\n{text[-4000:]}")


@contextlib.asynccontextmanager
async def lsp_session(repo: Path, spec: str = "visual-studio-code", configuration: dict | None = None,
                      command: list[str] | None = None, initialization_options=None):
    """An initialized client talking to `codeintel lsp` over stdio; shut down on exit. The server's
    stderr goes to a file, and the session fails after shutdown if it holds a traceback."""
    import tempfile

    fd, log_path = tempfile.mkstemp(prefix="codeintel-lsp-", suffix=".stderr")
    os.close(fd)
    server_command = command or [sys.executable, "-m", "codeintel", "lsp"]
    config = ClientServerConfig(server_command=[sys.executable, "-c", _STDERR_TO_FILE, log_path, *server_command],
                                server_env=server_env())
    try:
        async with _started(config, repo, spec, configuration, initialization_options) as client:
            yield client
        check_stderr(Path(log_path).read_text("utf-8", "replace"))
    finally:
        os.unlink(log_path)


@contextlib.asynccontextmanager
async def _started(config: ClientServerConfig, repo: Path, spec: str, configuration: dict | None,
                   initialization_options):
    client: LanguageClient = await config.start()
    if configuration is not None:
        client.set_configuration(configuration)
    client.init_result = await client.initialize_session(lsp.InitializeParams(
        capabilities=client_capabilities(spec), root_uri=uri(repo),
        workspace_folders=[lsp.WorkspaceFolder(uri=uri(repo), name=repo.name)],
        initialization_options=initialization_options))
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            await client.shutdown_session()
        await client.stop()


async def until(predicate, timeout: float = 30.0):
    """Poll ``predicate`` until it returns something true (the server answers asynchronously)."""
    import asyncio

    for _ in range(int(timeout / 0.05)):
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("timed out waiting")


async def symbols_named(client: LanguageClient, query: str, tries: int = 50) -> list:
    """workspace/symbol until it finds something (index writes are asynchronous)."""
    import asyncio

    found = []
    for _ in range(tries):
        found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query=query))
        if found:
            break
        await asyncio.sleep(0.1)
    return found


def open_doc(client: LanguageClient, path: Path, text: str | None = None, language: str = "python",
             version: int = 1) -> str:
    text = path.read_text("utf-8") if text is None else text
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        lsp.TextDocumentItem(uri=uri(path), language_id=language, version=version, text=text)))
    return uri(path)


def tcp_listener(*args: str, env: dict | None = None):
    """`codeintel lsp --tcp 127.0.0.1:0 ARGS` started, and the port it says it listens on."""
    import re
    import subprocess

    proc = subprocess.Popen([sys.executable, "-m", "codeintel", "lsp", "--tcp", "127.0.0.1:0", *args],
                            env={**server_env(), **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = proc.stderr.readline().decode("utf-8", "replace")
    found = re.search(r"listening on [\d.]+:(\d+)", line)
    if found is None:
        proc.kill()
        raise AssertionError(f"the listener did not start: {line}{proc.stderr.read().decode()}")
    return proc, int(found.group(1))


def stop_listener(proc) -> None:
    """Stop a ``tcp_listener``; fails if it wrote a traceback."""
    proc.terminate()
    proc.wait(timeout=10)
    check_stderr(proc.stderr.read().decode("utf-8", "replace"), "the TCP listener")


def tcp_exchange(conn, message: dict | None = None, raw: bytes | None = None) -> dict | None:
    """Send a message (framed) or raw bytes on a socket; the next message back, None when the
    connection is closed instead."""
    import json

    from lsp.framing import frame, read_frame

    try:
        conn.sendall(raw if raw is not None else frame(json.dumps(message).encode()))
        with conn.makefile("rb") as stream:
            body = read_frame(stream)
    except (ConnectionResetError, BrokenPipeError):     # closed with our bytes unread
        return None
    return json.loads(body) if body else None


def initialize_message(repo: Path, msg_id=1, **options) -> dict:
    return {"jsonrpc": "2.0", "id": msg_id, "method": "initialize", "params": {
        "processId": None, "rootUri": uri(repo), "capabilities": {}, "initializationOptions": options}}


class RawClient:
    """`codeintel lsp` driven byte by byte: for malformed input that no LSP client library sends.
    Requests from the server (configuration, progress, registration) are answered with null, or
    with ``answers[method]`` when given."""

    def __init__(self, root: Path, answers: dict | None = None, nonblocking_stdout: bool = False):
        self.answers = answers or {}
        import subprocess
        import tempfile
        import threading

        self.stderr = tempfile.TemporaryFile()    # a file, not a pipe: nobody reads it until the end
        stdout = subprocess.PIPE
        if nonblocking_stdout:   # the server's end of its stdout pipe made non-blocking, as some parents do
            read_end, stdout = os.pipe()
            os.set_blocking(stdout, False)
        self.proc = subprocess.Popen([sys.executable, "-m", "codeintel", "lsp"], stdin=subprocess.PIPE,
                                     stdout=stdout, stderr=self.stderr, env=server_env(), cwd=root)
        if nonblocking_stdout:
            os.close(stdout)
            self.proc.stdout = os.fdopen(read_end, "rb")
        self.messages: list[dict] = []
        self._cond = threading.Condition()
        self._write_lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.root = root

    def _read(self) -> None:
        import json

        from lsp.framing import read_frame

        while True:
            body = read_frame(self.proc.stdout)
            if body is None:
                return
            message = json.loads(body)
            if "method" in message and "id" in message:   # a request from the server
                self.send({"jsonrpc": "2.0", "id": message["id"], "result": self.answers.get(message["method"])})
            with self._cond:
                self.messages.append(message)
                self._cond.notify_all()

    def send_bytes(self, body: bytes) -> None:
        from lsp.framing import frame

        with self._write_lock:     # the reader thread answers the server's requests meanwhile
            self.proc.stdin.write(frame(body))
            self.proc.stdin.flush()

    def send(self, message: dict) -> None:
        import json
        self.send_bytes(json.dumps(message).encode())

    def request(self, msg_id, method: str, params) -> None:
        self.send({"jsonrpc": "2.0", "id": msg_id, "method": method, "params": params})

    def notify(self, method: str, params) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def response(self, msg_id, timeout: float = 20.0) -> dict:
        import time
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for message in self.messages:
                    if message.get("id") == msg_id and "method" not in message:
                        return message
                left = deadline - time.monotonic()
                assert left > 0, f"no response to {msg_id!r} within {timeout}s (server alive: {self.proc.poll() is None})"
                self._cond.wait(left)

    def initialize(self) -> dict:
        self.request(1, "initialize", {"processId": None, "rootUri": uri(self.root), "capabilities": {
            "window": {"workDoneProgress": True}, "workspace": {"configuration": True}}})
        answer = self.response(1)
        self.notify("initialized", {})
        return answer

    def close(self) -> int:
        """Shut the server down; fails if it wrote a traceback to its stderr."""
        try:
            self.request("bye", "shutdown", None)
            self.response("bye", timeout=10)
            self.notify("exit", None)
            code = self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        self.stderr.seek(0)
        check_stderr(self.stderr.read().decode("utf-8", "replace"))
        return code


def decode_code_actions_as_such(client) -> None:
    """lsprotocol's client side decodes a CodeAction that carries a command as a Command (NOTES.md):
    tell the two apart by the shape of ``command``."""
    from typing import Union

    converter = client.protocol._converter

    def hook(obj, _type):
        is_action = isinstance(obj.get("command"), dict) or "kind" in obj or "edit" in obj
        return converter.structure(obj, lsp.CodeAction if is_action else lsp.Command)

    converter.register_structure_hook(Union[lsp.Command, lsp.CodeAction], hook)


def apply_text_edit(text: str, edit: lsp.TextEdit) -> str:
    """``text`` with ``edit`` applied (ASCII text: characters are UTF-16 units)."""
    lines = text.splitlines(keepends=True)

    def offset(pos: lsp.Position) -> int:
        return sum(len(l) for l in lines[:pos.line]) + pos.character
    return text[:offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end):]


def record_applied_edits(client) -> list:
    """Answer the server's workspace/applyEdit requests as applied, and return the list the
    edits they carried are appended to."""
    applied = []

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def apply_edit(params: lsp.ApplyWorkspaceEditParams):
        applied.append(params.edit)
        return lsp.ApplyWorkspaceEditResult(applied=True)

    return applied
