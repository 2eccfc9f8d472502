"""Model plumbing (codeintel/models): tokenizer, builders, the training loop (learning,
determinism, resume, early stopping, Ctrl-C, DDP under torchrun), the registry and the
`codeintel models` command."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from codeintel.models import registry  # noqa: E402
from codeintel.models.builders import (SIZES, build_decoder, build_encoder, build_encoder_decoder,  # noqa: E402
                                       count_parameters, model_from_config)
from codeintel.models.tokenizer import (DEFAULT_SPECIALS, load_tokenizer, save_tokenizer, special_id,  # noqa: E402
                                        train_tokenizer)
from codeintel.models.training import CheckpointMismatch, TrainConfig, train  # noqa: E402

from conftest import ROOT, cli, run_on_pty  # noqa: E402
from ddp_train_script import Classifier  # noqa: E402  (a feature-style module: encoder + head)

VOCAB = 20


# ------------------------------------------------------------------------------------- helpers
def make_classifier(seed: int = 0) -> Classifier:
    torch.manual_seed(seed)
    encoder, _ = build_encoder(VOCAB, "tiny", max_positions=16)
    return Classifier(encoder, SIZES["tiny"]["hidden"])


def contains_seven(n: int, seed: int = 1, noise: bool = False):
    """Sequences of ids 4..19; label: does 7 occur (or a coin flip when ``noise``)."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(4, VOCAB, (n, 10), generator=g)
    labels = torch.randint(0, 2, (n,), generator=g) if noise else (ids == 7).any(1).long()
    return list(zip(ids, labels))


def collate(items):
    return {"ids": torch.stack([x for x, _ in items]), "labels": torch.stack([y for _, y in items])}


def loss_fn(model, batch):
    return model(batch["ids"], batch["labels"])


def val_loss(model, data) -> float:
    model.eval()
    with torch.no_grad():
        value = float(loss_fn(model, collate(data)))
    model.train()
    return value


def same_weights(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def snapshot(model) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


DATA = contains_seven(260)
TRAIN, VAL = DATA[:200], DATA[200:]


def resume_config(checkpoint_dir, **kw) -> TrainConfig:
    # 200 examples / 16 = 13 batches per epoch, 39 steps; evaluated at 5, 10, ..., 35 and 39
    return TrainConfig(**{**dict(epochs=3, batch_size=16, lr=3e-3, eval_every_steps=5, patience=0, seed=2,
                                 checkpoint_dir=checkpoint_dir), **kw})


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference run the resume tests compare with."""
    model = make_classifier()
    result = train(model, TRAIN, VAL, collate, loss_fn, resume_config(tmp_path_factory.mktemp("ref")),
                   progress=False)
    return result, snapshot(model)


def history_losses(result, keys=("step", "val_loss", "train_loss", "lr")):
    return [{k: h[k] for k in keys} for h in result.history]


# ------------------------------------------------------------------------------------- imports
def test_cli_and_models_listing_do_not_import_torch(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    code = ("import sys, codeintel.cli; assert 'torch' not in sys.modules; "
            "from codeintel.cli import run; import codeintel.models.registry; "
            "assert run(['--help']) == 0 and run(['models', '--help']) == 0; "
            f"rc = run(['models', '--repo', {str(tmp_path)!r}, '--json']); "
            "assert rc == 0, rc; "
            "heavy = [m for m in ('torch', 'transformers', 'tokenizers', 'safetensors') if m in sys.modules]; "
            "assert not heavy, heavy")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------------------------- tokenizer
CODE = [
    "def add(a, b):\n    return a + b\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n\n    def push(self, x):\n"
    "        self.items.append(x)\n",
    "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\n",
    "if __name__ == '__main__':\n    main()\n",
] * 20


def test_tokenizer_round_trip_specials_and_save_load(tmp_path):
    tok = train_tokenizer(CODE, vocab_size=400, min_frequency=2, extra_special_tokens=["<ours>", "<theirs>"])
    assert [special_id(tok, s) for s in DEFAULT_SPECIALS] == list(range(len(DEFAULT_SPECIALS)))
    assert special_id(tok, "<ours>") == 6 and special_id(tok, "<theirs>") == 7
    with pytest.raises(KeyError):
        special_id(tok, "<nope>")
    samples = [
        "def add(a, b):\n    return a + b\n",
        "\tindented  with\ttabs   and  spaces   \n\n\n  trailing  \r\n",
        "x = {'k': [1, 2, 3]}  # comment\n    \n",
        "s = 'caf\u00e9 \u2192 \U0001F600'\n",      # not ASCII: byte-level still round-trips
        "",
    ]
    for text in samples:
        assert tok.decode(tok.encode(text).ids) == text
    # specials in text are single tokens
    ids = tok.encode("a<sep>b").ids
    assert special_id(tok, "<sep>") in ids
    # trained merges: common code words are single tokens
    assert len(tok.encode("    return").ids) <= 2
    saved = save_tokenizer(tok, tmp_path)
    assert saved == tmp_path / "tokenizer.json"
    for source in (tmp_path, saved):
        again = load_tokenizer(source)
        assert again.encode(samples[1]).ids == tok.encode(samples[1]).ids
        assert again.get_vocab_size() == tok.get_vocab_size()
    with pytest.raises(FileNotFoundError):
        load_tokenizer(tmp_path / "missing")


# ------------------------------------------------------------------------------------- builders
@pytest.mark.parametrize("builder, kw", [
    (build_encoder, {}),
    (build_encoder, {"arch": "bert", "head": "mlm"}),
    (build_decoder, {}),
    (build_encoder_decoder, {}),
    (build_encoder_decoder, {"arch": "bart"}),
], ids=["roberta", "bert-mlm", "gpt2", "t5", "bart"])
def test_builders_forward_and_rebuild(builder, kw):
    torch.manual_seed(0)
    model, config = builder(50, "tiny", max_positions=32, **kw)
    config = json.loads(json.dumps(config))            # JSON-serialisable
    assert config["parameters"] == count_parameters(model) > 0
    assert config["hidden"] == 64 and config["layers"] == 2
    ids = torch.randint(6, 50, (2, 12))
    ids[1, 9:] = 0                                     # padding
    mask = (ids != 0).long()
    if config["kind"] == "encoder" and config["head"] is None:
        out = model(input_ids=ids, attention_mask=mask).last_hidden_state
        assert out.shape == (2, 12, 64)
    else:
        out = model(input_ids=ids, attention_mask=mask, labels=ids)
        assert out.logits.shape == (2, 12, 50) and torch.isfinite(out.loss)
    rebuilt = model_from_config(config)
    shapes = lambda m: [(k, tuple(v.shape)) for k, v in m.state_dict().items()]  # noqa: E731
    assert shapes(rebuilt) == shapes(model)
    rebuilt.load_state_dict(model.state_dict())


def test_builder_overrides_and_errors():
    model, config = build_decoder(30, "tiny", hidden=32, heads=4, dropout=0.0, max_positions=64)
    assert config["hidden"] == 32 and config["transformers"]["n_head"] == 4
    assert config["transformers"]["resid_pdrop"] == 0.0 and config["transformers"]["n_positions"] == 64
    assert config["transformers"]["pad_token_id"] == 0
    model, enc = build_encoder(30, "tiny", type_vocab_size=6)  # any transformers config key
    assert enc["transformers"]["type_vocab_size"] == 6
    out = model(input_ids=torch.full((1, 5), 9), token_type_ids=torch.tensor([[1, 2, 3, 4, 5]]))
    assert out.last_hidden_state.shape == (1, 5, 64)
    assert model_from_config(enc).embeddings.token_type_embeddings.num_embeddings == 6
    with pytest.raises(ValueError):
        build_encoder(30, "huge")
    with pytest.raises(ValueError):
        build_encoder(30, "tiny", hidden=65)
    with pytest.raises(ValueError):
        model_from_config({"kind": "encoder"})
    assert set(SIZES) == {"tiny", "compact", "small", "base"}
    assert SIZES["small"] == {"hidden": 256, "layers": 4, "heads": 4, "ffn": 1024}


# ------------------------------------------------------------------------------------- training
def test_training_lowers_validation_loss_and_reports(tmp_path, capfd):
    model = make_classifier()
    before = val_loss(model, VAL)
    config = TrainConfig(epochs=4, batch_size=16, lr=3e-3, patience=0, checkpoint_dir=tmp_path / "ckpt")
    result = train(model, TRAIN, VAL, collate, loss_fn, config, progress=True)
    assert capfd.readouterr().err == ""                # not a terminal: no progress bar
    assert result.best_val_loss < 0.5 * before, (before, result.history)
    assert result.steps == 4 * 13 and result.epochs_run == 4 and not result.stopped_early
    assert [h["step"] for h in result.history] == [13, 26, 39, 52]
    assert result.seconds > 0 and result.resumed_from_step is None
    assert val_loss(model, VAL) == pytest.approx(result.best_val_loss, rel=1e-5)
    for name in ("model.safetensors", "optimizer.safetensors", "rng.safetensors", "state.json"):
        assert (tmp_path / "ckpt" / "last" / name).is_file()
    assert (tmp_path / "ckpt" / "best" / "model.safetensors").is_file()
    assert not list(tmp_path.glob("ckpt/*.pkl")) and not list(tmp_path.glob("ckpt/**/*.pt"))


def test_training_is_deterministic_by_seed():
    runs = []
    for seed in (7, 7, 8):
        model = make_classifier()
        config = TrainConfig(epochs=1, batch_size=16, lr=3e-3, eval_every_steps=4, patience=0, seed=seed)
        runs.append((history_losses(train(model, TRAIN, VAL, collate, loss_fn, config, progress=False)),
                     snapshot(model)))
    assert runs[0][0] == runs[1][0] and same_weights(runs[0][1], runs[1][1])
    assert runs[0][0] != runs[2][0]


def test_resume_after_max_steps_matches_uninterrupted_run(tmp_path, uninterrupted):
    ref_result, ref_weights = uninterrupted
    ckpt = tmp_path / "ckpt"
    first = train(make_classifier(), TRAIN, VAL, collate, loss_fn, resume_config(ckpt, max_steps=15),
                  progress=False)
    assert first.steps == 15 and first.history[-1]["step"] == 15
    state = json.loads((ckpt / "last" / "state.json").read_text())
    assert (state["step"], state["epoch"], state["batch_in_epoch"]) == (15, 1, 2)

    model = make_classifier(seed=123)          # other initial weights: the checkpoint replaces them
    second = train(model, TRAIN, VAL, collate, loss_fn, resume_config(ckpt), progress=False)
    assert second.resumed_from_step == 15 and second.steps == ref_result.steps == 39
    assert history_losses(second) == history_losses(ref_result)
    assert second.best_val_loss == ref_result.best_val_loss and second.best_step == ref_result.best_step
    assert same_weights(snapshot(model), ref_weights)

    # a finished run resumed again does nothing and gives the same result
    again = make_classifier(seed=5)
    third = train(again, TRAIN, VAL, collate, loss_fn, resume_config(ckpt), progress=False)
    assert third.steps == 39 and history_losses(third) == history_losses(ref_result)
    assert same_weights(snapshot(again), ref_weights)

    # resume=False starts over
    fresh = train(make_classifier(), TRAIN, VAL, collate, loss_fn, resume_config(ckpt, max_steps=5),
                  progress=False, resume=False)
    assert fresh.steps == 5 and fresh.resumed_from_step is None


def test_ctrl_c_writes_a_checkpoint_and_the_rerun_continues(tmp_path, uninterrupted):
    ref_result, ref_weights = uninterrupted
    ckpt = tmp_path / "ckpt"
    calls = {"n": 0}

    def interrupting_loss(model, batch):
        if model.training:
            calls["n"] += 1
            if calls["n"] == 7:
                os.kill(os.getpid(), signal.SIGINT)
        return loss_fn(model, batch)

    with pytest.raises(KeyboardInterrupt):
        train(make_classifier(), TRAIN, VAL, collate, interrupting_loss, resume_config(ckpt), progress=False)
    assert json.loads((ckpt / "last" / "state.json").read_text())["step"] == 7
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    model = make_classifier()
    result = train(model, TRAIN, VAL, collate, loss_fn, resume_config(ckpt), progress=False)
    assert result.resumed_from_step == 7 and result.steps == 39
    assert [h["val_loss"] for h in result.history] == [h["val_loss"] for h in ref_result.history]
    assert same_weights(snapshot(model), ref_weights)


def test_resume_refuses_a_checkpoint_of_another_model(tmp_path):
    ckpt = tmp_path / "ckpt"
    train(make_classifier(), TRAIN, VAL, collate, loss_fn, resume_config(ckpt, max_steps=5), progress=False)
    torch.manual_seed(0)
    other_encoder, _ = build_encoder(VOCAB, "tiny", max_positions=16, hidden=32)
    with pytest.raises(CheckpointMismatch):
        train(Classifier(other_encoder, 32), TRAIN, VAL, collate, loss_fn, resume_config(ckpt), progress=False)


def test_early_stopping_on_noise_keeps_the_best_weights(tmp_path):
    noisy = contains_seven(240, seed=3, noise=True)
    model = make_classifier()
    config = TrainConfig(epochs=40, batch_size=16, lr=5e-3, patience=2, warmup_ratio=0.0,
                         checkpoint_dir=tmp_path / "ckpt")
    result = train(model, noisy[:160], noisy[160:], collate, loss_fn, config, progress=False)
    assert result.stopped_early and result.epochs_run < 40
    losses = [h["val_loss"] for h in result.history]
    best_at = losses.index(min(losses))
    assert len(losses) == best_at + 1 + config.patience
    assert result.best_val_loss == min(losses) and result.best_step == result.history[best_at]["step"]
    best = registry.load_state(tmp_path / "ckpt" / "best")
    assert same_weights(snapshot(model), best)
    state = json.loads((tmp_path / "ckpt" / "last" / "state.json").read_text())
    assert state["stopped_early"] and state["bad_evals"] == config.patience


PROGRESS_SCRIPT = """
import torch
from codeintel.models.training import TrainConfig, train
torch.manual_seed(0)
model = torch.nn.Linear(4, 1)
data = [(torch.randn(4), torch.randn(1)) for _ in range(64)]
collate = lambda items: (torch.stack([x for x, _ in items]), torch.stack([y for _, y in items]))
loss = lambda m, b: torch.nn.functional.mse_loss(m(b[0]), b[1])
config = TrainConfig(epochs=3, batch_size=8, patience=0)
train(model, data[:48], data[48:], collate, loss, config, progress=True)
print("progress off", flush=True)
train(model, data[:48], data[48:], collate, loss, config, progress=False)
print("done")
"""


def test_progress_bar_on_a_terminal_only_when_asked():
    screen = run_on_pty([sys.executable, "-c", PROGRESS_SCRIPT])
    with_bar, _, without = screen.partition("progress off")
    # the bar: steps done of 18, the training and validation losses, the ETA
    assert "18/18" in with_bar and "eta" in with_bar and "━" in with_bar
    assert re.search(r"loss \d+\.\d{4}\s+val \d+\.\d{4}", with_bar), with_bar
    assert "done" in without and "━" not in without and "loss" not in without


def test_training_rejects_empty_splits():
    with pytest.raises(ValueError):
        train(make_classifier(), TRAIN, [], collate, loss_fn, TrainConfig(epochs=1), progress=False)


@pytest.mark.timeout(60)
def test_ddp_under_torchrun_two_ranks(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    for var in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone",
                           str(ROOT / "tests" / "ddp_train_script.py"), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=55)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert [r["rank"] for r in ranks] == [0, 1] and all(r["world"] == 2 for r in ranks)
    assert all(r["steps"] == 4 for r in ranks)
    # the data was sharded: each rank saw its own half of the 56 training examples
    seen0, seen1 = set(ranks[0]["seen"]), set(ranks[1]["seen"])
    assert not seen0 & seen1 and seen0 | seen1 == set(range(56))
    # the validation loss was averaged across ranks and the weights stayed in sync
    assert ranks[0]["val_losses"] == ranks[1]["val_losses"] and len(ranks[0]["val_losses"]) == 2
    assert ranks[0]["checksum"] == ranks[1]["checksum"]
    assert not any(r["dist_initialised_after"] for r in ranks)
    state = json.loads((tmp_path / "ckpt" / "last" / "state.json").read_text())
    assert state["step"] == 4
    assert (tmp_path / "ckpt" / "best" / "model.safetensors").is_file()


# ------------------------------------------------------------------------------------- registry
def _save_tiny(directory: Path, metrics: dict, tokenizer=None, **extra_config):
    torch.manual_seed(0)
    model, config = build_decoder(40, "tiny", max_positions=32)
    registry.save_model(directory, model, {**config, **extra_config},
                        registry.make_meta(corpora=[{"name": "fixture", "version": "1", "size": 10}],
                                           counts={"train": 8, "val": 1, "test": 1}, split="by file",
                                           metrics=metrics, seconds=1.5),
                        tokenizer=tokenizer)
    return model


def test_save_and_load_round_trip_with_tied_weights(tmp_path):
    tok = train_tokenizer(CODE, vocab_size=300)
    model = _save_tiny(tmp_path / "m", {"exact_match": 0.5}, tokenizer=tok, context_lines=20)
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["config.json", "meta.json", "model.safetensors", "tokenizer.json"]
    state = registry.load_state(tmp_path / "m")
    assert same_weights(state, model.state_dict())
    from safetensors import safe_open
    with safe_open(str(tmp_path / "m" / "model.safetensors"), "pt") as handle:
        stored = set(handle.keys())
    assert len(stored) == len(state) - 1      # the LM head is tied to the embedding: written once
    again = registry.load_model(tmp_path / "m")
    ids = torch.randint(6, 40, (1, 8))
    assert torch.equal(again(input_ids=ids).logits, model.eval()(input_ids=ids).logits)
    assert again.lm_head.weight.data_ptr() == again.transformer.wte.weight.data_ptr()
    info = registry.read_model_dir(tmp_path / "m", "completion", registry.REPOSITORY)
    assert info.usable and info.config["context_lines"] == 20
    assert info.meta["codeintel_version"] and info.meta["date"] and info.meta["counts"]["train"] == 8
    assert info.parameters == count_parameters(model) and info.metrics == {"exact_match": 0.5}
    assert info.tokenizer_path and load_tokenizer(info.path).get_vocab_size() == tok.get_vocab_size()


def test_feature_module_wrapping_an_encoder_round_trips(tmp_path):
    """The recipe for a feature's own module: save it with the encoder's builder config plus the
    feature's fields; load by rebuilding the encoder from that config and loading the state."""
    torch.manual_seed(0)
    encoder, enc_config = build_encoder(VOCAB, "tiny", max_positions=16)
    model = Classifier(encoder, enc_config["hidden"])
    registry.save_model(tmp_path / "clf", model, {**enc_config, "labels": ["no", "yes"]},
                        registry.make_meta(metrics={"accuracy": 1.0}))
    info = registry.read_model_dir(tmp_path / "clf", "merge", registry.REPOSITORY)
    again = Classifier(model_from_config(info.config), info.config["hidden"])
    again.load_state_dict(registry.load_state(info.path))      # strict: every name matches
    assert same_weights(again.state_dict(), model.state_dict())
    assert info.meta["parameters"] == count_parameters(model) > info.config["parameters"]


def test_repository_model_wins_over_builtin_and_broken_dirs_are_skipped(tmp_path, monkeypatch):
    builtin = tmp_path / "builtin"
    monkeypatch.setenv("CODEINTEL_BUILTIN_MODELS", str(builtin))
    repo = tmp_path / "repo"
    repo.mkdir()
    assert registry.builtin_dir("merge") == builtin / "merge"
    assert registry.active_model("merge", repo) is None

    _save_tiny(builtin / "merge", {"accuracy": 0.6})
    active = registry.active_model("merge", repo)
    assert active.source == "built-in" and active.active and active.metrics == {"accuracy": 0.6}

    _save_tiny(registry.repo_model_dir(repo, "merge"), {"accuracy": 0.8})
    active = registry.active_model("merge", repo)
    assert active.source == "repository" and active.path == repo / ".codeintel" / "models" / "merge"

    # broken repository models: bad JSON, missing weights, truncated weights -> the built-in one is used
    clones = registry.repo_model_dir(repo, "clones")
    _save_tiny(clones, {"map": 0.4})
    _save_tiny(builtin / "clones", {"map": 0.3})
    (clones / "config.json").write_text("{not json")
    assert registry.active_model("clones", repo).source == "built-in"
    (clones / "config.json").write_text("{}")
    data = (clones / "model.safetensors").read_bytes()
    (clones / "model.safetensors").write_bytes(data[: len(data) // 2])
    info = registry.read_model_dir(clones, "clones", registry.REPOSITORY)
    assert "truncated" in info.problem
    (clones / "model.safetensors").unlink()
    assert "missing" in registry.read_model_dir(clones, "clones", registry.REPOSITORY).problem

    listed = registry.list_models(repo)
    by = {(m.feature, m.source): m for m in listed}
    assert by[("merge", "repository")].active and not by[("merge", "built-in")].active
    assert not by[("clones", "repository")].usable and by[("clones", "built-in")].active
    assert {m.feature for m in listed} == {"merge", "clones"}


def test_models_command_json_and_text(tmp_path):
    builtin = tmp_path / "builtin"
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    _save_tiny(registry.repo_model_dir(repo, "merge"), {"test": {"accuracy": 0.71, "abstain": 0.2}})
    _save_tiny(builtin / "merge", {"accuracy": 0.5})
    _save_tiny(builtin / "clones", {"map": 0.42})
    (registry.repo_model_dir(repo, "edits")).mkdir()                # incomplete
    env = {"CODEINTEL_BUILTIN_MODELS": str(builtin)}

    proc = cli("models", "--repo", repo, "--json", env=env, check=0)
    data = json.loads(proc.stdout)
    assert data["repo"] == str(repo.resolve())
    features = {f["feature"]: f for f in data["features"]}
    assert list(features) == ["completion", "completion-ranker", "sketch", "merge", "edits", "clones"]
    merge = features["merge"]
    assert merge["active"]["source"] == "repository" and merge["active"]["metrics"]["test"]["accuracy"] == 0.71
    assert merge["active"]["parameters"] > 0 and merge["active"]["size_bytes"] > 0
    assert [a["source"] for a in merge["available"]] == ["repository", "built-in"]
    assert features["clones"]["active"]["source"] == "built-in"
    assert features["completion"]["active"] is None and features["completion"]["fallback"]
    assert features["edits"]["active"] is None and "missing" in features["edits"]["skipped"][0]["reason"]

    # the nearest .codeintel above the current folder is the default repository
    text = cli("models", cwd=repo / "sub", env=env, check=0).stdout
    assert "test.accuracy 0.71" in text and "repository" in text
    assert "none (falls back to" in text and "skipped" in text
    assert cli("models", "--repo", tmp_path / "nope", env=env).returncode == 2


def test_pyproject_declares_the_ml_extra_and_package_data():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    extras = project["project"]["optional-dependencies"]
    assert "torch==2.13.0" in extras["ml"] and "torch==2.13.0" in extras["dev"]
    assert not any(d.startswith("torch") and "==" not in d for d in extras["ml"] + extras["dev"])
    assert {d.split(">")[0].split("=")[0] for d in extras["ml"]} <= {d.split(">")[0].split("=")[0]
                                                                   for d in extras["dev"]}
    data = project["tool"]["setuptools"]["package-data"]["codeintel.models"]
    assert any(p.endswith("*.safetensors") for p in data) and any(p.endswith("*.json") for p in data)


def test_fast_encoder_matches_transformers_roberta():
    from codeintel.models.builders import build_encoder
    from codeintel.models.fast_encoder import FastRobertaEncoder

    enc, cfg = build_encoder(300, "tiny", max_positions=40, type_vocab_size=6)
    enc.eval()
    assert FastRobertaEncoder.supports(cfg)
    fast = FastRobertaEncoder(cfg["transformers"])
    fast.load_state_dict(enc.state_dict(), strict=True)
    ids = torch.randint(4, 300, (3, 30))
    ids[1, 18:] = 0  # padding
    types = torch.randint(1, 6, (3, 30))
    mask = ids.ne(0).long()
    with torch.no_grad():
        want = enc(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
        got = fast(input_ids=ids, attention_mask=mask, token_type_ids=types).last_hidden_state
    assert torch.allclose(want[mask.bool()], got[mask.bool()], atol=1e-5)


@pytest.mark.parametrize("command", [["train", "merge", "--model", "transformer"], ["train", "completion"], ["train", "completion-ranker"],
                                     ["train", "sketch"], ["train", "edits"], ["train", "clones"]])
def test_train_commands_without_torch_fail_in_one_line_and_keep_their_help(command, tmp_path):
    """Without the ml extra every train command says what to install (exit 2); --help still works."""
    script = ("import sys; sys.modules['torch'] = None; from codeintel.cli import run; "
              "sys.exit(run(sys.argv[1:]))")
    run = lambda *args: subprocess.run([sys.executable, "-c", script, *command, *args], cwd=tmp_path,
                                       capture_output=True, text=True, timeout=60,
                                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    failed = run()
    assert failed.returncode == 2, failed.stderr
    assert failed.stderr.strip().splitlines() == [
        "codeintel: training needs torch: python3 -m pip install -e '.[ml]' (using the trained models does not)"]
    helped = run("--help")
    assert helped.returncode == 0 and "Usage:" in helped.stdout
