"""A real editor: headless Neovim (0.7+, its built-in LSP client) starts `codeintel lsp` on a
fixture repository, edits a buffer (Neovim sends the incremental changes), and asks for hover,
definition, references, completion and a code action; the results come back as JSON."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from lsp_support import APP, SHAPES, make_repo, position_of, server_env

pytestmark = pytest.mark.timeout(180)

CONFLICT = '''import os


def handler(request):
    value = request.get("k")
<<<<<<< HEAD
    result = compute_fast(value, 1, cache=True)
||||||| base
    result = compute(value, 1)
=======
    result = compute(value, 1 + 1)
>>>>>>> theirs
    return value
'''

LUA = r'''
local cfg = vim.fn.json_decode(vim.fn.readfile(os.getenv("CODEINTEL_NVIM_CONFIG"))[1])
local out = {}
local function finish()
  vim.fn.writefile({vim.fn.json_encode(out)}, cfg.output)
  vim.cmd("qa!")
end
local ok, err = pcall(function()
  local id = vim.lsp.start_client({
    cmd = cfg.cmd, cmd_env = cfg.env, root_dir = cfg.root, name = "codeintel",
    workspace_folders = {{uri = vim.uri_from_fname(cfg.root), name = "repo"}},
    settings = {codeintel = {merge = {threshold = 0.0}}},
    on_init = function(c)   -- Neovim 0.7 leaves sending the settings to the configuration
      c.notify("workspace/didChangeConfiguration", {settings = c.config.settings})
    end,
  })
  local client = vim.lsp.get_client_by_id(id)
  vim.cmd("edit " .. cfg.app)
  local buf = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(buf, id)
  out.initialized = vim.wait(20000, function() return client.initialized end, 50)

  local function ask(method, params, b)
    local answer = vim.lsp.buf_request_sync(b or buf, method, params, 20000)
    local r = answer and answer[id]
    if r == nil then return {timeout = true} end
    return {result = r.result, err = r.err}
  end
  local function at(line, col)   -- 1-based line, 0-based byte column, as Neovim's cursor
    vim.api.nvim_win_set_cursor(0, {line, col})
    return vim.lsp.util.make_position_params()
  end

  out.hover = ask("textDocument/hover", at(cfg.call_line, cfg.call_col))
  out.definition = ask("textDocument/definition", at(cfg.call_line, cfg.call_col))
  local p = at(cfg.ring_line, cfg.ring_col)
  p.context = {includeDeclaration = true}
  out.references = ask("textDocument/references", p)

  -- type in the buffer: Neovim sends incremental didChange notifications
  local last = vim.api.nvim_buf_line_count(buf)
  vim.api.nvim_buf_set_lines(buf, last, last, false, {"", "", "def later():", "    return make_s"})
  out.completion = ask("textDocument/completion", at(last + 4, 17))

  vim.cmd("edit " .. cfg.conflict)
  local cbuf = vim.api.nvim_get_current_buf()
  vim.lsp.buf_attach_client(cbuf, id)
  vim.wait(3000, function() return #vim.diagnostic.get(cbuf) > 0 end, 50)
  out.diagnostics = vim.diagnostic.get(cbuf)
  local range = {start = {line = cfg.separator_line, character = 0}, ["end"] = {line = cfg.separator_line, character = 0}}
  out.code_action = ask("textDocument/codeAction",
    {textDocument = {uri = vim.uri_from_bufnr(cbuf)}, range = range, context = {diagnostics = {}}}, cbuf)
  local actions = out.code_action.result or {}
  if actions[1] and actions[1].edit then
    vim.lsp.util.apply_workspace_edit(actions[1].edit, "utf-16")
    out.resolved = vim.api.nvim_buf_get_lines(cbuf, 0, -1, false)
  end
  vim.lsp.stop_client(id)
end)
if not ok then out.error = tostring(err) end
finish()
'''


def _nvim():
    path = shutil.which("nvim")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nvim is not installed (CI installs it: apt-get install -y neovim)")
        pytest.skip("nvim is not installed (apt-get install -y neovim)")
    return path


def test_neovim_drives_the_server(tmp_path):
    nvim = _nvim()
    repo = make_repo(tmp_path)
    (repo / "conflict.py").write_text(CONFLICT)
    call = position_of(APP, "make_shape(", offset=2)
    ring = position_of(APP, "Circle(2.0)")
    app_lines = APP.splitlines()
    config = {
        "cmd": [sys.executable, "-m", "codeintel", "lsp"],
        "env": {"PYTHONPATH": server_env()["PYTHONPATH"]},
        "root": str(repo), "app": str(repo / "app.py"), "conflict": str(repo / "conflict.py"),
        "output": str(tmp_path / "out.json"),
        # Neovim's cursor counts bytes: the call stands after "é😀" (6 bytes, 3 UTF-16 units)
        "call_line": call.line + 1, "call_col": len(app_lines[call.line][:app_lines[call.line].index("make_shape(") + 2].encode()),
        "ring_line": ring.line + 1, "ring_col": app_lines[ring.line].index("Circle"),
        "separator_line": CONFLICT.splitlines().index("======="),
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "test.lua").write_text(LUA)
    proc = subprocess.run([nvim, "--headless", "--noplugin", "-u", "NONE", "-i", "NONE", "-n",
                           "-c", f"luafile {tmp_path / 'test.lua'}"], cwd=repo, capture_output=True, text=True,
                          timeout=150, env={**os.environ, "CODEINTEL_NVIM_CONFIG": str(tmp_path / "config.json"),
                                            "PYTHONPATH": str(ROOT)})
    assert (tmp_path / "out.json").exists(), proc.stdout + proc.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert "error" not in out, out["error"]
    assert out["initialized"] is True

    hover = out["hover"]["result"]
    assert hover["contents"]["kind"] == "markdown"
    assert "def make_shape(kind: str) -> Shape" in hover["contents"]["value"]
    assert hover["range"]["start"] == {"line": call.line, "character": call.character - 2}   # UTF-16

    (definition,) = out["definition"]["result"]
    assert definition["uri"].endswith("/pkg/shapes.py")
    target = position_of(SHAPES, "make_shape")
    assert definition["range"]["start"] == {"line": target.line, "character": target.character}

    refs = sorted((r["uri"].rsplit("/", 1)[-1], r["range"]["start"]["line"]) for r in out["references"]["result"])
    assert ("app.py", ring.line) in refs and ("app.py", 0) in refs
    assert sum(1 for name, _ in refs if name == "shapes.py") == SHAPES.count("Circle")

    completion = out["completion"]["result"]
    items = completion["items"] if isinstance(completion, dict) else completion
    labels = [i["label"] for i in items]
    assert "make_shape" in labels, labels   # from the edited, unsaved buffer and the index
    assert all(i["data"]["source"] for i in items)

    assert len(out["diagnostics"]) == 1 and out["diagnostics"][0]["source"] == "codeintel"
    (action,) = out["code_action"]["result"]
    assert "edit" in action, action
    assert action["title"].startswith("Resolve conflicts with codeintel"), action
    resolved = "\n".join(out["resolved"]) + "\n"
    assert "<<<<<<<" not in resolved and "=======" not in resolved and ">>>>>>>" not in resolved
    assert resolved.startswith('import os\n\n\ndef handler(request):\n    value = request.get("k")\n')
    assert resolved.endswith("    return value\n")
