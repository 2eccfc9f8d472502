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
