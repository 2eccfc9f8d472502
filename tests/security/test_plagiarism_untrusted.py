"""`codeintel plagiarism` on untrusted submissions (issue #23): a submission's symbolic links
are never followed (nothing outside it reaches the terminal, the HTML page, the JSON or the
--keep archive), the HTML page carries the report's Content-Security-Policy and stays small on
deeply nested input, names and source lines reach the terminal escaped, and what is read from a
submission is bounded (file size, files per submission, no blocking on a FIFO)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from codeintel.report.html import CSP
from conftest import cli
from test_clones import ORIGINAL

SECRET = "SECRET-KEY-d41d8cd98f00b204"
CODE = ORIGINAL
# the same code, with the secret on a line inside the matched function
SECRET_CODE = CODE.replace("    acc = 0\n", f"    acc = 0  # {SECRET}\n")


def _plagiarism(*args, cwd):
    return cli("plagiarism", *args, "--no-learned", cwd=cwd, timeout=90, env={"COLUMNS": "300"})


def _class_with_links(tmp_path: Path) -> Path:
    """Two honest submissions and three that link to a secret elsewhere: a file link, a
    link to a folder inside a submission, and a submission that is itself a link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "key.py").write_text(SECRET_CODE)
    subs = tmp_path / "subs"
    for name in ("alice", "bob", "carol", "dave"):
        (subs / name).mkdir(parents=True)
    (subs / "alice" / "stats.py").write_text(CODE)
    (subs / "bob" / "stats.py").write_text(CODE)
    (subs / "carol" / "stats.py").symlink_to(outside / "key.py")
    (subs / "dave" / "lib").symlink_to(outside)
    (subs / "mallory").symlink_to(outside)
    return subs


def test_symbolic_links_in_submissions_are_not_followed(tmp_path):
    subs = _class_with_links(tmp_path)
    html_file, archive = tmp_path / "r.html", tmp_path / "archive.db"
    proc = _plagiarism(subs, "--show", "10", "--html", html_file, "--keep", archive, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert SECRET not in proc.stdout + proc.stderr
    assert "subs/alice" in proc.stdout and "def mean" in proc.stdout  # the honest pair is still shown
    assert "symbolic link" in proc.stdout  # each link is said to be skipped
    page = html_file.read_text()
    assert SECRET not in page and "subs/alice" in page
    assert SECRET.encode() not in archive.read_bytes()
    data = json.loads(_plagiarism(subs, "--json", cwd=tmp_path).stdout)
    assert SECRET not in json.dumps(data)
    files = {f for s in data["submissions"] for f in s["files"]}
    assert files == {"subs/alice/stats.py", "subs/bob/stats.py"}
    skipped = {s["path"]: s["reason"] for s in data["skipped"]}
    assert {"subs/carol/stats.py", "subs/dave/lib", "subs/mallory"} <= set(skipped)
    assert all("symbolic link" in skipped[p] for p in ("subs/carol/stats.py", "subs/dave/lib", "subs/mallory"))


def test_a_folder_named_on_the_command_line_may_be_a_link(tmp_path):
    """Like ls, a DIR the user typed is followed; only what is inside is not."""
    subs = _class_with_links(tmp_path)
    (tmp_path / "via").symlink_to(subs)
    data = json.loads(_plagiarism(tmp_path / "via", "--json", cwd=tmp_path).stdout)
    assert {s["name"] for s in data["submissions"]} == {"via/alice", "via/bob"}
    assert SECRET not in json.dumps(data)


def test_a_template_folder_link_is_not_followed(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "starter.py").write_text(CODE)
    template = tmp_path / "template"
    template.mkdir()
    (template / "starter.py").symlink_to(outside / "starter.py")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "a.py").write_text(CODE)
    (subs / "b.py").write_text(CODE)
    data = json.loads(_plagiarism(subs, "--template", template, "--json", cwd=tmp_path).stdout)
    assert data["template_fingerprints"] == 0   # the linked starter code was not read
    assert data["pairs"][0]["similarity"] > 0.9
    assert any(s["path"] == "template/starter.py" and "symbolic link" in s["reason"] for s in data["skipped"])


def test_html_page_has_the_report_csp_and_stays_small_on_deeply_nested_input(tmp_path):
    subs = tmp_path / "subs"
    depth = 100_000
    nested = "int f(){" + "{\n" * depth + "}\n" * depth + "}\n"   # 400 kB, 200,000 short lines
    for name in ("a", "b"):
        (subs / name).mkdir(parents=True)
        (subs / name / "m.c").write_text(nested)
    html_file = tmp_path / "r.html"
    proc = _plagiarism(subs, "--html", html_file, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    page = html_file.read_text()
    head = page.split("</head>")[0]
    assert f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' in head
    assert head.index("Content-Security-Policy") < head.index("<style>")
    size_in = 2 * len(nested)
    assert len(page) < size_in, (len(page), size_in)   # was 55x the input before the cap
    assert "not shown" in page   # the page says what it left out


def test_names_and_source_lines_reach_the_terminal_escaped(tmp_path):
    subs = tmp_path / "subs"
    evil = CODE.replace("    acc = 0\n", "    acc = 0  # \x1b]0;pwned\x07\x1b[2J\n")
    for name in ("clear\x1b[2J", "two\nlines", "[link=evil.example]x"):
        (subs / name).mkdir(parents=True)
        (subs / name / "m.py").write_text(evil)
    proc = _plagiarism(subs, "--show", "5", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout + proc.stderr
    assert "\x1b" not in out and "\x07" not in out
    assert "clear\\x1b[2J" in out and "two\\nlines" in out
    assert "[link=evil.example]x" in out   # shown as text, not taken as markup
    assert "\\x1b]0;pwned\\x07" in out   # the source line is shown, escaped


def test_a_huge_file_and_too_many_files_are_skipped_with_a_reason(tmp_path):
    from codeintel.clones.submissions import MAX_SUBMISSION_FILES

    subs = tmp_path / "subs"
    for name in ("a", "b", "many"):
        (subs / name).mkdir(parents=True)
        (subs / name / "m.py").write_text(CODE)
    (subs / "a" / "huge.py").write_text("x = 1\n" * 400_000)   # 2.4 MB
    for n in range(MAX_SUBMISSION_FILES + 5):
        (subs / "many" / f"f{n:05}.py").write_text(f"v{n} = {n}\n")
    data = json.loads(_plagiarism(subs, "--json", cwd=tmp_path).stdout)
    by_name = {s["name"]: s for s in data["submissions"]}
    assert by_name["subs/a"]["files"] == ["subs/a/m.py"]
    assert len(by_name["subs/many"]["files"]) == MAX_SUBMISSION_FILES
    skipped = {s["path"]: s["reason"] for s in data["skipped"]}
    assert "size limit" in skipped["subs/a/huge.py"]
    assert "files" in skipped["subs/many"] and "not read" in skipped["subs/many"]


def test_a_fifo_in_a_submission_does_not_block_the_run(tmp_path):
    subs = tmp_path / "subs"
    for name in ("a", "b"):
        (subs / name).mkdir(parents=True)
        (subs / name / "m.py").write_text(CODE)
    os.mkfifo(subs / "a" / "pipe.py")
    os.mkfifo(subs / "fifo.py")
    data = json.loads(_plagiarism(subs, "--json", cwd=tmp_path).stdout)
    assert data["pairs"][0]["similarity"] > 0.9
    skipped = {s["path"]: s["reason"] for s in data["skipped"]}
    assert "not a regular file" in skipped["subs/a/pipe.py"] and "not a regular file" in skipped["subs/fifo.py"]
