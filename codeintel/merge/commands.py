"""The merge feature's commands: `train merge`, `eval merge`, the git `merge-driver`,
`install-merge-driver` and `resolve`. Registered by ``codeintel.cli`` (``register``); arguments
are parsed here and the work is done by ``codeintel.merge``."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from codeintel import cli_support as support
from codeintel.cli_support import (EXIT_USAGE, Failure, json_option, repo_option)
from codeintel.display import printable


def register(main, train, eval_) -> None:
    main.add_command(merge_driver)
    main.add_command(install_merge_driver)
    main.add_command(resolve)
    train.add_command(train_merge)
    eval_.add_command(eval_merge)


def _merge_settings_from(size, epochs, max_len, vocab_size, batch_size, threshold, seed, max_train, eval_every,
                         patience, mirror=False):
    from codeintel.merge.training import MergeModelSettings

    return MergeModelSettings(size=size, epochs=epochs, max_len=max_len, vocab_size=vocab_size,
                              batch_size=batch_size, threshold=threshold, seed=seed, max_train=max_train,
                              eval_every=eval_every, patience=patience, mirror=mirror)


def _corpus_card(paths, digest: bool = False) -> list[dict]:
    import hashlib

    from codeintel.merge.corpus import corpus_files

    return [{"file": f.name, "bytes": f.stat().st_size,
             **({"sha256": hashlib.sha256(f.read_bytes()).hexdigest()} if digest else {})}
            for f in corpus_files(paths)]


@click.command("merge")
@click.option("--corpus", multiple=True, type=click.Path(exists=True),
              help="Merge-scenario JSONL(.gz) files or folders (format: codeintel/merge/corpus.py).")
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Repository: its indexed merges are used when no --corpus is given, and its "
                   ".codeintel/models/merge/ receives the model (default: the nearest index).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Save the model in this folder instead.")
@click.option("--test-repos", default="", help="Comma-separated repositories held out for the test metrics.")
@click.option("--val-repos", default="", help="Comma-separated repositories for early stopping (default: 1 in 10 cases).")
@click.option("--size", default="compact", type=click.Choice(["tiny", "compact", "small", "base"]), show_default=True)
@click.option("--epochs", default=3, show_default=True, type=click.IntRange(1, 100))
@click.option("--max-len", default=96, show_default=True, type=click.IntRange(16, 512), help="Tokens per view.")
@click.option("--vocab-size", default=8000, show_default=True, type=click.IntRange(300, 100000))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 4096))
@click.option("--threshold", default=None, type=click.FloatRange(0, 1),
              help="Default: the chooser's is set on the validation repositories for 90% precision; the "
                   "transformer's is 0.9.")
@click.option("--seed", default=13, show_default=True)
@click.option("--max-train", default=0, type=click.IntRange(0), help="Cap on training instances (0 = all).")
@click.option("--eval-every", default=0, type=click.IntRange(0), help="Validate every N steps (0 = each epoch).")
@click.option("--patience", default=2, show_default=True, type=click.IntRange(0),
              help="Stop after this many validations without improvement (0 = never).")
@click.option("--mirror/--no-mirror", default=False, show_default=True,
              help="Also train on every conflict with ours and theirs exchanged (teaches the model that the "
                   "sides are symmetric, which they are not: git's ours is the branch merged into).")
@click.option("--model", "kind", default="chooser", show_default=True, type=click.Choice(["chooser", "transformer"]),
              help="chooser: gradient-boosted trees that pick among candidate resolutions (the built-in kind); "
                   "transformer: the MergeBERT classifier (needs torch).")
@click.option("--cache", type=click.Path(file_okay=False), default=None,
              help="chooser: keep the candidate features of each corpus file here (recomputed when either changes).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="chooser: processes computing candidate features.")
@json_option
def train_merge(corpus, repo, output, test_repos, val_repos, size, epochs, max_len, vocab_size, batch_size,
                threshold, seed, max_train, eval_every, patience, mirror, kind, cache, workers, as_json):
    """Train the merge model (the candidate chooser, or the MergeBERT classifier) and save it in the model registry."""
    from codeintel.models.registry import find_repo_root

    root = Path(repo) if repo else (find_repo_root(Path.cwd()) or Path.cwd())
    tests = [r for r in test_repos.split(",") if r]
    vals = [r for r in val_repos.split(",") if r]
    if kind == "chooser":
        _train_chooser(corpus, root, output, tests, vals, threshold, seed, cache, workers, as_json)
        return
    _needs("torch", "training needs torch")
    _train_transformer(corpus, root, output, tests, vals, size, epochs, max_len, vocab_size, batch_size,
                       0.9 if threshold is None else threshold, seed, max_train, eval_every, patience, mirror,
                       as_json)


def _needs(module: str, what: str) -> None:
    import importlib.util

    from codeintel.models.extras import MissingExtra

    if importlib.util.find_spec(module) is None:
        raise MissingExtra(f"{what}: python3 -m pip install -e '.[ml]' (using the trained models does not)")


def _train_chooser(corpus, root, output, tests, vals, threshold, seed, cache, workers, as_json):
    from codeintel.merge.chooser_training import (ChooserSettings, split_tables, table_of_examples,
                                                  table_of_files, train_chooser)
    from codeintel.merge.corpus import scenarios_from_store
    from codeintel.models.registry import repo_model_dir

    _needs("sklearn", "training needs scikit-learn")
    if corpus:
        try:
            table = table_of_files(list(corpus), Path(cache) if cache else None, workers)
        except ValueError as exc:      # a line of a corpus file that is not a merge record
            raise Failure(str(exc), EXIT_USAGE) from None
        sources = {"corpora": _corpus_card(list(corpus), digest=True)}
    else:
        with support.open_store(str(root)) as store:
            table = table_of_examples(list(scenarios_from_store(store)))
        sources = {"corpora": [{"repository history": str(root)}]}
    if not table.n_regions:
        raise Failure("no merge conflicts with a known resolution to learn from"
                      + ("" if corpus else " in this repository's history; pass --corpus FILE"), EXIT_USAGE)
    train, val, test = split_tables(table, tests, vals)
    if not train.n_regions or not val.n_regions:
        raise Failure(f"too few regions to train on ({table.n_regions})", EXIT_USAGE)
    out_dir = Path(output) if output else repo_model_dir(root, "merge")
    repos = sorted(set(table.repos))
    meta = {**sources, "model": "gradient-boosted trees choosing among candidate resolutions (numpy inference)",
            "command": " ".join(["codeintel", *sys.argv[1:]]), "packages": support.package_versions(),
            "split": {"by": "repository", "test_repos": tests, "val_repos": vals or ["1 in 5 training regions"],
                      "train_repos": [r for r in repos if r not in tests and r not in vals]},
            "target": "the candidate equals the developer's resolution ignoring whitespace",
            "threshold_rule": "lowest score with precision >= 0.90 on the validation regions"}
    summary = train_chooser(train, val, test, out_dir, ChooserSettings(seed=seed), meta, threshold)
    if as_json:
        support.emit_json(summary)
        return
    click.echo(f"trained {out_dir} in {summary['seconds']}s; threshold {summary['threshold']}")
    for name in ("val", "test"):
        m = summary.get(name)
        if m:
            click.echo(f"{name} repositories: accuracy {m['accuracy']}, precision {m['precision']}, coverage "
                       f"{m['coverage']}; every region resolved: accuracy {m['threshold_0']['accuracy']}")


def _train_transformer(corpus, root, output, tests, vals, size, epochs, max_len, vocab_size, batch_size,
                       threshold, seed, max_train, eval_every, patience, mirror, as_json):
    from codeintel.merge.corpus import read_corpus, scenarios_from_store
    from codeintel.merge.learn import evaluate, make_cases, split_by_repo
    from codeintel.merge.training import train_model
    from codeintel.models.registry import record_metrics, repo_model_dir

    if corpus:
        try:
            examples = list(read_corpus(list(corpus)))
        except ValueError as exc:      # a line of a corpus file that is not a merge record
            raise Failure(str(exc), EXIT_USAGE) from None
        sources = {"corpora": _corpus_card(list(corpus))}
    else:
        with support.open_store(str(root)) as store:
            examples = list(scenarios_from_store(store))
        sources = {"corpora": [{"repository history": str(root)}]}
    cases = make_cases(examples)
    if not cases:
        raise Failure("no merge conflicts with a known resolution to learn from"
                      + ("" if corpus else " in this repository's history; pass --corpus FILE"), EXIT_USAGE)
    train_cases, val_cases, test_cases = split_by_repo(cases, tests, vals)
    if not val_cases:
        val_cases, train_cases = train_cases[::10], [c for i, c in enumerate(train_cases) if i % 10]
    if not train_cases or not val_cases:
        raise Failure(f"too few cases to train on ({len(cases)})", EXIT_USAGE)
    settings = _merge_settings_from(size, epochs, max_len, vocab_size, batch_size, threshold, seed, max_train,
                                    eval_every, patience, mirror)
    out_dir = Path(output) if output else repo_model_dir(root, "merge")
    repos = sorted({c.repo for c in cases})
    meta = {**sources, "command": " ".join(["codeintel", *sys.argv[1:]]), "packages": support.package_versions(),
            "split": {"by": "repository", "test_repos": tests, "val_repos": vals or ["1 in 10 training cases"],
                      "train_repos": [r for r in repos if r not in tests and r not in vals]},
            "counts": {"regions": len(cases), "train_regions": len(train_cases), "val_regions": len(val_cases),
                       "test_regions": len(test_cases)}}
    predictor, result = train_model(train_cases, val_cases, out_dir, settings, meta,
                                    checkpoint_dir=out_dir.parent / (out_dir.name + ".checkpoints"),
                                    progress=not as_json and sys.stderr.isatty())
    summary = {"model": str(out_dir), "steps": result.steps, "best_val_loss": result.best_val_loss,
               "seconds": round(result.seconds, 1), "counts": meta["counts"]}
    if test_cases:
        report = evaluate(test_cases, predictor, threshold)
        summary["test"] = {"metrics": report.metrics, "baselines": report.baselines}
        record_metrics(out_dir, {"test": report.metrics, "baselines": report.baselines,
                                 "confusion": report.confusion})
    if as_json:
        support.emit_json(summary)
    else:
        click.echo(f"trained {out_dir} in {summary['seconds']}s ({result.steps} steps, best validation loss "
                   f"{result.best_val_loss:.4f})")
        if test_cases:
            m = summary["test"]["metrics"]
            click.echo(f"held-out repositories: accuracy {m['accuracy']}, precision {m['precision']}, "
                       f"coverage {m['coverage']} at threshold {threshold}")


@click.command("merge")
@click.option("--data", multiple=True, required=True, type=click.Path(exists=True),
              help="Merge-scenario JSONL(.gz) files or folders with the developers' resolutions.")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A model folder (default: the active merge model).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="Default: the model's.")
@click.option("--transformer", "transformer_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A MergeBERT classifier to report as a baseline beside a chooser (default: the built-in one).")
@click.option("--no-transformer", is_flag=True, help="Leave the MergeBERT baseline out (it is the slow part).")
@repo_option
@json_option
def eval_merge(data, model_dir, threshold, transformer_dir, no_transformer, repo, as_json):
    """Accuracy, precision and coverage of the merge model and of the baselines, as JSON (per
    repository and language for the chooser)."""
    from codeintel.merge.corpus import read_corpus
    from codeintel.models.registry import active_model, read_model_dir

    info = read_model_dir(model_dir, "merge", "given") if model_dir else active_model("merge", repo or Path.cwd())
    if info is None or not info.usable:
        raise Failure("no merge model: train one with `codeintel train merge`", EXIT_USAGE)
    skipped: list[str] = []      # records of --data that cannot be used: counted, not fatal
    examples = [ex for ex in read_corpus(list(data), skipped=skipped) if ex.resolution is not None]
    if not examples:
        raise Failure("no conflict regions with a resolution in the data"
                      + (f" ({len(skipped)} skipped; {skipped[0]})" if skipped else ""), EXIT_USAGE)
    skipped_note = {"records": len(skipped), "why": skipped[:20]}
    limit = threshold if threshold is not None else float(info.config.get("threshold", 0.9))
    from codeintel.merge.chooser import ARCHITECTURE
    if info.config.get("architecture") == ARCHITECTURE:
        support.emit_json({**_eval_chooser(info, examples, limit, transformer_dir, no_transformer, data),
                           "skipped": skipped_note})
        return
    from codeintel.merge.learn import evaluate, make_cases
    from codeintel.merge.training import load_predictor

    report = evaluate(make_cases(examples), load_predictor(info), limit)
    support.emit_json({"model": str(info.path), "data": [str(d) for d in data], "metrics": report.metrics,
                "baselines": report.baselines, "confusion_by_true_label": report.confusion,
                "instance_labels": report.labels, "seconds": round(report.seconds, 1), "skipped": skipped_note})


def _eval_chooser(info, examples, limit, transformer_dir, no_transformer, data) -> dict:
    from codeintel.merge.chooser import Chooser
    from codeintel.merge.chooser_eval import evaluate_chooser
    from codeintel.models.registry import builtin_dir, read_model_dir

    transformer, t_limit, t_path = None, 0.9, None
    if not no_transformer:
        t_info = read_model_dir(transformer_dir or builtin_dir("merge-transformer"), "merge", "given")
        if t_info.usable:
            from codeintel.merge.training import load_predictor
            transformer, t_limit, t_path = load_predictor(t_info), float(t_info.config.get("threshold", 0.9)), t_info.path
        elif transformer_dir:
            raise Failure(f"{transformer_dir}: {t_info.problem}", EXIT_USAGE)
    result = evaluate_chooser(examples, Chooser.load(info.path, info.config), limit, transformer, t_limit)
    return {"model": str(info.path), "transformer": str(t_path) if t_path else None,
            "data": [str(d) for d in data], **result}


@click.command("merge-driver")
@click.argument("base", type=click.Path())
@click.argument("ours", type=click.Path())
@click.argument("theirs", type=click.Path())
@click.argument("marker_size", type=int, default=7)
@click.argument("path", required=False)
def merge_driver(base, ours, theirs, marker_size, path):
    """git's merge driver: `codeintel merge-driver %O %A %B %L %P` (see install-merge-driver)."""
    from codeintel.merge.driver import run_merge_driver

    for f in (base, ours, theirs):
        if not os.path.isfile(f):
            raise Failure(f"{f}: no such file", EXIT_USAGE)
    sys.exit(run_merge_driver(base, ours, theirs, marker_size, path))


@click.command("install-merge-driver")
@click.option("--global", "global_", is_flag=True, help="For every repository of this user (~/.gitconfig).")
@click.option("--also", multiple=True, metavar="PATTERN",
              help="Route these files to the driver too (a gitattributes pattern such as '*.yaml'; repeatable).")
@repo_option
def install_merge_driver(global_, also, repo):
    """Register the merge driver with git and route the file types it can judge (the indexer's
    languages) to it through .gitattributes; other files keep git's own merge."""
    from codeintel.merge.install import InstallError, install

    try:
        lines = install(Path(repo) if repo else Path.cwd(), global_, also)
    except InstallError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    for line in lines:
        click.echo(line)


@click.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--explain", is_flag=True, help="Say why each conflict was resolved or left.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="Default: config, else the model's.")
def resolve(file, dry_run, explain, threshold):
    """Resolve the conflict markers a plain `git merge` left in FILE."""
    import difflib

    from codeintel.merge.driver import (bases_from_index, git_repo_root, merge_threshold, record, resolve_text, stage_blobs,
                               write_atomically)
    from codeintel.merge.resolver import Resolver

    path = Path(file)
    if not path.is_file():
        raise Failure(f"{file}: no such file", EXIT_USAGE)
    raw = path.read_bytes()
    if b"\0" in raw[:8192]:
        raise Failure(f"{file}: a binary file", EXIT_USAGE)
    text = raw.decode("utf-8", "surrogateescape")
    from codeintel.merge.markers import has_markers
    if not has_markers(text):
        click.echo(f"{file}: no conflict markers")
        return
    root = git_repo_root(str(path.resolve().parent))
    resolver = Resolver(root)
    if not resolver.available:
        raise Failure("no merge model: train one with `codeintel train merge`", EXIT_USAGE)
    limit = threshold if threshold is not None else merge_threshold(
        root, resolver, warn=lambda note: click.echo(printable(note), err=True))
    rel = str(path.resolve().relative_to(root)) if root else str(path)
    result = resolve_text(text, rel, resolver, limit, bases_from_index(root, path))
    if result.too_costly:
        click.echo(f"{printable(file)}: {result.too_costly}; conflict markers left as they are", err=True)
    if explain or dry_run:
        for d in result.decisions:
            state = "resolved" if d.resolved else "left"
            click.echo(f"conflict {d.hunk + 1}: {state} ({', '.join(d.patterns) or '-'}; confidence "
                       f"{d.confidence:.2f}): {d.reason}")
        for note in result.notes:
            click.echo(note)
    if dry_run:
        diff = difflib.unified_diff(text.splitlines(keepends=True), result.text.splitlines(keepends=True),
                                    f"{file} (now)", f"{file} (resolved)")
        sys.stdout.write("".join(diff))
    elif result.resolved:
        write_atomically(str(path), result.text.encode("utf-8", "surrogateescape"))
        record(root, rel, result.decisions, resolver.name, limit, "resolve", stage_blobs(root, rel))
    click.echo(f"{file}: {result.resolved} conflict(s) resolved, {result.conflicts} left"
               + (" (dry run: nothing written)" if dry_run else ""), err=True)
    sys.exit(0 if result.conflicts == 0 else 1)
