"""`codeintel train clones`: the contrastive clone encoder's CLI. Registered on the ``train``
group by ``register``; arguments are parsed here and the work is done by ``contrastive``."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..models.extras import needs_torch


def _cli():
    from .. import cli

    return cli


def register(train) -> None:
    train.add_command(train_clones_cmd)


def _corpus_programs(paths, split, limit, language):
    from .contrastive import Program
    from .evaluate import read_labelled

    programs, card = [], []
    for path in paths:
        records = read_labelled(path, split, limit)
        for r in records:
            programs.append(Program(r["code"].encode("utf-8", "surrogateescape"), r.get("language") or language,
                                    str(r["label"]), "label:" + str(r["label"])))
        card.append({"file": Path(path).name, "bytes": Path(path).stat().st_size, "programs": len(records),
                     "split_used": split, "labels": len({str(r["label"]) for r in records})})
    return programs, card


def _repository_programs(root: Path, min_tokens: int, limit):
    """The indexed functions of the repository (no labels; the validation split is by file)."""
    from .contrastive import Program

    cli = _cli()
    programs = []
    with cli._open_store(str(root)) as store:
        for path, language, content, spans in store.function_spans():
            for _qualname, _kind, start, end, _line in spans:
                code = content[start:end]
                if code.count(b"\n") + 1 >= 3 and len(code.split()) >= min_tokens:
                    programs.append(Program(code, language, None, "file:" + path))
                if limit and len(programs) >= limit:
                    return programs
    return programs


@click.command("clones")
@click.option("--corpus", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="Labelled programs, JSONL(.gz): id, label, code, optional language and split "
                   "(POJ-104's format); programs with the same label are clones. Default: the "
                   "functions of the indexed repository, without labels.")
@click.option("--split", default=None, help="Only the corpus records whose `split` is this (e.g. train).")
@click.option("--language", default=None, help="Language of corpus records that name none (cpp for POJ-104).")
@click.option("--limit", type=click.IntRange(4), default=None, help="At most this many programs per source.")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Repository whose functions to learn from (no --corpus), and whose "
                   ".codeintel/models/clones/ receives the model (default: the nearest index).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Save the model in this folder instead.")
@click.option("--objective", default="simclr", show_default=True, type=click.Choice(["simclr", "moco"]))
@click.option("--representation", default="tokens", show_default=True, type=click.Choice(["tokens", "ast", "tokens+ast"]))
@click.option("--transforms", default="rename,comments,dead_code,if_swap", show_default=True,
              help="Transformations that make the training views (the others are held out).")
@click.option("--views", default=2, show_default=True, type=click.IntRange(0, 8), help="Rewrites per program.")
@click.option("--buckets", default=65536, show_default=True, type=click.IntRange(256, 1 << 22))
@click.option("--dim", default=128, show_default=True, type=click.IntRange(8, 1024))
@click.option("--ngrams", default=3, show_default=True, type=click.IntRange(1, 6))
@click.option("--epochs", default=12, show_default=True, type=click.IntRange(1, 1000))
@click.option("--batch-size", default=256, show_default=True, type=click.IntRange(4, 8192))
@click.option("--lr", default=2e-3, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--temperature", default=0.1, show_default=True, type=click.FloatRange(0, 10, min_open=True))
@click.option("--feature-dropout", default=0.3, show_default=True, type=click.FloatRange(0, 0.9),
              help="Share of a view's n-grams dropped at random while training.")
@click.option("--max-steps", default=0, type=click.IntRange(0), help="Stop after this many steps (0 = none).")
@click.option("--eval-every", default=0, type=click.IntRange(0), help="Validate every N steps (0 = each epoch).")
@click.option("--patience", default=3, show_default=True, type=click.IntRange(0))
@click.option("--min-tokens", default=30, show_default=True, type=click.IntRange(1),
              help="Repository functions shorter than this are not learned from.")
@click.option("--lexical-dim", default=1024, show_default=True, type=click.IntRange(0, 8192),
              help="Dimensions of the lexical channel (TF-IDF of token n-grams, IDF fitted on the training "
                   "programs) beside the learned vector; 0: none.")
@click.option("--lexical-weight", default=None, type=click.FloatRange(0, 1),
              help="Weight of the learned cosine against the lexical one (default: chosen on the validation labels).")
@click.option("--encoder-from", type=click.Path(exists=True, file_okay=False), default=None,
              help="Reuse this clones model's learned encoder (its representation and sizes) instead of "
                   "training one; only the lexical channel is fitted.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@needs_torch
def train_clones_cmd(corpus, split, language, limit, repo, output, objective, representation, transforms, views,
                     buckets, dim, ngrams, epochs, batch_size, lr, temperature, feature_dropout, max_steps, eval_every,
                     patience, min_tokens, lexical_dim, lexical_weight, encoder_from, seed, as_json):
    """Train the clone encoder contrastively (SimCLR or MoCo) on labelled programs or on this
    repository's functions, and save it in the model registry."""
    from ..models.registry import find_repo_root, repo_model_dir
    from ..models.training import TrainConfig
    from .contrastive import CloneTrainSettings, train_clone_encoder
    from .evaluate import EvalInputError

    cli = _cli()
    cli.check_language(language)
    root = Path(repo) if repo else (find_repo_root(Path.cwd()) or Path.cwd())
    try:
        if corpus:
            programs, corpora = _corpus_programs(corpus, split, limit, language)
        else:
            programs = _repository_programs(root, min_tokens, limit)
            corpora = [{"repository": str(root.resolve()), "functions": len(programs)}]
    except EvalInputError as exc:
        raise cli.Failure(str(exc), cli.EXIT_USAGE) from None
    max_words = 512
    if encoder_from:   # the reused encoder's own representation and sizes
        try:
            reused = json.loads((Path(encoder_from) / "config.json").read_text(encoding="utf-8"))
            representation, max_words = reused["representation"], int(reused["max_words"])
            buckets, dim, ngrams = (int(reused["encoder"][k]) for k in ("buckets", "dim", "ngrams"))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise cli.Failure(f"{encoder_from}: not a clones model ({type(exc).__name__}: {exc})",
                              cli.EXIT_USAGE) from None
        if lexical_dim == 0:
            raise cli.Failure("--encoder-from fits only the lexical channel: it needs --lexical-dim > 0",
                              cli.EXIT_USAGE)
    settings = CloneTrainSettings(representation=representation, objective=objective, buckets=buckets, dim=dim,
                                  ngrams=ngrams, max_words=max_words, views=views,
                                  train_transforms=tuple(t for t in transforms.split(",") if t),
                                  temperature=temperature, feature_dropout=feature_dropout, seed=seed,
                                  lexical_dim=lexical_dim, lexical_weight=lexical_weight, encoder_from=encoder_from)
    out_dir = Path(output) if output else repo_model_dir(root, "clones")
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, patience=patience,
                         eval_every_steps=eval_every, max_steps=max_steps, weight_decay=0.01,
                         checkpoint_dir=out_dir.parent / (out_dir.name + ".checkpoints"))
    meta = {"corpora": corpora, "command": " ".join(["codeintel", *sys.argv[1:]]),
            "packages": cli._package_versions()}
    log = (lambda m: None) if as_json else (lambda m: click.echo(m, err=True))
    try:
        summary = train_clone_encoder(programs, out_dir, settings, config, meta,
                                      progress=not as_json and sys.stderr.isatty(), log=log)
    except ValueError as exc:
        raise cli.Failure(str(exc), cli.EXIT_USAGE) from None
    summary.pop("history", None)
    if as_json:
        cli._emit_json(summary)
    else:
        found = (f"validation MAP@R {summary['val_map_at_r']}" if "val_map_at_r" in summary else
                 f"validation nearest-view accuracy {summary['val_view_top1']}")
        if summary.get("lexical_weight") is not None:
            found += f"; lexical channel, learned weight {summary['lexical_weight']}"
            if "val_map_at_r_with_lexical" in summary:
                found += f": validation MAP@R {summary['val_map_at_r_with_lexical']}"
        click.echo(f"trained {summary['model']} in {summary['seconds']}s ({summary['steps']} steps, best at "
                   f"step {summary['best_step']}; {found})")
