"""References over stdio on a multi-file repository whose lines mix ASCII, accented letters,
emoji and CRLF endings: every use at the right line and column in the negotiated units (UTF-16 by
default, UTF-32 and UTF-8 when the client asks), the open buffer's unsaved uses included; the
answer streamed as LSP partial results ($/progress batches) when the client sends a
partialResultToken; the ``references.maxResults`` setting."""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from lsprotocol import types as lsp

from conftest import cli, commit_all, init_repo
from lsp_support import RawClient, lsp_session, open_doc, uri

pytestmark = pytest.mark.timeout(120)

# `compute` stands after 1-, 2- and 4-byte characters (the emoji is 2 UTF-16 units), twice on a
# line, never in a string or comment (the index records identifiers, not text)
FILES = {
    "pkg/__init__.py": "",
    "pkg/calc.py": ('GREETING = "héllo"; value = compute(1)\n'
                    "\n"
                    "def compute(x):\n"
                    '    """Ça marche 😀."""\n'
                    "    return x\n"
                    "\n"
                    'label = "😀😀"; twice = compute(compute(2))\n'),
    "pkg/crlf.py": 'from pkg.calc import compute\r\nprice = "€5"; total = compute(5)\r\n\r\nz = compute\r\n',
    "app.py": ("from pkg.calc import compute\n"
               "\n"
               "def main():\n"
               '    name = "Zoë 🐍"; return compute(len(name))\n'),
    "plain.py": "import pkg.calc\n\nresult = pkg.calc.compute(3) + pkg.calc.compute(4)\n",
}
NAME = "compute"


def _repo(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "repo")
    for rel, text in FILES.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(text.encode("utf-8"))
    commit_all(repo, "calc")
    cli("index", repo, "--quiet", check=0)
    return repo


def _units(text: str, encoding: str) -> int:
    if encoding == "utf-8":
        return len(text.encode("utf-8"))
    if encoding == "utf-32":
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def expected_uses(repo: Path, texts: dict[str, str], name: str = NAME, encoding: str = "utf-16") -> list:
    """Every whole-word occurrence of ``name``, worked out from the texts alone."""
    out = []
    for rel, text in texts.items():
        for number, line in enumerate(text.replace("\r\n", "\n").split("\n")):
            for match in re.finditer(rf"\b{name}\b", line):
                start = _units(line[:match.start()], encoding)
                out.append((uri(repo / rel), number, start, number, start + _units(name, encoding)))
    return sorted(out)


def _tuples(locations) -> list:
    return sorted((loc.uri, loc.range.start.line, loc.range.start.character,
                   loc.range.end.line, loc.range.end.character) for loc in locations)


def _json_tuples(locations: list[dict]) -> list:
    return sorted((loc["uri"], loc["range"]["start"]["line"], loc["range"]["start"]["character"],
                   loc["range"]["end"]["line"], loc["range"]["end"]["character"]) for loc in locations)


@pytest.mark.asyncio
async def test_every_use_at_utf16_columns_including_unsaved_ones(tmp_path):
    repo = _repo(tmp_path)
    async with lsp_session(repo) as client:
        doc = open_doc(client, repo / "app.py")
        line = FILES["app.py"].splitlines()[3]
        at = lsp.Position(3, _units(line[:line.index("compute")], "utf-16") + 2)
        params = lsp.ReferenceParams(text_document=lsp.TextDocumentIdentifier(doc), position=at,
                                     context=lsp.ReferenceContext(include_declaration=True))
        assert _tuples(await client.text_document_references_async(params)) == expected_uses(repo, FILES)

        # without the declaration: exactly one location fewer (the def's name)
        params.context = lsp.ReferenceContext(include_declaration=False)
        without = _tuples(await client.text_document_references_async(params))
        definition = (uri(repo / "pkg/calc.py"), 2, 4, 2, 11)
        assert definition not in without and len(without) == len(expected_uses(repo, FILES)) - 1

        # an unsaved edit of the open buffer: its new uses count, after a non-ASCII prefix
        edited = FILES["app.py"] + 'extra = "ñ😀"; more = compute(compute(0))\n'
        client.text_document_did_change(lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=doc, version=2),
            [lsp.TextDocumentContentChangeWholeDocument(text=edited)]))
        params.context = lsp.ReferenceContext(include_declaration=True)
        got = _tuples(await client.text_document_references_async(params))
        assert got == expected_uses(repo, {**FILES, "app.py": edited})


def _raw_session(repo: Path, encodings: list[str] | None = None, settings: dict | None = None,
                 nonblocking_stdout: bool = False) -> RawClient:
    """A byte-level client (partial results arrive as $/progress values that are lists, which
    pytest-lsp's client does not accept); ``settings``: its workspace/configuration answer."""
    client = RawClient(repo, answers={"workspace/configuration": [settings]}, nonblocking_stdout=nonblocking_stdout)
    capabilities = {"window": {"workDoneProgress": True}, "workspace": {"configuration": settings is not None}}
    if encodings:
        capabilities["general"] = {"positionEncodings": encodings}
    client.request(1, "initialize", {"processId": None, "rootUri": uri(repo), "capabilities": capabilities})
    client.init_result = client.response(1)["result"]
    client.notify("initialized", {})
    if settings is not None:    # the settings are read first, then the index is refreshed
        deadline = time.monotonic() + 30
        while not any(m.get("method") == "$/progress" and isinstance(m["params"]["value"], dict)
                      and m["params"]["value"].get("kind") == "end" for m in list(client.messages)):
            assert time.monotonic() < deadline, "the server never finished its start-up refresh"
            time.sleep(0.05)
    return client


def _references(client: RawClient, msg_id, path: Path, line: int, character: int, token=None) -> dict:
    params = {"textDocument": {"uri": uri(path)}, "position": {"line": line, "character": character},
              "context": {"includeDeclaration": True}}
    if token is not None:
        params["partialResultToken"] = token
    client.request(msg_id, "textDocument/references", params)
    return client.response(msg_id)


@pytest.mark.parametrize("encoding", ["utf-32", "utf-8"])
def test_columns_in_the_negotiated_encoding(tmp_path, encoding):
    repo = _repo(tmp_path)
    client = _raw_session(repo, [encoding])
    try:
        assert client.init_result["capabilities"]["positionEncoding"] == encoding
        answer = _references(client, 2, repo / "pkg/calc.py", 2, 5)
        assert _json_tuples(answer["result"]) == expected_uses(repo, FILES, encoding=encoding)
        assert client.close() == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()


BIG_USES = 2600      # more than two batches of the server's partial results


def _big_repo(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    repo = init_repo(tmp_path / "big")
    texts = {"lib.py": "def tick(n):\n    return n\n"}
    for i in range(13):       # 13 files of 200 uses each, some after non-ASCII text
        rows = [f'from lib import tick\n']
        rows += [(f'k{j} = "é😀"; tick({j})\n' if j % 7 == 0 else f"k{j} = tick({j})\n") for j in range(199)]
        texts[f"use_{i:02d}.py"] = "".join(rows)
    for rel, text in texts.items():
        (repo / rel).write_text(text, "utf-8")
    commit_all(repo, "many uses")
    cli("index", repo, "--quiet", check=0)
    return repo, texts


def test_partial_results_stream_every_location_in_batches(tmp_path):
    repo, texts = _big_repo(tmp_path)
    expected = expected_uses(repo, texts, "tick")
    assert len(expected) == BIG_USES + 1
    client = _raw_session(repo)
    try:
        whole = _references(client, 2, repo / "lib.py", 0, 5)["result"]
        assert _json_tuples(whole) == expected          # no partial token: one answer with all of them

        answer = _references(client, 3, repo / "lib.py", 0, 5, token="refs-1")
        assert answer["result"] == []                    # everything came as partial results
        batches = [m["params"]["value"] for m in client.messages
                   if m.get("method") == "$/progress" and m["params"]["token"] == "refs-1"]
        assert len(batches) >= 3 and all(batches)
        assert _json_tuples([loc for batch in batches for loc in batch]) == expected
        # the definition comes first, in a batch of its own, so an editor shows it at once
        assert _json_tuples(batches[0]) == [(uri(repo / "lib.py"), 0, 4, 0, 8)]
        # the batches arrived before the (empty) response
        order = [m.get("id") if "id" in m else m["params"]["token"] for m in client.messages
                 if m.get("id") == 3 or (m.get("method") == "$/progress" and m["params"]["token"] == "refs-1")]
        assert order[-1] == 3 and order.count("refs-1") == len(batches)

        # no use at all: a null answer and no batch
        client.request(4, "textDocument/references", {
            "textDocument": {"uri": uri(repo / "lib.py")}, "position": {"line": 1, "character": 0},
            "context": {"includeDeclaration": True}, "partialResultToken": "refs-2"})
        assert client.response(4)["result"] is None
        assert not [m for m in client.messages if m.get("method") == "$/progress" and m["params"]["token"] == "refs-2"]
        assert client.close() == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()


def test_max_results_setting_caps_the_answer(tmp_path):
    repo, texts = _big_repo(tmp_path)
    client = _raw_session(repo, settings={"references": {"maxResults": 250}})
    try:
        capped = _references(client, 2, repo / "lib.py", 0, 5)["result"]
        assert len(capped) == 250
        assert set(_json_tuples(capped)) <= set(expected_uses(repo, texts, "tick"))
        streamed = _references(client, 3, repo / "lib.py", 0, 5, token="t")
        assert streamed["result"] == []
        batches = [m["params"]["value"] for m in client.messages
                   if m.get("method") == "$/progress" and m["params"]["token"] == "t"]
        assert sum(map(len, batches)) == 250
        assert client.close() == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()


def test_large_answers_arrive_whole_when_the_servers_stdout_is_non_blocking(tmp_path):
    """A pipe made non-blocking by whoever shares it: a message larger than the pipe's buffer
    (this answer is about 350 KB) must still go out whole, not cut at 64 KB with the next
    message written into the middle of it."""
    repo, texts = _big_repo(tmp_path)
    client = _raw_session(repo, nonblocking_stdout=True)
    try:
        for msg_id in (2, 3, 4):
            answer = _references(client, msg_id, repo / "lib.py", 0, 5)
            assert _json_tuples(answer["result"]) == expected_uses(repo, texts, "tick")
        assert client.proc.poll() is None and client.close() == 0
    finally:
        if client.proc.poll() is None:
            client.proc.kill()


SCOPED = {
    "shapes.py": ("class Square:\n"
                  "    def area(self, scale):\n"
                  "        def grown(by):\n"
                  "            return self.side * scale * by\n"
                  "        return grown(2)\n"
                  "\n"
                  "    def side_of(self):\n"
                  "        return self.side\n"),
    "other.py": ("def scale(self):\n"
                 "    return self\n"
                 "\n"
                 "size = scale(None)\n"),
}


@pytest.mark.asyncio
async def test_a_parameters_references_stay_in_its_function(tmp_path):
    """`self`, a parameter, a closure's use of it: the answer is the uses inside the function
    that declares it, not every `self` of the repository; a name that is no parameter there
    (`scale` at module level in other.py) is still found in every file."""
    repo = init_repo(tmp_path / "repo")
    for rel, text in SCOPED.items():
        (repo / rel).write_text(text)
    commit_all(repo, "shapes")
    cli("index", repo, "--quiet", check=0)
    async with lsp_session(repo) as client:
        doc = open_doc(client, repo / "shapes.py")

        async def refs(line: int, character: int, path: str = "shapes.py") -> list:
            params = lsp.ReferenceParams(text_document=lsp.TextDocumentIdentifier(uri(repo / path)),
                                         position=lsp.Position(line, character),
                                         context=lsp.ReferenceContext(include_declaration=True))
            return _tuples(await client.text_document_references_async(params))

        here = uri(repo / "shapes.py")
        in_area = [(here, 1, 13, 1, 17), (here, 3, 19, 3, 23)]
        assert await refs(1, 14) == in_area                     # on the parameter
        assert await refs(3, 20) == in_area                     # on its use inside the closure
        assert await refs(7, 16) == [(here, 6, 16, 6, 20), (here, 7, 15, 7, 19)]   # the other method's
        assert await refs(1, 20) == [(here, 1, 19, 1, 24), (here, 3, 31, 3, 36)]   # `scale`, the parameter
        assert await refs(2, 19) == [(here, 2, 18, 2, 20), (here, 3, 39, 3, 41)]   # the closure's own `by`
        open_doc(client, repo / "other.py")
        elsewhere = await refs(3, 8, "other.py")                # `scale` the function: every file
        assert (uri(repo / "other.py"), 0, 4, 0, 9) in elsewhere and (here, 1, 19, 1, 24) in elsewhere
        assert doc
