"""The learned clone encoder: `codeintel train clones` (SimCLR and MoCo, labelled corpus or the
repository's own functions), the saved model read back by the registry and the encoder, the
representations, and `codeintel eval clones` scoring the model beside the baselines. Tiny
configurations keep each training to seconds; quality is measured by `codeintel eval clones`."""
from __future__ import annotations

import json
import random
import textwrap
from pathlib import Path

import numpy as np
import pytest

from codeintel.clones.representation import words
from conftest import cli, cli_json, commit_all

TINY = ["--buckets", "512", "--dim", "16", "--epochs", "2", "--batch-size", "16", "--views", "1"]

# three "problems", each solved in several ways (names, loop kinds and constants vary)
_SOLUTIONS = {
    "sum": ["int main(){{int n,{v}=0,x;scanf(\"%d\",&n);for(int i=0;i<n;i++){{scanf(\"%d\",&x);{v}+=x;}}"
            "printf(\"%d\",{v});return 0;}}",
            "int main(){{int n,x,{v}=0;scanf(\"%d\",&n);while(n--){{scanf(\"%d\",&x);{v}=({v}+x);}}"
            "printf(\"%d\\n\",{v});}}"],
    "max": ["int main(){{int n,x,{v}=-1;scanf(\"%d\",&n);for(int i=0;i<n;i++){{scanf(\"%d\",&x);"
            "if(x>{v}){v}=x;}}printf(\"%d\",{v});}}",
            "int main(){{int n,{v},x;scanf(\"%d%d\",&n,&{v});for(int i=1;i<n;i++){{scanf(\"%d\",&x);"
            "{v}=x>{v}?x:{v};}}printf(\"%d\",{v});return 0;}}"],
    "reverse": ["#include <string.h>\nint main(){{char {v}[100];scanf(\"%s\",{v});for(int i=strlen({v})-1;i>=0;i--)"
                "putchar({v}[i]);return 0;}}",
                "#include <string.h>\nint main(){{char {v}[100];int k;scanf(\"%s\",{v});k=strlen({v});"
                "while(k>0){{k--;printf(\"%c\",{v}[k]);}}}}"],
}


def _corpus(path: Path, per_label: int = 8) -> Path:
    rng = random.Random(3)
    names = ["s", "total", "acc", "best", "m", "word", "buf", "t", "res", "val"]
    with path.open("w") as out:
        for label, templates in _SOLUTIONS.items():
            for i in range(per_label):
                code = templates[i % len(templates)].format(v=rng.choice(names))
                out.write(json.dumps({"id": f"{label}/{i}", "label": label, "code": code, "language": "cpp",
                                      "split": "train" if i < per_label - 2 else "valid"}) + "\n")
    return path


def test_representations_tokens_and_ast():
    src = b"int f(int a){ // note\n  for(int i=0;i<a;i++) a += 2; return a; }"
    tokens = words(src, "cpp", "tokens")
    ast = words(src, "cpp", "ast")
    assert tokens[:6] == ["int", "f", "(", "int", "a", ")"] and "// note" not in " ".join(tokens)
    assert "for_statement" in ast and "binary_expression" in ast and "(" not in ast
    assert set(w for w in tokens if w.isidentifier()) <= set(ast)     # the AST keeps every leaf name
    assert len(words(src, "cpp", "tokens", max_words=5)) == 5
    assert words(b"x = 1 +", "python", "tokens")          # a syntax error still gives a sequence
    assert words(b"foo bar(baz)", None, "tokens") == ["foo", "bar", "(", "baz", ")"]


@pytest.mark.parametrize("objective", ["simclr", "moco"])
def test_train_on_labelled_corpus_and_evaluate(tmp_path, objective):
    corpus = _corpus(tmp_path / "progs.jsonl")
    out = tmp_path / "model"
    summary = cli_json("train", "clones", "--corpus", corpus, "--split", "train", "--output", out,
                       "--objective", objective, "--lexical-dim", "0", *TINY, timeout=300)   # the learned part alone
    assert summary["counts"]["programs"] == 18 and summary["counts"]["labels"] == 3
    assert summary["counts"]["train"] + summary["counts"]["val"] == 18
    config = json.loads((out / "config.json").read_text())
    meta = json.loads((out / "meta.json").read_text())
    assert config["feature"] == "clones" and config["settings"]["objective"] == objective
    assert meta["transforms"]["held_out"] == ["for_while", "reorder"]
    assert meta["corpora"][0]["file"] == "progs.jsonl" and meta["corpora"][0]["split_used"] == "train"
    assert not list(out.glob("*.pt")) and not list(out.glob("*.bin"))

    from codeintel.clones.encoder import load_encoder

    encoder = load_encoder(out)
    codes = [b"int main(){return 0;}", b"int main(){return 0;}", b"def f(x):\n    return x\n"]
    emb = encoder.embed(codes, ["cpp", "cpp", "python"])
    assert emb.shape == (3, 16) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    assert np.allclose(emb[0], emb[1]) and not np.allclose(emb[0], emb[2])
    assert len(encoder.model_id) == 16 and encoder.model_id == load_encoder(out).model_id
    import torch

    from codeintel.models.bag_module import bag_from_config
    from codeintel.models.registry import load_state

    module = bag_from_config(encoder.config["encoder"])        # the training network, same weights
    module.load_state_dict({k: v.float() for k, v in load_state(out).items()})
    with torch.no_grad():
        reference = torch.nn.functional.normalize(module([encoder.features(c, "cpp") for c in codes]), dim=-1)
    assert np.allclose(encoder.embed(codes, ["cpp"] * 3), reference.numpy(), atol=1e-5)   # numpy = torch

    result = json.loads(cli("eval", "clones", "--labelled", corpus, "--split", "valid", "--model", out,
                            check=0).stdout)
    scores = result["retrieval"]["scores"]
    assert set(scores) >= {"tfidf", "winnowing", "model"} and "combined" not in scores
    assert 0 <= scores["model"]["map_at_r"] <= 1
    assert result["model"]["path"] == str(out)

    root = tmp_path / "pairs"
    root.mkdir()
    programs = [json.loads(line)["code"] for line in corpus.read_text().splitlines()]
    (root / "a.cpp").write_text(programs[0])
    (root / "b.cpp").write_text(programs[0].replace("scanf", "scanf ") + "\n// copied\n")
    (root / "c.cpp").write_text(programs[-1])
    (root / "pairs.csv").write_text("original,candidate,is_plagiarism,level\na.cpp,b.cpp,1,light\na.cpp,c.cpp,0,\n")
    plag = json.loads(cli("eval", "clones", "--pairs", root / "pairs.csv", "--root", root, "--model", out,
                          check=0).stdout)["plagiarism"]["scores"]
    assert {"fragments", "model", "combined"} <= set(plag) and plag["combined"]["roc_auc"]["light"] == 1.0
    baselines = json.loads(cli("eval", "clones", "--pairs", root / "pairs.csv", "--root", root, "--no-model",
                               check=0).stdout)
    assert baselines["model"] is None and "model" not in baselines["plagiarism"]["scores"]


def test_the_lexical_channel_is_fitted_beside_the_learned_vector_and_reused(tmp_path):
    """The lexical channel's IDF comes from the training programs and its weight from the
    validation labels; an embedding is both parts side by side, so its dot product is the
    weighted sum of the two cosines. `--encoder-from` keeps a model's learned encoder as it
    is and fits only the lexical channel."""
    from safetensors.numpy import load_file

    from codeintel.clones.encoder import load_encoder
    from codeintel.clones.contrastive import CloneTrainSettings, Program
    from codeintel.clones.encoder import unit_rows
    from codeintel.clones.lexical import DEFAULT_WEIGHT, WEIGHT_GRID, fit_lexical

    corpus = _corpus(tmp_path / "progs.jsonl", per_label=10)
    out = tmp_path / "model"
    summary = cli_json("train", "clones", "--corpus", corpus, "--split", "train", "--output", out,
                       "--lexical-dim", "64", *TINY, timeout=300)
    config = json.loads((out / "config.json").read_text())
    lexical = config["encoder"]["lexical"]
    # one validation label (of three): nothing to choose the weight by, the default stands
    assert lexical["dim"] == 64 and lexical["weight"] == summary["lexical_weight"] == DEFAULT_WEIGHT
    assert "val_map_at_r_with_lexical" not in summary
    weights = load_file(str(out / "model.safetensors"))
    assert weights["lexical.idf"].shape == (lexical["table"],) and weights["lexical.idf"].min() >= 1.0

    encoder = load_encoder(out)
    w = encoder.lexical_weight
    codes = [b"int main(){int n;scanf(\"%d\",&n);printf(\"%d\",n*2);}",
             b"int main(){int k;scanf(\"%d\",&k);printf(\"%d\",k+k);}", b"int f(){return 7;}"]
    emb = encoder.embed(codes, ["cpp"] * 3)
    assert emb.shape == (3, 16 + 64) and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-4)
    learned, lex = emb[:, :16] / np.sqrt(w), emb[:, 16:] / np.sqrt(1 - w)
    assert np.allclose(np.linalg.norm(learned, axis=1), 1, atol=1e-4)
    assert np.allclose(emb @ emb.T, w * learned @ learned.T + (1 - w) * lex @ lex.T, atol=1e-5)
    assert lex[0] @ lex[1] > lex[0] @ lex[2]   # shared scanf/printf n-grams count, the rare ones most

    # with two labels or more among the validation programs, the weight is the grid's best there
    records = [json.loads(line) for line in corpus.read_text().splitlines()]
    programs = [Program(r["code"].encode(), "cpp", r["label"]) for r in records]
    label_ids = {label: i for i, label in enumerate(sorted({r["label"] for r in records}))}
    split = [r["split"] for r in records]
    settings = CloneTrainSettings(**{k: config["settings"][k] for k in ("representation", "buckets", "dim", "ngrams")})
    fit = fit_lexical(programs, [i for i, s in enumerate(split) if s == "train"],
                      [i for i, s in enumerate(split) if s == "valid"], [label_ids[r["label"]] for r in records],
                      lambda rows: unit_rows(encoder.encoder(rows)), settings, 64)
    assert set(fit.val_scores) == set(WEIGHT_GRID) and fit.weight in WEIGHT_GRID
    assert fit.val_scores[fit.weight] == max(fit.val_scores.values())

    again = tmp_path / "again"
    summary2 = cli_json("train", "clones", "--corpus", corpus, "--split", "train", "--output", again,
                        "--encoder-from", out, "--lexical-dim", "32", "--lexical-weight", "0.5", timeout=300)
    assert summary2["steps"] == 0 and summary2["lexical_weight"] == 0.5
    reused = load_file(str(again / "model.safetensors"))
    assert all(np.array_equal(reused[k], weights[k]) for k in weights if not k.startswith("lexical."))
    meta = json.loads((again / "meta.json").read_text())
    assert "train clones" in meta["encoder_from"]["command"] and meta["corpora"][0]["file"] == "progs.jsonl"
    assert load_encoder(again).embed(codes, ["cpp"] * 3).shape == (3, 16 + 32)

    proc = cli("train", "clones", "--corpus", corpus, "--output", tmp_path / "x", "--encoder-from", out,
               "--lexical-dim", "0")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "lexical" in proc.stderr


def test_train_on_repository_functions_becomes_active(tmp_path, repo):
    rng = random.Random(5)
    for i in range(6):
        body = "\n".join(f"    v{j} = x * {rng.randint(1, 9)} + {j}\n    if v{j} > {j}:\n        x += v{j}"
                         for j in range(4))
        (repo / f"mod{i}.py").write_text(f"def work_{i}(x):\n{body}\n    return x\n\n\n"
                                         f"def other_{i}(items):\n    out = []\n    for it in items:\n"
                                         f"        if it not in out:\n            out.append(it * {i})\n"
                                         f"    return sorted(out)\n")
    commit_all(repo, "code")
    cli("index", repo, check=0)
    summary = cli_json("train", "clones", "--repo", repo, "--min-tokens", "5", *TINY, cwd=repo, timeout=300)
    assert summary["counts"]["programs"] == 12 and summary["counts"]["labels"] == 0
    assert (repo / ".codeintel" / "models" / "clones" / "model.safetensors").is_file()
    models = cli_json("models", cwd=repo)
    clones = next(f for f in models["features"] if f["feature"] == "clones")
    assert clones["active"]["source"] == "repository" and 0 <= clones["active"]["metrics"]["val_view_top1"] <= 1


def test_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    proc = cli("train", "clones", "--corpus", bad, "--output", tmp_path / "m", *TINY)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    few = tmp_path / "few.jsonl"
    few.write_text(json.dumps({"id": "a", "label": 1, "code": "int main(){}"}) + "\n")
    proc = cli("train", "clones", "--corpus", few, "--output", tmp_path / "m", *TINY)
    assert proc.returncode == 2 and "too few programs" in proc.stderr
    assert not (tmp_path / "m").exists()
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "todo.txt").write_text("keep me")
    proc = cli("train", "clones", "--corpus", _corpus(tmp_path / "progs.jsonl"), "--output", mine, *TINY)
    assert proc.returncode == 2 and "not a model" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert (mine / "todo.txt").read_text() == "keep me"           # nothing the user had is lost
    proc = cli("train", "clones", "--corpus", few, "--representation", "graph")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_a_damaged_clones_model_falls_back_to_fragments(tmp_path, repo):
    from test_clones import DISGUISED, ORIGINAL

    models = tmp_path / "builtin"
    (models / "clones").mkdir(parents=True)
    (models / "clones" / "config.json").write_text(json.dumps({"feature": "clones", "encoder": {"arch": "bag"}}))
    (models / "clones" / "meta.json").write_text("{}")
    (models / "clones" / "model.safetensors").write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    (repo / "a.py").write_text(ORIGINAL)
    (repo / "b.py").write_text(DISGUISED)
    env = {"CODEINTEL_BUILTIN_MODELS": str(models)}
    cli("index", repo, "--no-history", "-q", check=0, env=env)
    proc = cli("clones", repo, "--json", env=env)
    assert proc.returncode == 0 and "not usable" in proc.stderr and "Traceback" not in proc.stderr
    data = json.loads(proc.stdout)
    assert data["learned_model"] is None and data["groups"]
