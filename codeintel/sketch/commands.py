"""The sketch feature's CLI: `codeintel generate`, `codeintel train sketch`, `codeintel eval sketch`.
Registered on the main command groups by ``register``; arguments are parsed here and the work is
done by the feature's functions."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from codeintel import cli_support as support

from ..models.extras import needs_torch



def _root_with_index(repo: Optional[str], start: Path) -> Path:
    from ..store import find_store

    if repo and not Path(repo).is_dir():
        raise support.Failure(f"{repo}: no such directory", support.EXIT_USAGE)
    db = find_store(Path(repo) if repo else start)
    if db is None:
        raise support.Failure(f"no index in {repo or start} or any parent folder; run `codeintel index` first",
                          support.EXIT_STORE)
    return db.parent.parent


def register(main, train, eval_) -> None:
    main.add_command(generate_cmd)
    train.add_command(train_sketch_cmd)
    eval_.add_command(eval_sketch_cmd)


def _explain(generation, console) -> None:
    from rich.syntax import Syntax
    from rich.text import Text

    if generation.retrieved:
        qualname, path, score, code = generation.retrieved[0]
        console.print(f"[bold]retrieved[/bold] {path} [cyan]{qualname}[/cyan] (score {score:.4f})", highlight=False)
        console.print(Syntax(code.rstrip(), "python", theme="ansi_dark", background_color="default"))
    if generation.sketch:
        console.print("[bold]sketch[/bold] (kept tokens highlighted, dropped ones dim)", highlight=False)
        text = Text()
        for piece, kept in generation.sketch:
            text.append(piece, style="bold green" if kept else "dim strike")
        console.print(text)
    console.print(f"[bold]generated[/bold] ({generation.source}, "
                  f"{'parses' if generation.parses else 'does not parse'})", highlight=False)


@click.command("generate")
@click.argument("requirement", required=False)
@click.option("--file", "file_", type=click.Path(dir_okay=False), default=None,
              help="The file the function goes in (with --line: the stub or comment there is the requirement).")
@click.option("--line", type=click.IntRange(1), default=None, help="Line (from 1) of the stub or comment in --file.")
@click.option("--signature", default=None, help="The function's signature, e.g. 'def parse(path)', or just its name.")
@click.option("--beams", type=click.IntRange(1, 16), default=4, show_default=True, help="Beam size of the editor.")
@click.option("--explain", is_flag=True, help="Also show the retrieved example and the sketch.")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Repository whose index and model to use (default: the nearest index).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def generate_cmd(requirement, file_, line, signature, beams, explain, repo, as_json):
    """Write a function for REQUIREMENT (a docstring or comment), or for the stub at --file/--line."""
    from . import api
    from .stubs import request_at

    if line is not None and not file_:
        raise support.Failure("--line needs --file", support.EXIT_USAGE)
    rel = None
    start = Path.cwd()
    if file_:
        path = Path(file_)
        if not path.is_file():
            raise support.Failure(f"{file_}: no such file", support.EXIT_USAGE)
        start = path.resolve().parent
    root = _root_with_index(repo, start)
    if file_:
        try:
            rel = Path(file_).resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            raise support.Failure(f"{file_} is not inside {root}", support.EXIT_USAGE) from None
        if not requirement:
            if line is None:
                raise support.Failure("give a REQUIREMENT, or --file and --line of a stub or comment", support.EXIT_USAGE)
            try:
                text = Path(file_).read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                raise support.Failure(f"{file_}: not UTF-8 text", support.EXIT_USAGE) from None
            request = request_at(text, line - 1)
            if request is None:
                raise support.Failure(f"{file_}:{line}: no function stub (a docstring with only ..., pass or nothing "
                                  f"after it) or comment there", support.EXIT_USAGE)
            requirement, signature = request.requirement, signature or request.signature
    if not requirement or not requirement.strip():
        raise support.Failure("the requirement is empty: give REQUIREMENT, or --file and --line", support.EXIT_USAGE)
    try:
        generation = api.generate(root, requirement, rel_path=rel, line=line, signature=signature, n_beams=beams)
    except api.NothingToGenerate as exc:
        click.echo(f"codeintel: {exc}", err=True)
        sys.exit(support.EXIT_NOTHING_FOUND)
    except ValueError as exc:
        raise support.Failure(str(exc), support.EXIT_USAGE) from None
    if as_json:
        support.emit_json(generation.to_dict())
        return
    console = support.console()
    if explain:
        _explain(generation, console)
    click.echo(generation.code.rstrip("\n"))
    if generation.detail:
        click.echo(f"note: {generation.detail}", err=True)
    if not explain:
        click.echo(f"({generation.source}{'' if generation.parses else ', does not parse'})", err=True)


@click.command("sketch")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Repository whose indexed functions to learn from; its .codeintel/models/sketch/ receives the "
                   "model (default: the nearest index).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Save the model in this folder instead.")
@click.option("--size", default="compact", type=click.Choice(["tiny", "compact", "small", "base"]), show_default=True)
@click.option("--editor-size", default=None, type=click.Choice(["tiny", "compact", "small", "base"]),
              help="The editor's size (default: --size).")
@click.option("--vocab-size", default=8000, show_default=True, type=click.IntRange(300, 100000))
@click.option("--holdout", default=0.0, show_default=True, type=click.FloatRange(0, 0.9),
              help="Share of modules left out of training (for a later `eval sketch --holdout` with the same seed).")
@click.option("--sketcher-epochs", default=2, show_default=True, type=click.IntRange(1, 100))
@click.option("--editor-epochs", default=2, show_default=True, type=click.IntRange(1, 100))
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(1, 4096))
@click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(0, 1, min_open=True))
@click.option("--max-steps", default=0, type=click.IntRange(0), help="Stop each stage after this many steps (0 = none).")
@click.option("--eval-every", default=0, type=click.IntRange(0), help="Validate every N steps (0 = each epoch).")
@click.option("--max-cases", default=0, type=click.IntRange(0), help="At most this many documented functions (0 = all).")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(0, 256), help="Torch threads (0 = torch's default).")
@click.option("--seed", default=0, show_default=True)
@click.option("--corpus-name", default=None, help="Name the corpus in the data card (e.g. 'CPython 3.11.7 Lib').")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@needs_torch
def train_sketch_cmd(repo, output, size, editor_size, vocab_size, holdout, sketcher_epochs, editor_epochs, batch_size, lr,
                     max_steps, eval_every, max_cases, threads, seed, corpus_name, as_json):
    """Train the sketcher and the editor on this repository's documented functions."""
    from ..models.registry import repo_model_dir
    from .train import TrainSettings, train_sketch

    root = _root_with_index(repo, Path.cwd())
    out_dir = Path(output) if output else repo_model_dir(root, "sketch")
    settings = TrainSettings(size=size, editor_size=editor_size or "", vocab_size=vocab_size, holdout=holdout, sketcher_epochs=sketcher_epochs,
                             editor_epochs=editor_epochs, batch_size=batch_size, lr=lr, max_steps=max_steps,
                             eval_every=eval_every, max_cases=max_cases, threads=threads, seed=seed)
    with support.open_store(str(root)) as store:
        corpora = [{"name": corpus_name or str(root.resolve()), "python_files": len(store.indexed_paths("python"))}]
        try:
            summary = train_sketch(store, out_dir, settings, corpora=corpora,
                                   command=" ".join(["codeintel", *sys.argv[1:]]),
                                   progress=not as_json and sys.stderr.isatty(),
                                   log=(lambda m: None) if as_json else (lambda m: click.echo(m, err=True)))
        except ValueError as exc:
            raise support.Failure(str(exc), support.EXIT_USAGE) from None
    if as_json:
        support.emit_json(summary)
    else:
        click.echo(f"trained {summary['model']} in {summary['seconds']}s ({summary['counts']['train']} training "
                   f"functions; sketcher validation loss {summary['metrics']['sketcher_val_loss']}, editor "
                   f"{summary['metrics']['editor_val_loss']})")


@click.command("sketch")
@click.option("--repo", "repo", type=click.Path(file_okay=False), required=True,
              help="The repository to hold modules out of; with --cases, the context directory (the repository "
                   "without the held-out files).")
@click.option("--cases", "cases_file", type=click.Path(dir_okay=False), default=None,
              help="Cases made elsewhere: JSONL with path, requirement, signature, prefix, target (format: README).")
@click.option("--holdout", type=click.FloatRange(0.01, 0.9), default=0.1, show_default=True,
              help="Share of the modules held out (the split `train sketch --holdout` makes with the same seed).")
@click.option("--max-cases", type=click.IntRange(1), default=200, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--beams", type=click.IntRange(1, 16), default=4, show_default=True)
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A sketch model folder (default: the active one, if any).")
@click.option("--no-model", is_flag=True, help="Only the baselines that need no model.")
@click.option("--write-cases", type=click.Path(dir_okay=False), default=None,
              help="Also write the held-out cases to this JSONL file.")
@click.option("--predictions", is_flag=True, help="Include every case's outputs in the JSON.")
def eval_sketch_cmd(repo, cases_file, holdout, max_cases, seed, beams, model_dir, no_model, write_cases, predictions):
    """Exact match, BLEU-4, CodeBLEU, edit similarity and parse share of generated bodies on
    held-out functions, for copying, the editor without a sketch, with the whole retrieved
    function, and with the sketch (SkCoder), as JSON."""
    from .evaluate import evaluate_cases, evaluate_repository, leak_note, report_dict
    from .mine import read_cases

    root = Path(repo)
    if not root.is_dir():
        raise support.Failure(f"{repo}: no such directory", support.EXIT_USAGE)
    predictor = None
    info = None if no_model else support.eval_model("sketch", model_dir, root)
    if info is not None:
        from .model import load_predictor

        try:
            predictor = load_predictor(info)
        except (ValueError, KeyError, RuntimeError) as exc:
            raise support.Failure(f"{info.path}: cannot load the sketch model ({exc})", support.EXIT_USAGE) from None
    skipped: list[str] = []      # lines of --cases that are not usable cases: counted, not fatal
    try:
        if cases_file:
            cases = support.read_case_file(cases_file, lambda path: read_cases(path, skipped), skipped)
            report = evaluate_cases(cases, root, predictor=predictor, n_beams=beams, keep_predictions=predictions)
            case_paths = {c.path for c in cases}
        else:
            report = evaluate_repository(root, holdout=holdout, max_cases=max_cases, seed=seed, predictor=predictor,
                                         n_beams=beams, write_cases=Path(write_cases) if write_cases else None,
                                         keep_predictions=predictions)
            case_paths = set(report.held_out_files)
    except ValueError as exc:
        raise support.Failure(str(exc), support.EXIT_USAGE) from None
    if predictor is not None:
        note = leak_note(info.meta, case_paths)
        if note:
            report.notes.append(note)
    support.emit_json({**report_dict(report, repo=str(root.resolve()), cases_file=cases_file, seed=seed, beams=beams,
                                     model=str(info.path) if predictor is not None else "none (baselines only)"),
                       "skipped": {"cases": len(skipped), "why": skipped[:20]}})
