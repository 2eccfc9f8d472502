"""The edits feature: abstraction, abstract edits, propagation (CLI, apply with hash check),
history-based suggestions, the time-split evaluation and a tiny model's training."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from codeintel.edits.abstraction import abstract, code_tokens, concretize, learn_idioms, parses, render, tokenize
from codeintel.edits.data import time_split
from codeintel.edits.patterns import apply_edit, learn_edit
from codeintel.edits.suggestion import apply_suggestions, functions_of
from conftest import cli, cli_json, commit_all, git, init_repo

BEFORE = "def load(url):\n    data = fetch(url)\n    return data\n"
AFTER = "def load(url):\n    data = fetch(url, timeout=10)\n    return data\n"


# ------------------------------------------------------------------------------ abstraction
def test_abstraction_types_ids_and_keeps_idioms():
    tokens = tokenize('def area(self, width):\n    return Shape.scale(width * 2, "cm")\n')
    a = abstract(tokens, idioms={"self", "2"})
    assert a.tokens[:7] == ["def", "METHOD_1", "(", "self", ",", "VAR_1", ")"]
    assert "TYPE_1" in a.tokens and "METHOD_2" in a.tokens and "STRING_1" in a.tokens
    assert "2" in a.tokens                           # an idiom stays as it is
    assert a.mapping["VAR_1"] == "width" and a.mapping["STRING_1"] == '"cm"'
    assert concretize(a.tokens, a.mapping) == [t.text for t in tokens]
    assert concretize(a.tokens + ["VAR_9"], a.mapping) is None      # an id the input never had


def test_after_shares_the_before_numbering_and_idioms_come_from_data():
    before, after = tokenize(BEFORE), tokenize(AFTER)
    a = abstract(before, idioms=set())
    b = abstract(after, idioms=set(), mapping=a.mapping)
    # the names both versions have keep their ids; what only the after has gets new ones
    assert b.tokens[:12] == a.tokens[:12] and b.tokens[-4:] == a.tokens[-4:]
    assert {k: b.mapping[k] for k in a.mapping} == a.mapping
    assert b.tokens[12:17] == [",", "VAR_3", "=", "NUMBER_1", ")"]
    assert (b.mapping["VAR_3"], b.mapping["NUMBER_1"]) == ("timeout", "10")
    idioms = learn_idioms([before, after, before], limit=2)
    assert set(idioms) <= {t.text for t in before + after} and len(idioms) == 2
    assert learn_idioms([before, after]) == []           # in fewer than 3 functions: not an idiom


def test_render_keeps_layout_and_writes_new_tokens_conventionally():
    before, after = tokenize(BEFORE), tokenize(AFTER)
    assert render(BEFORE, before, [t.text for t in before]) == BEFORE
    assert render(BEFORE, before, [t.text for t in after]) == AFTER
    assert parses(AFTER) and not parses("def f(:\n    pass\n")


# ------------------------------------------------------------------------------ abstract edits
def test_added_argument_applies_to_the_same_call_only():
    edit = learn_edit(tokenize(BEFORE), tokenize(AFTER))
    target = "def other(path):\n    x = fetch(path)\n    y = store(path)\n    return x, y\n"
    texts, confidence, places = apply_edit(edit, tokenize(target))
    assert places == 1 and confidence > 0.5
    assert render(target, tokenize(target), texts) == target.replace("fetch(path)", "fetch(path, timeout=10)")
    assert apply_edit(edit, tokenize("def g(p):\n    return store(p)\n")) is None


def test_rename_is_applied_to_every_use_in_the_function():
    before = "def wait(self, timeout):\n    sleep(timeout)\n    return timeout * 2\n"
    after = before.replace("timeout", "delay")
    edit = learn_edit(tokenize(before), tokenize(after))
    assert edit.rules[0].rename == ("timeout", "delay")
    target = "def poll(timeout, n):\n    for _ in range(n):\n        check(timeout)\n    return self.timeout\n"
    texts, _, places = apply_edit(edit, tokenize(target))
    out = render(target, tokenize(target), texts)
    assert places == 2 and "check(delay)" in out and "def poll(delay, n)" in out and "self.timeout" in out


# ------------------------------------------------------------------------------ propagation end to end
def _project(tmp_path: Path) -> Path:
    repo = init_repo(tmp_path / "proj")
    (repo / "api.py").write_text(BEFORE + "\n\ndef load_all(urls):\n    return [fetch(u) for u in urls]\n"
                                 "\n\ndef keep(url):\n    return store(url)\n", encoding="utf-8")
    (repo / "jobs.py").write_text("def run(job):\n    page = fetch(job.url)\n    return page\n", encoding="utf-8")
    commit_all(repo, "first")
    cli("index", repo, check=0)
    (repo / "api.py").write_text((repo / "api.py").read_text().replace("data = fetch(url)",
                                                                        "data = fetch(url, timeout=10)"))
    return repo


def test_propagate_proposes_the_users_edit_elsewhere_and_applies_it(tmp_path):
    repo = _project(tmp_path)
    found = cli_json("edits", "propagate", "--repo", repo)
    places = {(s["path"], s["qualname"]) for s in found}
    assert places == {("api.py", "load_all"), ("jobs.py", "run")}
    run = next(s for s in found if s["qualname"] == "run")
    assert "+    page = fetch(job.url, timeout=10)" in run["diff"] and run["confidence"] > 0.5
    assert run["start_line"] == 1 and "@@ -1,3 +1,3 @@" in run["diff"]
    load_all = next(s for s in found if s["qualname"] == "load_all")
    assert load_all["start_line"] == 6 and "@@ -6,2 +6,2 @@" in load_all["diff"]
    # the human view numbers them and shows diffs
    text = cli("edits", "propagate", "--repo", repo, check=0).stdout
    assert "1." in text and "timeout=10" in text
    # jobs.py changes after the suggestion was computed: it must be left alone
    (repo / "jobs.py").write_text("def run(job):\n    page = fetch(job.url)\n    return page  # mine\n")
    proc = cli("edits", "propagate", "--repo", repo, "--apply", "all", "--json", check=1)
    results = {r["qualname"]: r for r in json.loads(proc.stdout)}
    assert results["load_all"]["ok"] and not results["run"]["ok"]
    assert "changed since" in results["run"]["message"]
    assert (repo / "jobs.py").read_text().endswith("# mine\n")
    assert "[fetch(u, timeout=10) for u in urls]" in (repo / "api.py").read_text()
    assert parses((repo / "api.py").read_text())


def test_propagate_against_branch_merge_base_and_bad_refs(tmp_path):
    repo = _project(tmp_path)
    git(repo, "checkout", "-q", "-b", "feature")
    commit_all(repo, "the edit")
    found = cli_json("edits", "propagate", "--repo", repo, "--branch", "main")
    assert {s["qualname"] for s in found} == {"load_all", "run"}
    assert cli_json("edits", "propagate", "--repo", repo, check=1) == []      # nothing changed since HEAD
    proc = cli("edits", "propagate", "--repo", repo, "--against", "no-such-ref", check=2)
    assert proc.stderr.count("\n") == 1 and "not a commit" in proc.stderr
    proc = cli("edits", "propagate", "--repo", repo, "--branch", "main", "--apply", "7", check=2)
    assert "numbers from 1 to" in proc.stderr


def test_apply_refuses_overlaps_and_writes_atomically(tmp_path):
    from codeintel.edits.suggestion import make_suggestion

    path = tmp_path / "m.py"
    data = b"def a():\n    return 1\n\n\ndef b():\n    return 2\n"
    path.write_bytes(data)
    fa, fb = functions_of(data, "python")
    one = make_suggestion("m.py", data, fa, "def a():\n    return 10", 0.9, "propagation", "test")
    two = make_suggestion("m.py", data, fa, "def a():\n    return 11", 0.5, "propagation", "test")
    three = make_suggestion("m.py", data, fb, "def b():\n    return 20", 0.8, "propagation", "test")
    results = apply_suggestions(tmp_path, [one, two, three])
    assert [r.ok for r in results].count(True) == 2
    assert path.read_text() == "def a():\n    return 10\n\n\ndef b():\n    return 20\n"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ------------------------------------------------------------------------------ suggestions from history
def test_suggest_transfers_an_edit_from_the_history(tmp_path):
    repo = init_repo(tmp_path / "hist")
    (repo / "a.py").write_text("def get_user(client, uid):\n    resp = client.request('GET', uid)\n"
                               "    return resp.json()\n")
    commit_all(repo, "one", date="2024-01-01T00:00:00")
    (repo / "a.py").write_text("def get_user(client, uid):\n    resp = client.request('GET', uid, retries=3)\n"
                               "    return resp.json()\n")
    commit_all(repo, "two", date="2024-01-02T00:00:00")
    cli("index", repo, check=0)
    (repo / "b.py").write_text("def get_team(client, tid):\n    resp = client.request('GET', tid)\n"
                               "    return resp.json()\n")
    found = cli_json("edits", "suggest", repo / "b.py")
    assert found and found[0]["source"] == "nearest-neighbour" and found[0]["qualname"] == "get_team"
    assert "client.request('GET', tid, retries=3)" in found[0]["after"]
    proc = cli("edits", "suggest", repo / "missing.py", check=2)
    assert "no such file" in proc.stderr
    # without FILE: the files changed since HEAD (b.py is new and untracked, a.py unchanged)
    assert cli_json("edits", "suggest", "--repo", repo, check=1) == []


def test_train_and_eval_refuse_a_history_without_changes(tmp_path):
    repo = init_repo(tmp_path / "empty")
    (repo / "a.py").write_text("def f():\n    return 1\n")
    commit_all(repo, "one")
    cli("index", repo, check=0)
    for args in (("train", "edits", "--repo", repo), ("eval", "edits", "--repo", repo)):
        proc = cli(*args, check=2)
        assert proc.stderr.strip() == "codeintel: no modified functions in the data"


# ------------------------------------------------------------------------------ evaluation
def _corpus(path: Path, n_commits: int = 12) -> Path:
    rows = []
    for k in range(n_commits):
        date = f"2020-01-{k + 1:02d}"
        for j in range(2):
            name = f"f{k}_{j}"
            rows.append({"repo": "o/r" if k % 2 else "o/s", "commit": f"c{k}", "commit_time": 1577836800 + k * 86400,
                         "date": date, "path_after": "m.py", "qualname": name,
                         "before": f"def {name}(x):\n    return call(x)\n",
                         "after": f"def {name}(x):\n    return call(x, strict=True)\n"})
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def test_time_split_keeps_commits_together():
    pairs = [{"repo": "r", "commit": c, "date": d} for c, d in [("a", "2020-01-01"), ("a", "2020-01-01"),
                                                                  ("b", "2020-02-01"), ("c", "2020-03-01")]]
    train, test = time_split(pairs, "2020-02-01")
    assert [p["commit"] for p in train] == ["a", "a"] and {p["commit"] for p in test} == {"b", "c"}
    train, test = time_split(pairs + [{"repo": "h", "commit": "z", "date": "2020-03-01"}], "2020-02-01", {"h"})
    assert {p["commit"] for p in test} == {"z"}


def test_eval_edits_reports_baselines_and_propagation(tmp_path):
    data = _corpus(tmp_path / "c.jsonl.gz")
    out = json.loads(cli("eval", "edits", "--data", data, "--cut", "2020-01-09", "--no-model", check=0).stdout)
    assert out["train_pairs"] == 16 and out["test_pairs"] == 8
    nn, copy = out["suggestion"]["nearest_neighbour"]["small"], out["suggestion"]["copy"]["small"]
    assert nn["exact_match_top1"] == 1.0 and copy["exact_match_top1"] == 0.0 and copy["cases"] == 8
    assert 0 < copy["edit_similarity"] < 1
    prop = out["propagation"]["curve"][0]
    assert prop["precision"] == 1.0 and prop["recall"] == 1.0
    proc = cli("eval", "edits", "--data", tmp_path / "nope.jsonl", check=2)
    assert "no such file" in proc.stderr
    proc = cli("eval", "edits", "--data", data, "--cut", "yesterday", check=2)
    assert "not a date" in proc.stderr


def test_train_edits_tiny_model_then_eval_uses_it(tmp_path):
    data = _corpus(tmp_path / "c.jsonl.gz", n_commits=20)
    target = tmp_path / "model"
    out = cli_json("train", "edits", "--data", data, "--cut", "2020-01-17", "--size", "tiny", "--epochs", "2",
                   "--output", target, "--eval-cases", "4", timeout=300)
    assert out["train_pairs"] > 0 and (target / "model.safetensors").is_file()
    meta = json.loads((target / "meta.json").read_text())
    assert "exact_match_top1" in meta["metrics"]["test"] and "nearest_neighbour" in meta["metrics"]["baselines"]
    assert list(meta["metrics"])[0] == "test"     # the model's own figures first: `codeintel models` shows them
    config = json.loads((target / "config.json").read_text())
    assert config["feature"] == "edits" and "idioms" in config
    result = json.loads(cli("eval", "edits", "--data", data, "--cut", "2020-01-17", "--model", target,
                            "--max-cases", "4", check=0, timeout=300).stdout)
    assert result["model"] == str(target) and result["suggestion"]["model"]["all"]["cases"] == 4


def test_report_section_lists_the_propagation_and_sarif_carries_it(tmp_path):
    repo = _project(tmp_path)
    data = json.loads(cli("report", repo, "--section", "edits", "--json", check=0).stdout)["sections"]["edits"]
    assert data["suggestions_total"] == 2 and data["modified_functions"] == 0
    assert {s["qualname"] for s in data["suggestions"]} == {"load_all", "run"}
    sarif_path = tmp_path / "out.sarif"
    cli("report", repo, "--section", "edits", "--sarif", sarif_path, check=0)
    results = json.loads(sarif_path.read_text())["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"codeintel/suggested-edit"} and len(results) == 2
    where = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert where == {"api.py", "jobs.py"}
    text = cli("report", repo, "--section", "edits", check=0).stdout
    assert "where your uncommitted edit applies too (2)" in text


@pytest.mark.parametrize("language,before,after,target,expected", [
    ("javascript", "function load(url) {\n  return fetch(url);\n}\n", "function load(url) {\n  return fetch(url, 5);\n}\n",
     "function run(job) {\n  const p = fetch(job.url);\n  return p;\n}\n", "fetch(job.url, 5)"),
    ("go", "func Load(url string) error {\n\treturn fetch(url)\n}\n", "func Load(url string) error {\n\treturn fetch(url, 10)\n}\n",
     "func Run(j Job) error {\n\tp := fetch(j.url)\n\treturn p\n}\n", "p := fetch(j.url, 10)"),
])
def test_other_languages_tokenize_and_propagate(language, before, after, target, expected):
    edit = learn_edit(tokenize(before, language), tokenize(after, language))
    tokens = tokenize(target, language)
    texts, _, _ = apply_edit(edit, tokens)
    out = render(target, tokens, texts, language)
    assert expected in out and parses(out, language)
    assert "METHOD_1" in abstract(tokens).tokens
