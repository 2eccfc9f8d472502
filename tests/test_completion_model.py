"""Completion's model and evaluation: the Fusion-in-Decoder, `train completion`, `eval completion`."""
from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from completion_repo import FILES, write_repo
from conftest import cli, cli_json

from codeintel.completion.evaluate import (cut_cases, edit_similarity, identifier_f1, is_test_path, levenshtein,
                                           read_cases, score)
from codeintel.completion.fid import target_of


def test_metrics():
    assert levenshtein("kitten", "sitting") == 3 and levenshtein("", "abc") == 3
    assert edit_similarity("abc", "abc") == 1.0 and edit_similarity("", "") == 1.0
    assert edit_similarity("abcd", "abxd") == 0.75
    assert identifier_f1("foo(bar)", "foo(baz)") == 0.5 and identifier_f1("()", ")") == 1.0
    assert identifier_f1("x", "") == 0.0
    s = score("self.x)  \nmore", "self.x)")
    assert s["exact_match"] == 1.0 and s["edit_similarity"] == 1.0


def test_holes_are_seeded_and_reassemble_the_file():
    files = {k: v for k, v in FILES.items() if v}
    a = cut_cases(files, 3, random.Random(5))
    b = cut_cases(files, 3, random.Random(5))
    assert [c.id for c in a] == [c.id for c in b] and len(a) == 3 * len(files)
    for case in a:
        assert case.target.strip() and case.prefix + case.target + case.suffix == files[case.path]
        assert case.suffix == "" or case.suffix.startswith("\n")
        assert case.is_test == is_test_path(case.path)
    assert is_test_path("tests/test_square.py") and is_test_path("pkg/test_a.py") and not is_test_path("pkg/a.py")
    lines = ["    if x:", "        y = 1", "        z = 2", "", "        w = 3", "    done()"]
    assert target_of(lines, 0, 7) == "x:\n        y = 1\n        z = 2"
    assert target_of(lines, 1, 8) == "y = 1"


@pytest.fixture(scope="module")
def fixture_repo(tmp_path_factory) -> Path:
    root = write_repo(tmp_path_factory.mktemp("model") / "repo")
    cli("index", root, "--no-history", "-q", check=0)
    return root


def test_fusion_in_decoder_encodes_passages_separately_and_learns():
    import torch

    from codeintel.models.fid import build_fid

    torch.manual_seed(0)
    model, config = build_fid(50, size="tiny")
    assert config["kind"] == "encoder-decoder" and config["fid"]
    ids = torch.randint(6, 50, (2, 3, 7))
    mask = torch.ones_like(ids)
    model.eval()
    states, flat = model.encode(ids, mask)
    assert states.shape[:2] == (2, 21) and flat.shape == (2, 21)
    changed = ids.clone()
    changed[:, 1] = torch.randint(6, 50, (2, 7))
    again, _ = model.encode(changed, mask)
    assert torch.allclose(states[:, :7], again[:, :7], atol=1e-6)           # passage 0 unaffected by passage 1
    assert not torch.allclose(states[:, 7:14], again[:, 7:14])
    labels = torch.tensor([[7, 8, 9, 3], [10, 11, 3, -100]])
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    first = None
    for _ in range(60):
        loss = model(ids, mask, labels)
        first = first if first is not None else float(loss.detach())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert float(loss.detach()) < first / 3
    model.eval()
    seqs, scores = model.generate(ids, mask, max_new_tokens=5, num_beams=2, num_return_sequences=2, eos_token_id=3)
    assert seqs.shape[0] == 4 and scores.shape == (4,)
    greedy, _ = model.generate(ids[:1], mask[:1], max_new_tokens=5, eos_token_id=3)
    assert greedy[0, 1:4].tolist() == [7, 8, 9]                            # it learned the first target


def test_train_completion_installs_a_model_only_when_it_is_not_behind(fixture_repo, tmp_path, monkeypatch):
    env = {"CODEINTEL_BUILTIN_MODELS": str(tmp_path / "no-builtin")}
    args = ["train", "completion", "--repo", fixture_repo, "--from-scratch", "--size", "tiny", "--vocab-size", "400",
            "--per-file", "6", "--max-examples", "40", "--epochs", "2", "--passages", "3", "--judge-cases", "30"]
    model_dir = fixture_repo / ".codeintel" / "models" / "completion"
    rejected = model_dir.parent / "completion.rejected"
    # a tiny model after 40 holes does not improve on the matcher's answer: kept aside
    summary = cli_json(*args, env=env, timeout=300)
    verdict = summary["judged"]
    assert verdict["cases"] > 0 and set(verdict) >= {"model", "in_file_proposals"}    # no ranker: the matcher's order
    new, rival = verdict["model"], verdict["in_file_proposals"]
    # what completion would answer with it (its text, or the matcher's when it says nothing) must
    # be at least as good as the matcher's and better in one of the two
    assert verdict["passed"] == (new["exact_match"] >= rival["exact_match"]
                                 and new["edit_similarity"] >= rival["edit_similarity"] and new != rival)
    assert not verdict["passed"] and not summary["installed"]
    assert Path(summary["model"]) == rejected and not model_dir.exists()
    meta = json.loads((rejected / "meta.json").read_text())
    assert meta["metrics"]["validation_rest_of_line"] == verdict and meta["counts"]["train"] > 0
    listed = cli_json("models", "--repo", fixture_repo, env=env)
    completion = next(f for f in listed["features"] if f["feature"] == "completion")
    assert completion["active"] is None
    data = cli_json("complete", f"{fixture_repo}/pkg/square.py:10:16", env=env)
    assert {s["source"] for s in data["suggestions"]} <= {"fallback:retrieval", "fallback:identifiers"}
    proc = cli(*args, env=env, timeout=300)
    assert "not installed" in proc.stdout and "--keep-anyway" in proc.stdout
    assert "no completion model to start from" in proc.stderr and "train completion-ranker" in proc.stderr
    assert ("behind the matcher's continuation" in proc.stdout) != ("no better than the matcher's continuation" in proc.stdout)
    # a mistyped --output is refused before any training, and what the folder held stays
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("mine")
    proc = cli(*args, "--output", mine, env=env, timeout=300, check=2)
    assert "holds files that are not a model's" in proc.stderr and "building proposals" not in proc.stderr
    assert [p.name for p in mine.iterdir()] == ["todo.txt"] and (mine / "todo.txt").read_text() == "mine"
    # --keep-anyway installs it; completion then uses it, also in a session (the server's) that
    # was answering without it
    from codeintel.completion import complete

    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", env["CODEINTEL_BUILTIN_MODELS"])
    text = (fixture_repo / "pkg/square.py").read_text()
    before = complete(fixture_repo, "pkg/square.py", text, 10, 15)
    assert before and all(s.source.startswith("fallback") for s in before)
    summary = cli_json(*args, "--keep-anyway", env=env, timeout=300)
    assert summary["installed"] and Path(summary["model"]) == model_dir
    assert {"model.safetensors", "config.json", "meta.json", "tokenizer.json"} <= {p.name for p in model_dir.iterdir()}
    meta = json.loads((model_dir / "meta.json").read_text())
    assert meta["training"]["fine_tuned_from"] is None and "best_val_loss" in meta["metrics"]
    listed = cli_json("models", "--repo", fixture_repo, env=env)
    completion = next(f for f in listed["features"] if f["feature"] == "completion")
    assert completion["active"]["source"] == "repository"
    after = complete(fixture_repo, "pkg/square.py", text, 10, 15)
    assert "repository-model" in {s.source for s in after} or "suggested nothing" in after[0].detail
    data = cli_json("complete", f"{fixture_repo}/pkg/square.py:10:16", env=env)
    sources = {s["source"] for s in data["suggestions"]}
    # an untrained model may well say nothing useful; whatever it says comes from the model or the
    # fallback names the model's silence
    assert sources <= {"repository-model", "fallback:retrieval", "fallback:identifiers"}
    if "repository-model" not in sources:
        assert "suggested nothing" in data["suggestions"][0]["detail"]
    # fine-tuning starts from the active model, and is judged against it too; --output saves
    # wherever the verdict falls
    again = cli_json("train", "completion", "--repo", fixture_repo, "--per-file", "2", "--max-examples", "8",
                     "--epochs", "1", "--judge-cases", "10", "--output", tmp_path / "tuned", env=env, timeout=300)
    assert Path(again["model"]) == tmp_path / "tuned" and again["installed"]
    assert "current_model" in again["judged"]
    tuned = json.loads((Path(again["model"]) / "meta.json").read_text())
    assert tuned["training"]["fine_tuned_from"] == str(model_dir)


class _Writes:
    """A completion model for ``judge``: writes what ``answer(rest of the line)`` returns."""

    def __init__(self, held, answer):
        self.held, self.answer = held, answer

    def predict(self, cursor, proposals, n=1, max_new_tokens=None):
        rest = self.held[cursor.rel_path][len(cursor.prefix):].split("\n", 1)[0].rstrip()
        return [(self.answer(rest), 1.0)]


def test_judge_installs_only_what_improves_on_the_answer_completion_gives_now():
    from codeintel.completion.train import judge

    held = {p: t for p, t in FILES.items() if p == "pkg/square.py"}
    context = {p: t for p, t in FILES.items() if p not in held}

    def verdict(answer, current=None):
        return judge(_Writes(held, answer), current and _Writes(held, current), None, context, held, 20, 0)

    right = verdict(lambda rest: rest)
    assert right["passed"] and right["cases"] > 0 and right["model"]["exact_match"] == 1.0
    assert right["in_file_proposals"]["exact_match"] < 1.0
    # silent: completion answers as without it, only slower
    silent = verdict(lambda rest: "")
    assert not silent["passed"] and silent["model"] == silent["in_file_proposals"] and "no better" in silent["why"]
    wrong = verdict(lambda rest: "zzz_not_it")
    assert not wrong["passed"] and wrong["why"] == "behind the matcher's continuation"
    # a model right on half the holes is behind a current model right on all of them
    half = verdict(lambda rest: rest if len(rest) % 2 else "zzz", current=lambda rest: rest)
    assert half["current_model"]["exact_match"] == 1.0 and not half["passed"] and "current model" in half["why"]


def test_eval_completion_reports_every_predictor_on_the_same_cases(fixture_repo, tmp_path):
    cases_file = tmp_path / "cases.jsonl"
    data = cli_json_eval("--repo", fixture_repo, "--holdout", "0.4", "--per-file", "4", "--no-model",
                         "--write-cases", cases_file)
    # the ranked predictor runs when a ranker is active (the built-in one, when it ships)
    ranked = {"ranked"} if data["ranker"] else set()
    assert set(data["metrics"]) == {"prefix_only", "in_file", "in_file_bm25", "in_file_proposals", "ngram"} | ranked
    n = data["cases"]
    assert n > 0 and all(m["all"]["n"] == n for m in data["metrics"].values())
    for m in data["metrics"].values():
        groups = m
        assert groups.get("test_files", {"n": 0})["n"] + groups.get("non_test_files", {"n": 0})["n"] == n
        assert 0 <= m["all"]["exact_match"] <= 1 and 0 <= m["all"]["edit_similarity"] <= 1
    assert not (fixture_repo / data["held_out_files"][0]).read_text() == ""
    cases = read_cases(cases_file)
    assert len(cases) == n and all(c.target for c in cases)
    # the same cases from the file, against a context directory without the held-out files
    context = tmp_path / "context"
    for rel, text in FILES.items():
        if rel not in data["held_out_files"]:
            (context / rel).parent.mkdir(parents=True, exist_ok=True)
            (context / rel).write_text(text)
    again = cli_json_eval("--cases", cases_file, "--repo", context, "--no-model")
    assert again["metrics"]["in_file"]["all"] == data["metrics"]["in_file"]["all"] | {
        "mean_latency_ms": again["metrics"]["in_file"]["all"]["mean_latency_ms"]}
    assert not (context / ".codeintel").exists()          # the context was indexed in a temporary copy
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"path": "a.py", "prefix": "x"}\n')
    proc = cli("eval", "completion", "--cases", bad, "--repo", context)
    assert proc.returncode == 2 and "bad.jsonl:1" in proc.stderr and "Traceback" not in proc.stderr
    proc = cli("eval", "completion", "--repo", tmp_path / "missing")
    assert proc.returncode == 2 and "no such directory" in proc.stderr


def cli_json_eval(*args):
    proc = cli("eval", "completion", *args, check=0, timeout=300)
    return json.loads(proc.stdout)
