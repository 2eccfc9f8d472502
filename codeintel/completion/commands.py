"""The completion feature's commands: `complete`, `train completion`, `train completion-ranker`
and `eval completion`. Registered by ``codeintel.cli`` (``register``); arguments are parsed here
and the work is done by ``codeintel.completion``."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from codeintel import cli_support as support
from codeintel.cli_support import (EXIT_NOTHING_FOUND, EXIT_USAGE, Failure, eval_model, json_option, read_case_file,
                                   repo_option)
from codeintel.config import ConfigError
from codeintel.display import printable
from codeintel.models.extras import needs_torch


def register(main, train, eval_) -> None:
    main.add_command(complete)
    train.add_command(train_completion_cmd)
    train.add_command(train_completion_ranker_cmd)
    eval_.add_command(eval_completion)


def _parse_location(location: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL (both 1-based, as compilers print them) -> (file, line, 0-based column)."""
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise Failure(f"{location}: expected FILE:LINE:COL (line and column numbers from 1)", EXIT_USAGE)
    line, col = int(parts[1]), int(parts[2])
    if line < 1 or col < 1:
        raise Failure(f"{location}: line and column count from 1", EXIT_USAGE)
    return Path(parts[0]), line, col - 1


@click.command()
@click.argument("location", metavar="FILE:LINE:COL")
@click.option("--n", "n", type=click.IntRange(1, 20), default=None, help="How many suggestions (default: config, 3).")
@click.option("--backend", type=click.Choice(["builtin", "hf", "http"]), default=None,
              help="Override [completion] backend of .codeintel/config.toml.")
@repo_option
@json_option
def complete(location, n, backend, repo, as_json):
    """Suggest how to go on at FILE:LINE:COL (the rest of the line, or a block after a ':')."""
    from codeintel.completion import BadPosition, complete as complete_at
    from codeintel.config import load_completion_settings
    from codeintel.models.registry import find_repo_root

    path, line, col = _parse_location(location)
    if not path.is_file():
        raise Failure(f"{path}: no such file", EXIT_USAGE)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise Failure(f"{path}: not UTF-8 text", EXIT_USAGE) from None
    root = Path(repo).resolve() if repo else (find_repo_root(path.resolve().parent) or path.resolve().parent)
    try:
        rel = path.resolve().relative_to(root).as_posix()
    except ValueError:
        raise Failure(f"{path} is not inside {root}", EXIT_USAGE) from None
    try:
        settings = load_completion_settings(root)
        if settings.ignored:
            click.echo(printable(settings.ignored), err=True)
        if backend:
            settings = settings.updated({"backend": backend})
    except ConfigError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    try:
        found = complete_at(root, rel, text, line, col, n=n or settings.n, settings=settings)
    except BadPosition as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    if as_json:
        support.emit_json({"file": rel, "line": line, "column": col + 1, "root": str(root),
                    "suggestions": [s.to_dict() for s in found]})
    else:
        console = support.console()
        for s in found:
            console.print(s.text, markup=False, end="")
            console.print(f"    [dim]({s.source}, {s.score:.3g})[/]")
        if found and found[0].detail:
            click.echo(f"note: {found[0].detail}", err=True)
    if not found:
        if not as_json:
            click.echo("no suggestions", err=True)
        sys.exit(EXIT_NOTHING_FOUND)


@click.command("completion")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Repository whose indexed files to learn from; its .codeintel/models/completion/ receives "
                   "the model (default: the nearest index).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Save the model in this folder instead.")
@click.option("--from-scratch", is_flag=True, help="Do not start from the active (built-in) completion model.")
@click.option("--size", default="compact", type=click.Choice(["tiny", "compact", "small", "base"]), show_default=True)
@click.option("--vocab-size", default=8000, show_default=True, type=click.IntRange(300, 100000))
@click.option("--per-file", default=8, show_default=True, type=click.IntRange(1), help="Holes cut per file.")
@click.option("--max-examples", default=6000, show_default=True, type=click.IntRange(1))
@click.option("--epochs", default=2, show_default=True, type=click.IntRange(1, 100))
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1, 4096))
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--max-steps", default=0, type=click.IntRange(0), help="Stop after this many steps (0 = none).")
@click.option("--eval-every", default=0, type=click.IntRange(0), help="Validate every N steps (0 = each epoch).")
@click.option("--patience", default=2, show_default=True, type=click.IntRange(0))
@click.option("--passages", default=6, show_default=True, type=click.IntRange(1, 64), help="Proposals per example.")
@click.option("--passage-len", default=128, show_default=True, type=click.IntRange(16, 1024), help="Tokens per passage.")
@click.option("--context-len", default=48, show_default=True, type=click.IntRange(4, 512),
              help="Tokens before the cursor repeated in every passage.")
@click.option("--seed", default=0, show_default=True)
@click.option("--corpus-name", default=None, help="Name the corpus in the data card (e.g. 'CPython 3.11.7 Lib').")
@click.option("--judge-cases", default=100, show_default=True, type=click.IntRange(1, 10000),
              help="Rest-of-line holes in the validation files on which the new model must be at least as good "
                   "as what completion answers now before it replaces it.")
@click.option("--keep-anyway", is_flag=True,
              help="Install the new model even when it is behind what completion answers now.")
@json_option
@needs_torch
def train_completion_cmd(repo, output, from_scratch, size, vocab_size, per_file, max_examples, epochs, batch_size,
                         lr, max_steps, eval_every, patience, passages, passage_len, context_len, seed, corpus_name,
                         judge_cases, keep_anyway, as_json):
    """Fine-tune (or train) the completion model on holes cut from this repository's own files.

    The new model takes over only if, on holes cut in the validation files, it is at least as
    good as what completion answers now; otherwise it is kept in completion.rejected/."""
    from codeintel.completion.fid import FidSettings
    from codeintel.completion.ranker import load_ranker
    from codeintel.completion.train import TrainSettings, train_completion
    from codeintel.models.registry import active_model, find_repo_root, repo_model_dir

    root = Path(repo) if repo else (find_repo_root(Path.cwd()) or Path.cwd())
    current = active_model("completion", root)
    base = None if from_scratch else current
    active_dir = repo_model_dir(root, "completion")
    out_dir = Path(output) if output else active_dir
    gated = not keep_anyway and out_dir.resolve() == active_dir.resolve()
    if current is None and not as_json:
        click.echo("no completion model to start from: a model trained from scratch on one repository rarely "
                   "beats the ranked candidates (it is judged before it is installed); "
                   "`codeintel train completion-ranker` adapts the ranker to this repository in minutes", err=True)
    settings = TrainSettings(size=size, vocab_size=vocab_size, per_file=per_file, max_examples=max_examples,
                             epochs=epochs, batch_size=batch_size, lr=lr, max_steps=max_steps,
                             eval_every=eval_every, patience=patience, seed=seed, gate_cases=judge_cases)
    with support.open_store(str(root)) as store:
        files = store.stats()["files"].get("ok", 0) + store.stats()["files"].get("partial", 0)
        corpora = [{"name": corpus_name or str(root.resolve()), "indexed_files": files}]
        try:
            summary = train_completion(store, out_dir, settings, FidSettings(passages=passages, passage_len=passage_len,
                                                                    context_len=min(context_len, passage_len // 2),
                                                                    budget=passage_len),
                                       base=base, current=current, ranker=load_ranker(root)[0], gated=gated,
                                       corpora=corpora, command=" ".join(["codeintel", *sys.argv[1:]]),
                                       progress=not as_json and sys.stderr.isatty(),
                                       log=(lambda m: None) if as_json else (lambda m: click.echo(m, err=True)))
        except ValueError as exc:
            raise Failure(str(exc), EXIT_USAGE) from None
    if as_json:
        summary.pop("history", None)
        support.emit_json(summary)
    else:
        click.echo(f"trained {summary['model']} in {summary['seconds']}s ({summary['steps']} steps, best "
                   f"validation loss {summary['best_val_loss']:.4f})"
                   + (f", fine-tuned from {base.path}" if base is not None else ""))
        click.echo(_verdict_line(summary["judged"]))
        if not summary["installed"]:
            click.echo(f"not installed: completion keeps answering as before; --keep-anyway installs it in {active_dir}")


def _verdict_line(verdict: dict) -> str:
    """One line: the new completion model against its rivals on the validation holes."""
    from codeintel.completion.train import RIVALS

    if not verdict["cases"]:
        return verdict["why"]
    figures = ", ".join(f"{RIVALS.get(name, name)} {m['exact_match']:.3f} / {m['edit_similarity']:.3f}"
                        for name, m in verdict.items() if isinstance(m, dict))
    return (f"on {verdict['cases']} rest-of-line holes of the validation files (exact match / edit similarity): "
            f"{figures}: {verdict['why']}")


def _package_version(root: Path) -> Optional[str]:
    """``name version`` of the installed distribution whose top-level package ``root`` is, if any."""
    import importlib.metadata

    for dist in importlib.metadata.packages_distributions().get(root.name, []):
        try:
            return f"{dist} {importlib.metadata.version(dist)}"
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


@click.command("completion-ranker")
@click.option("--repo", "repos", multiple=True, type=click.Path(exists=True, file_okay=False),
              help="Repository to cut holes in (repeatable; with several, the last one validates). "
                   "Default: this repository, whose .codeintel/models/completion-ranker/ receives the ranker.")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Save the ranker in this folder instead.")
@click.option("--holdout", default=0.2, show_default=True, type=click.FloatRange(0, 1, min_open=True, max_open=True),
              help="Share of each repository's Python files held out (holes are cut there; the rest is the context).")
@click.option("--max-files", default=40, show_default=True, type=click.IntRange(1))
@click.option("--per-file", default=15, show_default=True, type=click.IntRange(1), help="Holes cut per held-out file.")
@click.option("--max-cases", default=600, show_default=True, type=click.IntRange(1), help="Holes per repository at most.")
@click.option("--hidden", default=32, show_default=True, type=click.IntRange(1, 1024))
@click.option("--epochs", default=30, show_default=True, type=click.IntRange(1, 1000))
@click.option("--patience", default=4, show_default=True, type=click.IntRange(0))
@click.option("--from-scratch", is_flag=True,
              help="With one repository: do not start from the active (built-in) ranker. Several always start from scratch.")
@click.option("--validate-repos", default=1, show_default=True, type=click.IntRange(1),
              help="With several repositories: how many of the last ones validate.")
@click.option("--es-weight", default=1.0, show_default=True, type=click.FloatRange(0),
              help="Weight of the expected edit similarity in the loss, beside the exact answer's cross-entropy.")
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Cut holes this many times in each training repository (other seeds: other held-out files and holes).")
@click.option("--ensemble", default=1, show_default=True, type=click.IntRange(1, 20),
              help="Train this many rankers (seeds --seed and up) and merge them into one that scores their mean. "
                   "Fine-tuning from the active ranker trains one.")
@click.option("--seed", default=0, show_default=True)
@json_option
@needs_torch
def train_completion_ranker_cmd(repos, output, holdout, max_files, per_file, max_cases, hidden, epochs, patience,
                                from_scratch, validate_repos, es_weight, seeds, ensemble, seed, as_json):
    """Learn which completion candidate to offer first, from holes cut in held-out files."""
    from codeintel.completion.train_ranker import RankerSettings, train_ranker
    from codeintel.models.registry import find_repo_root, repo_model_dir

    if repos:
        roots = [Path(r).resolve() for r in repos]
        default_out = repo_model_dir(roots[0], "completion-ranker") if len(roots) == 1 else None
    else:
        roots = [(find_repo_root(Path.cwd()) or Path.cwd()).resolve()]
        default_out = repo_model_dir(roots[0], "completion-ranker")
    out_dir = Path(output) if output else default_out
    if out_dir is None:
        raise Failure("give --output when training on several repositories", EXIT_USAGE)
    base = None
    if len(roots) == 1 and not from_scratch:
        from codeintel.completion.ranker import FEATURE
        from codeintel.models.registry import active_model

        info = active_model(FEATURE, roots[0])
        base = info.path if info is not None else None
    settings = RankerSettings(holdout=holdout, max_files=max_files, per_file=per_file, max_cases=max_cases,
                              hidden=hidden, epochs=epochs, patience=patience, seed=seed,
                              es_weight=es_weight, validate_repos=validate_repos, seeds=seeds, ensemble=ensemble, lr=1e-3 if base is not None else RankerSettings.lr)
    try:
        summary = train_ranker(roots, out_dir, settings, base=base, command=" ".join(["codeintel", *sys.argv[1:]]),
                               progress=not as_json and sys.stderr.isatty(),
                               log=(lambda m: None) if as_json else (lambda m: click.echo(m, err=True)),
                               packages=[_package_version(root) for root in roots])
    except ValueError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    if as_json:
        support.emit_json(summary)
    else:
        v = summary["val"]
        click.echo(f"saved the completion ranker to {summary['output']} in {summary['seconds']}s: validation top-1 "
                   f"{v['ranker_top1']:.1%} against the matcher's own order {v['matcher_top1']:.1%}"
                   + (f" and the ranker it started from {v['base_ranker_top1']:.1%}" if "base_ranker_top1" in v else "")
                   + f" ({v['examples']} holes with the answer among the candidates)")


@click.command("completion")
@click.option("--repo", "repo", type=click.Path(file_okay=False), required=True,
              help="The repository to hold files out of; with --cases, the context directory (the repository "
                   "without the held-out files).")
@click.option("--cases", "cases_file", type=click.Path(dir_okay=False), default=None,
              help="Cases made elsewhere: JSONL with path, prefix, suffix, target (format: README).")
@click.option("--holdout", type=click.FloatRange(0.01, 0.9), default=0.1, show_default=True,
              help="Share of the Python files held out.")
@click.option("--max-files", type=click.IntRange(1), default=40, show_default=True, help="At most this many held out.")
@click.option("--per-file", type=click.IntRange(1), default=5, show_default=True, help="Holes cut per held-out file.")
@click.option("--max-cases", type=click.IntRange(1), default=400, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A completion model folder (default: the active one, if any).")
@click.option("--no-model", is_flag=True, help="Only the model-free predictors.")
@click.option("--ranker", "ranker_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A completion-ranker folder for the 'ranked' predictor (default: the active one).")
@click.option("--write-cases", type=click.Path(dir_okay=False), default=None,
              help="Also write the cut cases to this JSONL file.")
@click.option("--predictions", is_flag=True, help="Include every case's predictions in the JSON.")
def eval_completion(repo, cases_file, holdout, max_files, per_file, max_cases, seed, model_dir, no_model,
                    ranker_dir, write_cases, predictions):
    """Exact match, edit similarity and identifier F1 of the rest of the line on held-out files,
    for the model-free baselines and the model, as JSON."""
    from codeintel.completion.evaluate import evaluate_cases, evaluate_repository, read_cases, report_dict

    root = Path(repo)
    if not root.is_dir():
        raise Failure(f"{repo}: no such directory", EXIT_USAGE)
    predictor, model_name = None, None
    info = None if no_model else eval_model("completion", model_dir, root)
    if info is not None:
        from codeintel.completion.fid import load_predictor

        predictor, model_name = load_predictor(info), str(info.path)
    ranker, ranker_name = _eval_ranker(ranker_dir, root)
    skipped: list[str] = []      # lines of --cases that are not usable cases: counted, not fatal
    try:
        if cases_file:
            cases = read_case_file(cases_file, lambda path: read_cases(path, skipped), skipped)
            report = evaluate_cases(cases, root, model=predictor, keep_predictions=predictions, ranker=ranker)
        else:
            report = evaluate_repository(root, holdout=holdout, max_files=max_files, per_file=per_file,
                                         max_cases=max_cases, seed=seed, model=predictor,
                                         write_cases=Path(write_cases) if write_cases else None,
                                         keep_predictions=predictions, ranker=ranker)
    except ValueError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    support.emit_json({**report_dict(report, repo=str(root.resolve()), cases_file=cases_file, seed=seed,
                              model=model_name or "none (model-free predictors only)", ranker=ranker_name),
                "skipped": {"cases": len(skipped), "why": skipped[:20]}})


def _eval_ranker(ranker_dir, root: Path):
    """The completion ranker to evaluate: ``ranker_dir``, else the active one; (ranker, its path or None)."""
    from codeintel.completion.ranker import FEATURE, Ranker
    from codeintel.models.registry import active_model, read_model_dir

    info = read_model_dir(ranker_dir, FEATURE, "given") if ranker_dir else active_model(FEATURE, root)
    if info is None:
        return None, None
    if not info.usable:
        raise Failure(f"{ranker_dir}: {info.problem}", EXIT_USAGE)
    try:
        return Ranker.load(info.path, str(info.path)), str(info.path)
    except (OSError, ValueError, KeyError) as exc:
        raise Failure(f"{info.path}: not a usable completion ranker ({exc})", EXIT_USAGE) from None
