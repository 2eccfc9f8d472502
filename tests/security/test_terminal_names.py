"""Issue #23: a file name (or a line of code) a repository commits never drives the terminal.
Names holding an escape sequence, a carriage return, a newline, a C1 control or a bidi override
come out of every query command, the report and ``--json`` escaped."""
from __future__ import annotations

from conftest import cli, commit_all, init_repo

EVIL = "evil\x1b[2J\x1b]0;pwned\x07\r\nfake\x9b\u202e.py"
RAW = ("\x1b", "\x07", "\r", "\x9b", "\u202e")


def _repo(tmp_path):
    repo = init_repo(tmp_path / "repo")
    (repo / EVIL).write_text('def handler():\n    """[red]styled[/red]"""\n    return "\x1b[31mred"\n\n\nanswer = handler()\n')
    (repo / "big\x1b[1m.py").write_text("x = 1\n" * 400_000)          # skipped: too large
    commit_all(repo, "names")
    cli("index", repo, "--quiet", check=0)
    return repo


def test_query_commands_and_the_report_escape_names_from_the_repository(tmp_path):
    repo = _repo(tmp_path)
    outputs = {}
    for args in (("symbols", "handler"), ("refs", "handler"), ("search", "handler"), ("stats",), ("report",),
                 ("symbols", "handler", "--json"), ("stats", "--json"), ("index", "--rebuild")):
        proc = cli(*args, cwd=repo, check=0)
        outputs[args] = proc.stdout + proc.stderr
        for raw in RAW:
            assert raw not in outputs[args], (args, raw, outputs[args][:400])
    assert "evil\\x1b[2J" in outputs[("symbols", "handler")]
    assert "\\u202e" in outputs[("symbols", "handler")] and "\\r\\n" in outputs[("symbols", "handler")]
    assert "\\x1b[31mred" in outputs[("search", "handler")]     # the line of code, escaped too
    assert "\\x1b[31mred" in outputs[("refs", "handler")] or "answer = handler()" in outputs[("refs", "handler")]
    assert "big\\x1b[1m.py" in outputs[("stats",)]
    assert "\\u001b" in outputs[("symbols", "handler", "--json")] and "\\u009b" in outputs[("symbols", "handler", "--json")]
