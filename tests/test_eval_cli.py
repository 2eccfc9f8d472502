"""`codeintel eval …` as a query command (issue #25): each subcommand accepts --json, and a
line of --cases that is not a usable case is skipped and counted instead of aborting the run."""
from __future__ import annotations

import json

import pytest

from conftest import cli

CASE = {"path": "shapes.py", "prefix": "def area(side):\n    return ", "suffix": "\n", "target": "side * side"}


@pytest.mark.parametrize("feature", ["merge", "clones", "completion", "edits", "sketch"])
def test_every_eval_accepts_json(feature):
    proc = cli("eval", feature, "--json", "--help")
    assert proc.returncode == 0 and "--json" in proc.stdout, proc.stderr


def test_eval_completion_skips_and_counts_unusable_cases(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "shapes.py").write_text("def area(side):\n    return side * side\n")
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps(CASE) + "\nnot json\n" + json.dumps({"path": "x.py"}) + "\n")
    proc = cli("eval", "completion", "--repo", repo, "--cases", cases, "--no-model", "--json", timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["skipped"]["cases"] == 2 and out["cases"] == 1, out["skipped"]
    assert any("not JSON" in why for why in out["skipped"]["why"])


def test_eval_clones_edits_and_sketch_skip_and_count_unusable_lines(tmp_path):
    """A bad line among good ones is counted in ``skipped`` and the run goes on (it stopped the
    run with exit 2 before); a file with nothing usable still says why, on one line."""
    programs = tmp_path / "labelled.jsonl"
    rows = [{"id": f"{label}/{i}", "label": label, "code": f"def f{i}(x):\n    return x {op} {i}\n", "language": "python"}
            for label, op in (("add", "+"), ("mul", "*")) for i in range(3)]
    programs.write_text("\n".join(map(json.dumps, rows[:3])) + "\nnot json\n{\"id\": 9}\n"
                        + "\n".join(map(json.dumps, rows[3:])) + "\n")
    out = json.loads(cli("eval", "clones", "--labelled", programs, "--no-model", check=0).stdout)
    assert out["retrieval"]["programs"] == 6 and out["skipped"]["programs"] == 2, out["skipped"]

    pairs = [{"repo": "o/r", "commit": f"c{k}", "commit_time": 1577836800 + k * 86400, "date": f"2020-01-{k + 1:02d}",
              "path_after": "m.py", "qualname": f"f{k}", "before": f"def f{k}(x):\n    return call(x)\n",
              "after": f"def f{k}(x):\n    return call(x, strict=True)\n"} for k in range(8)]
    corpus = tmp_path / "edits.jsonl"
    corpus.write_text("\n".join(map(json.dumps, pairs[:4])) + "\n{broken\n" + "\n".join(map(json.dumps, pairs[4:])) + "\n")
    out = json.loads(cli("eval", "edits", "--data", corpus, "--cut", "2020-01-06", "--no-model", check=0).stdout)
    assert out["train_pairs"] + out["test_pairs"] == 8 and out["skipped"]["lines"] == 1, out["skipped"]

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "shapes.py").write_text('def area(side):\n    """The area of a square."""\n    return side * side\n')
    case = {"path": "geometry.py", "requirement": "The perimeter of a square.", "signature": "def perimeter(side):",
            "prefix": "", "target": 'def perimeter(side):\n    """The perimeter of a square."""\n    return 4 * side\n'}
    cases = tmp_path / "sketch.jsonl"
    cases.write_text(json.dumps(case) + "\n" + json.dumps({"path": "x.py"}) + "\n"
                     + json.dumps({**case, "target": "def (\n"}) + "\n")
    proc = cli("eval", "sketch", "--repo", repo, "--cases", cases, "--no-model", timeout=300)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["skipped"]["cases"] == 2, out["skipped"]
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text(json.dumps({"path": "x.py"}) + "\n")
    proc = cli("eval", "sketch", "--repo", repo, "--cases", only_bad, "--no-model")
    assert proc.returncode == 2 and "bad.jsonl:1" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_eval_merge_skips_and_counts_unusable_records(tmp_path):
    """A line of a merge corpus that is not a JSON object was an internal error (exit 70)."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n[1, 2]\n")
    proc = cli("eval", "merge", "--data", bad)
    assert proc.returncode == 2 and "2 skipped" in proc.stderr and "bad.jsonl:1: not a JSON object" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    proc = cli("train", "merge", "--corpus", bad, "--output", tmp_path / "m")
    assert proc.returncode == 2 and "not a JSON object" in proc.stderr and "Traceback" not in proc.stderr
