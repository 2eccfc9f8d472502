"""The ``codeintel`` command: parses arguments, calls the indexer or a store query, prints.

Exit codes (also in README.md):
  0   success
  1   the query found nothing (search, symbols, refs), like grep
  2   usage error or bad input (missing path, bad option or config value)
  3   the index cannot be used (none yet, corrupt, from a newer codeintel, locked too long)
  70  internal error (a bug: rerun with CODEINTEL_DEBUG=1 for the traceback)
  130 interrupted (Ctrl-C); the index stays consistent and the next run finishes the job
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import textwrap
import time
from pathlib import Path
from typing import Optional

import click

from . import __version__
from .config import ConfigError, load_index_settings, parse_size, repository_trust
from .display import json_safe, markup_safe, printable
from .models.extras import MissingExtra, needs_torch
from .store import Store, StoreError, check_store_dir, find_store, store_path

EXIT_NOTHING_FOUND = 1
EXIT_USAGE = 2
EXIT_STORE = 3
EXIT_INTERNAL = 70
EXIT_INTERRUPTED = 130


class Failure(Exception):
    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def _console(stderr: bool = False):
    from rich.console import Console
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def _emit_json(data) -> None:
    click.echo(json_safe(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def _open_store(repo: Optional[str]) -> Store:
    if repo:
        path = store_path(repo)
        if not path.is_file():
            raise Failure(f"no index in {repo}; run `codeintel index {repo}` first", EXIT_STORE)
    else:
        path = find_store(Path.cwd())
        if path is None:
            raise Failure("no index here or in any parent folder; run `codeintel index` first", EXIT_STORE)
    return Store.open(path, create=False)


repo_option = click.option("--repo", "repo", type=click.Path(file_okay=False), default=None,
                           help="Repository whose index to read (default: the nearest .codeintel above here).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codeintel")
def main() -> None:
    """Code intelligence that learns from the repository it works in."""


# ---------------------------------------------------------------------------------------- index
def _progress_reporter(enabled: bool):
    """A rich progress bar on a terminal; nothing when piped."""
    if not enabled:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=_console(stderr=True), transient=True)
    tasks: dict[str, int] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    return bar, update


def _move_aside(db: Path) -> Optional[Path]:
    if not db.exists():
        return None
    target = db.with_name(f"{db.name}.bak-{time.strftime('%Y%m%d-%H%M%S')}")
    db.rename(target)
    for suffix in ("-wal", "-shm"):
        side = Path(str(db) + suffix)
        if side.exists():
            side.rename(Path(str(target) + suffix))
    return target


@main.command()
@click.argument("path", default=".", type=click.Path())
@click.option("--max-file-size", default=None, help="Skip files larger than this (bytes or 512K/2M; default 1M).")
@click.option("--max-commits", type=int, default=None, help="Mine at most this many recent commits (0 = all; default 2000).")
@click.option("--since", default=None, help="Mine only commits after this date (git's --since syntax).")
@click.option("--no-history", is_flag=True, help="Do not mine the git history.")
@click.option("--workers", type=click.IntRange(1, 256), default=None, help="Parser processes (default: one per core).")
@click.option("--rebuild", is_flag=True, help="Move the existing index aside (index.db.bak-*) and build a new one.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary.")
@json_option
def index(path, max_file_size, max_commits, since, no_history, workers, rebuild, quiet, as_json):
    """Build or refresh PATH/.codeintel/index.db (files, symbols, references, chunks, history)."""
    from indexer.pipeline import IndexError_, index_repository

    root = Path(path)
    if not root.exists():
        raise Failure(f"{path}: no such directory", EXIT_USAGE)
    if not root.is_dir():
        raise Failure(f"{path}: not a directory", EXIT_USAGE)
    try:
        settings = load_index_settings(root)
        if max_file_size is not None:
            settings.max_file_size = parse_size(max_file_size)
    except ConfigError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    if max_commits is not None:
        if max_commits < 0:
            raise Failure("--max-commits must be 0 (all) or more", EXIT_USAGE)
        settings.max_commits = max_commits or None
    if since is not None:
        settings.since = since
    if no_history:
        settings.history = False
    check_store_dir(root)        # no symbolic link in .codeintel/ before anything there is moved or written
    moved = _move_aside(store_path(root)) if rebuild else None

    show = not quiet and not as_json and sys.stderr.isatty()
    bar, update = _progress_reporter(show)
    try:
        if bar:
            bar.start()
        result = index_repository(root, max_file_size=settings.max_file_size, workers=workers,
                                  history=settings.history, max_commits=settings.max_commits,
                                  since=settings.since, progress=update)
    except IndexError_ as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    finally:
        if bar:
            bar.stop()
    if as_json:
        data = vars(result)
        if moved:
            data["moved_aside"] = str(moved)
        _emit_json(data)
    elif not quiet:
        console = _console()
        if moved:
            console.print(f"moved the old index aside to {markup_safe(moved)}")
        console.print(f"indexed {markup_safe(result.root)} in {result.seconds:.2f}s: {result.listed} files listed, "
                      f"{result.parsed} parsed, {result.unchanged} unchanged, {result.deleted} removed, "
                      f"{result.skipped} skipped, {result.partial} with problems")
        if result.history:
            h = result.history
            console.print(f"history: {h.get('new_commits', 0)} new commits, "
                          f"{h.get('function_changes', 0)} function changes, "
                          f"{h.get('merge_scenarios', 0)} merge scenarios"
                          + (f" ({h['skipped_note']})" if h.get("skipped_note") else ""))
        if result.skipped or result.partial:
            console.print("`codeintel stats` lists what was skipped and why")


# ---------------------------------------------------------------------------------------- queries
def _show(rows: list, as_json: bool, render) -> None:
    """Print query results as JSON or through ``render``; exit 1 when there are none."""
    if as_json:
        _emit_json(rows)
    else:
        render(_console(), rows)
    if not rows:
        if not as_json:
            click.echo("no matches", err=True)
        sys.exit(EXIT_NOTHING_FOUND)


@main.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=10, help="How many results.")
@repo_option
@json_option
def search(query, limit, repo, as_json):
    """Full-text search over code chunks (functions, classes, other code), ranked by BM25."""
    with _open_store(repo) as store:
        hits = store.search(" ".join(query), limit=limit)
        for hit in hits:
            hit["text"] = store.chunk_text(hit["path"], hit["start_byte"], hit["end_byte"])
            hit["text"] = textwrap.dedent(hit["text"]).strip("\n")
    def render(console, rows):
        for hit in rows:
            console.print(f"[bold]{markup_safe(hit['path'])}:{hit['start_line']}[/] {hit['kind']} "
                          f"[cyan]{markup_safe(hit['name'])}[/] [dim](score {hit['score']:.2f})[/]")
            lines = hit["text"].splitlines()
            for line in lines[:4]:
                console.print("    " + printable(line, keep_tabs=True), markup=False)
            if len(lines) > 4:
                console.print(f"    [dim]… {len(lines) - 4} more lines[/]")

    _show(hits, as_json, render)


@main.command()
@click.argument("pattern", required=False)
@click.option("--kind", help="Only this kind (function, method, class, struct, interface, enum, ...).")
@click.option("--limit", "-n", type=click.IntRange(1, 100000), default=200, help="How many results.")
@repo_option
@json_option
def symbols(pattern, kind, limit, repo, as_json):
    """Definitions whose (qualified) name contains PATTERN, or matches it as a glob (*, ?)."""
    with _open_store(repo) as store:
        rows = store.symbols(pattern, kind=kind, limit=limit)
    def render(console, rows):
        for row in rows:
            console.print(f"{markup_safe(row['path'])}:{row['line']}: [dim]{row['kind']:<9}[/] "
                          f"[cyan]{markup_safe(row['qualname'])}[/]  [dim]{markup_safe(row['signature'] or '')}[/]")

    _show(rows, as_json, render)


@main.command()
@click.argument("name")
@click.option("--limit", "-n", type=click.IntRange(1, 1000000), default=None, help="At most this many.")
@repo_option
@json_option
def refs(name, limit, repo, as_json):
    """Every place identifier NAME is used (a qualified name like Shape.area looks up `area`)."""
    ident = name.replace("::", ".").rsplit(".", 1)[-1]
    with _open_store(repo) as store:
        rows = store.references(ident, limit=limit)

    def render(console, rows):
        for row in rows:
            console.print(f"{printable(row['path'])}:{row['line']}:{row['col'] + 1}: ", end="", markup=False)
            console.print(printable(row["text"], keep_tabs=True), markup=False)

    _show(rows, as_json, render)


@main.command()
@repo_option
@json_option
def stats(repo, as_json):
    """What the index holds: files per language, symbols, history, and what was skipped and why."""
    with _open_store(repo) as store:
        data = store.stats()
    if as_json:
        _emit_json(data)
        return
    from rich.table import Table

    console = _console()
    console.print(f"[bold]{markup_safe(data['root'] or data['store'])}[/]  (index {data['size_bytes'] / 1e6:.1f} MB,"
                  f" schema {data['schema_version']})")
    files = data["files"]
    console.print(f"files: {sum(files.values())} listed, {files.get('ok', 0)} indexed, "
                  f"{files.get('partial', 0)} with problems, {files.get('skipped', 0)} skipped "
                  f"({data['unsupported_files']} not a supported language)")
    table = Table("language", "files", box=None)
    for lang, count in data["languages"].items():
        table.add_row(lang, str(count))
    console.print(table)
    console.print("symbols: " + ", ".join(f"{k} {v}" for k, v in data["symbols"].items()))
    console.print(f"imports {data['imports']}, references {data['references']}, chunks {data['chunks']}")
    h = data["history"]
    if h["head"] is None and not h["commits"]:
        console.print("history: none mined (not a git work tree, or indexed with --no-history)")
    else:
        console.print(f"history: {h['commits']} commits ({h['merges']} merges), {h['function_changes']} function "
                      f"changes, {h['merge_scenarios']} merge scenarios ({h['conflicting_scenarios']} conflicting)"
                      + (f"; {h['note']}" if h.get("note") else ""))
    decisions = data.get("merge_decisions")
    if decisions:
        console.print(f"merge driver: {decisions['resolved']} conflicts resolved, {decisions['left']} left "
                      f"(last {decisions['last']})")
    for title, rows in (("with problems", data["partial"]), ("skipped", data["skipped"])):
        if rows:
            console.print(f"[bold]{title}[/] ({len(rows)}):")
            for row in rows[:50]:
                console.print(f"  {printable(row['path'])}: {printable(row['reason'])}", markup=False)
            if len(rows) > 50:
                console.print(f"  … {len(rows) - 50} more (see --json)")


# ---------------------------------------------------------------------------------------- models
@main.command()
@repo_option
@json_option
def models(repo, as_json):
    """The model each learned feature uses (this repository's own, else the built-in one)."""
    from .models.registry import FALLBACKS, FEATURES, find_repo_root, list_models, metric_summary

    if repo:
        if not Path(repo).is_dir():
            raise Failure(f"{repo}: no such directory", EXIT_USAGE)
        root = Path(repo).resolve()
    else:
        root = find_repo_root(Path.cwd()) or Path.cwd().resolve()
    found = list_models(root)
    trusted = repository_trust(root)
    features = []
    for feature in FEATURES:
        mine = [info for info in found if info.feature == feature]
        active = next((info for info in mine if info.active), None)
        features.append({
            "feature": feature,
            "active": active.to_dict() if active else None,
            "fallback": None if active else FALLBACKS.get(feature),
            "available": [info.to_dict() for info in mine if info.usable],
            "skipped": [{"path": str(info.path), "source": info.source, "reason": info.problem}
                        for info in mine if not info.usable],
        })
    if as_json:
        _emit_json({"repo": str(root), "trust": trusted, "features": features})
        return
    from rich.markup import escape

    from .report import format as fmt

    console = _console()
    console.print(f"[bold]models for {escape(printable(root))}[/]")
    for note in trusted["ignored"]:
        console.print(f"[yellow]{escape(printable(note))}[/]")
    width = max(len(f) for f in FEATURES) + 2
    for row in features:
        active = row["active"]
        if active:
            parts = [active["source"], escape(active["path"]), fmt.size(active["size_bytes"])]
            if active["parameters"]:
                parts.append(f"{fmt.parameters(active['parameters'])} parameters")
            parts += [f"{escape(name)} {value:.4g}" for name, value in metric_summary(active["metrics"])]
            console.print(f"  [cyan]{row['feature']:<{width}}[/]" + "  ".join(parts))
        else:
            console.print(f"  [cyan]{row['feature']:<{width}}[/]none (falls back to {row['fallback']})")
        for other in row["available"]:
            if not other["active"]:
                console.print(f"  {'':<{width}}[dim]also {other['source']} {escape(other['path'])} (not used)[/]")
        for skipped in row["skipped"]:
            console.print(f"  {'':<{width}}[yellow]skipped {escape(skipped['path'])}: {escape(skipped['reason'])}[/]")


# ---------------------------------------------------------------------------------------- trust
@main.command("trust")
@click.argument("path", required=False, type=click.Path(file_okay=False))
@click.option("--revoke", is_flag=True, help="Stop trusting PATH.")
@click.option("--list", "list_", is_flag=True, help="List the trusted folders.")
@json_option
def trust_command(path, revoke, list_, as_json):
    """Trust the repository at PATH (default: the one here) to choose its own completion backend,
    models and merge threshold in its .codeintel/ (recorded outside it, for this user)."""
    from . import trust
    from .models.registry import find_repo_root

    if list_:
        folders = [str(f) for f in trust.trusted_folders()]
        if as_json:
            _emit_json({"trusted": folders, "file": str(trust.config_home() / trust.TRUST_FILE)})
        else:
            for folder in folders:
                click.echo(printable(folder))
        return
    if path is not None and not Path(path).is_dir():
        raise Failure(f"{printable(path)}: no such directory", EXIT_USAGE)
    folder = Path(path) if path is not None else (find_repo_root(Path.cwd()) or Path.cwd())
    if revoke:
        changed = trust.revoke(folder)
        by = trust.trusted_by(folder)
        message = (f"no longer trusted: {folder.resolve()}" if changed else f"was not trusted itself: {folder.resolve()}") \
            + (f" (still trusted through {by}: `codeintel trust --revoke {by}`)" if by else "")
    else:
        folder = trust.trust(folder)
        message = f"trusted: {folder} (its .codeintel/config.toml and models apply; recorded in " \
                  f"{trust.config_home() / trust.TRUST_FILE})"
    if as_json:
        _emit_json(repository_trust(folder))
    else:
        click.echo(printable(message))


# ---------------------------------------------------------------------------------------- merge
def _merge_settings_from(size, epochs, max_len, vocab_size, batch_size, threshold, seed, max_train, eval_every,
                         patience, mirror=False):
    from .merge.training import MergeModelSettings

    return MergeModelSettings(size=size, epochs=epochs, max_len=max_len, vocab_size=vocab_size,
                              batch_size=batch_size, threshold=threshold, seed=seed, max_train=max_train,
                              eval_every=eval_every, patience=patience, mirror=mirror)


def _package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "tokenizers", "tree-sitter", "codeintel"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _corpus_card(paths) -> list[dict]:
    from .merge.corpus import _files

    return [{"file": f.name, "bytes": f.stat().st_size} for f in _files(paths)]


@main.group()
def train():
    """Train a feature's model on this repository's history (or on corpus files)."""


@train.command("merge")
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
@click.option("--threshold", default=0.9, show_default=True, type=click.FloatRange(0, 1))
@click.option("--seed", default=13, show_default=True)
@click.option("--max-train", default=0, type=click.IntRange(0), help="Cap on training instances (0 = all).")
@click.option("--eval-every", default=0, type=click.IntRange(0), help="Validate every N steps (0 = each epoch).")
@click.option("--patience", default=2, show_default=True, type=click.IntRange(0),
              help="Stop after this many validations without improvement (0 = never).")
@click.option("--mirror/--no-mirror", default=False, show_default=True,
              help="Also train on every conflict with ours and theirs exchanged (teaches the model that the "
                   "sides are symmetric, which they are not: git's ours is the branch merged into).")
@json_option
@needs_torch
def train_merge(corpus, repo, output, test_repos, val_repos, size, epochs, max_len, vocab_size, batch_size,
                threshold, seed, max_train, eval_every, patience, mirror, as_json):
    """Train the merge-conflict classifier (MergeBERT) and save it in the model registry."""
    from .merge.corpus import read_corpus, scenarios_from_store
    from .merge.learn import evaluate, make_cases, split_by_repo
    from .merge.training import train_model
    from .models.registry import find_repo_root, record_metrics, repo_model_dir

    root = Path(repo) if repo else (find_repo_root(Path.cwd()) or Path.cwd())
    if corpus:
        examples = list(read_corpus(list(corpus)))
        sources = {"corpora": _corpus_card(list(corpus))}
    else:
        with _open_store(str(root)) as store:
            examples = list(scenarios_from_store(store))
        sources = {"corpora": [{"repository history": str(root)}]}
    cases = make_cases(examples)
    if not cases:
        raise Failure("no merge conflicts with a known resolution to learn from"
                      + ("" if corpus else " in this repository's history; pass --corpus FILE"), EXIT_USAGE)
    tests = [r for r in test_repos.split(",") if r]
    vals = [r for r in val_repos.split(",") if r]
    train_cases, val_cases, test_cases = split_by_repo(cases, tests, vals)
    if not val_cases:
        val_cases, train_cases = train_cases[::10], [c for i, c in enumerate(train_cases) if i % 10]
    if not train_cases or not val_cases:
        raise Failure(f"too few cases to train on ({len(cases)})", EXIT_USAGE)
    settings = _merge_settings_from(size, epochs, max_len, vocab_size, batch_size, threshold, seed, max_train,
                                    eval_every, patience, mirror)
    out_dir = Path(output) if output else repo_model_dir(root, "merge")
    repos = sorted({c.repo for c in cases})
    meta = {**sources, "command": " ".join(["codeintel", *sys.argv[1:]]), "packages": _package_versions(),
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
        _emit_json(summary)
    else:
        click.echo(f"trained {out_dir} in {summary['seconds']}s ({result.steps} steps, best validation loss "
                   f"{result.best_val_loss:.4f})")
        if test_cases:
            m = summary["test"]["metrics"]
            click.echo(f"held-out repositories: accuracy {m['accuracy']}, precision {m['precision']}, "
                       f"coverage {m['coverage']} at threshold {threshold}")


@train.command("completion")
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
    from .completion.fid import FidSettings
    from .completion.ranker import load_ranker
    from .completion.train import TrainSettings, train_completion
    from .models.registry import active_model, find_repo_root, repo_model_dir

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
    with _open_store(str(root)) as store:
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
        _emit_json(summary)
    else:
        click.echo(f"trained {summary['model']} in {summary['seconds']}s ({summary['steps']} steps, best "
                   f"validation loss {summary['best_val_loss']:.4f})"
                   + (f", fine-tuned from {base.path}" if base is not None else ""))
        click.echo(_verdict_line(summary["judged"]))
        if not summary["installed"]:
            click.echo(f"not installed: completion keeps answering as before; --keep-anyway installs it in {active_dir}")


def _verdict_line(verdict: dict) -> str:
    """One line: the new completion model against its rivals on the validation holes."""
    from .completion.train import RIVALS

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


@train.command("completion-ranker")
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
    from .completion.train_ranker import RankerSettings, train_ranker
    from .models.registry import find_repo_root, repo_model_dir

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
        from .completion.ranker import FEATURE
        from .models.registry import active_model

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
        _emit_json(summary)
    else:
        v = summary["val"]
        click.echo(f"saved the completion ranker to {summary['output']} in {summary['seconds']}s: validation top-1 "
                   f"{v['ranker_top1']:.1%} against the matcher's own order {v['matcher_top1']:.1%}"
                   + (f" and the ranker it started from {v['base_ranker_top1']:.1%}" if "base_ranker_top1" in v else "")
                   + f" ({v['examples']} holes with the answer among the candidates)")


@main.group("eval")
def eval_():
    """Measure a feature's model against the named baselines on the same cases (JSON)."""


@eval_.command("merge")
@click.option("--data", multiple=True, required=True, type=click.Path(exists=True),
              help="Merge-scenario JSONL(.gz) files or folders with the developers' resolutions.")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A model folder (default: the active merge model).")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="Default: the model's.")
@repo_option
def eval_merge(data, model_dir, threshold, repo):
    """Accuracy, precision and coverage of the merge model and of the baselines, as JSON."""
    from .merge.corpus import read_corpus
    from .merge.learn import evaluate, make_cases
    from .merge.training import load_predictor
    from .models.registry import active_model, read_model_dir

    info = read_model_dir(model_dir, "merge", "given") if model_dir else active_model("merge", repo or Path.cwd())
    if info is None or not info.usable:
        raise Failure("no merge model: train one with `codeintel train merge`", EXIT_USAGE)
    cases = make_cases(read_corpus(list(data)))
    if not cases:
        raise Failure("no conflict regions with a resolution in the data", EXIT_USAGE)
    limit = threshold if threshold is not None else float(info.config.get("threshold", 0.9))
    report = evaluate(cases, load_predictor(info), limit)
    _emit_json({"model": str(info.path), "data": [str(d) for d in data], "metrics": report.metrics,
                "baselines": report.baselines, "confusion_by_true_label": report.confusion,
                "instance_labels": report.labels, "seconds": round(report.seconds, 1)})


@eval_.command("clones")
@click.option("--labelled", type=click.Path(dir_okay=False), default=None,
              help="JSONL(.gz): one program a line with id, label, code and optional language (MAP@R).")
@click.option("--split", default=None, help="Only the records whose `split` field is this (e.g. valid).")
@click.option("--limit", type=click.IntRange(2), default=None, help="At most this many labelled programs.")
@click.option("--language", default=None, help="Language of records that name none (e.g. cpp for POJ-104).")
@click.option("--pairs", type=click.Path(dir_okay=False), default=None,
              help="CSV with original,candidate,is_plagiarism,level (ROC-AUC per level); needs --root.")
@click.option("--root", type=click.Path(), default=None, help="Folder the paths of --pairs are relative to.")
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="A clones model folder to score too (default: the active clones model, if any).")
@click.option("--no-model", is_flag=True, help="Score the baselines only.")
@repo_option
def eval_clones(labelled, split, limit, language, pairs, root, model_dir, no_model, repo):
    """MAP@R (labelled programs) and ROC-AUC per level (plagiarism pairs) of each clone scorer, as JSON."""
    from .clones.evaluate import (EvalInputError, evaluate_pairs, evaluate_retrieval, model_scorers, read_labelled,
                                  read_pairs)

    if not labelled and not pairs:
        raise Failure("give --labelled FILE.jsonl and/or --pairs FILE.csv --root DIR", EXIT_USAGE)
    if pairs and not root:
        raise Failure("--pairs needs --root DIR (the folder its paths are relative to)", EXIT_USAGE)
    check_language(language)
    info = None if no_model else eval_model("clones", model_dir, Path(repo) if repo else Path.cwd())
    retrieval_extra, pairs_extra = model_scorers(info.path) if info is not None else ({}, {})
    out = {"model": None if info is None else {"path": str(info.path), "source": info.source,
                                               "corpora": info.meta.get("corpora"), "split": info.meta.get("split")}}
    try:
        if labelled:
            records = read_labelled(labelled, split, limit)
            out["retrieval"] = {"data": labelled, "split": split,
                                **evaluate_retrieval(records, language, extra=retrieval_extra)}
        if pairs:
            out["plagiarism"] = {"data": pairs, "root": root,
                                 **evaluate_pairs(read_pairs(pairs, root), root, extra=pairs_extra)}
    except EvalInputError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    _emit_json(out)


def check_language(language: Optional[str]) -> None:
    """Refuse (exit 2) a ``--language`` that is not one of the indexer's languages."""
    if language:
        from indexer.languages import language_names

        if language not in language_names():
            raise Failure(f"unknown language {language!r}; choose from {', '.join(language_names())}", EXIT_USAGE)


def eval_model(feature: str, model_dir: Optional[str], root: Path):
    """The model an ``eval FEATURE`` run scores: the ``--model`` folder (refused with exit 2 when
    it is not a usable model of that feature), else the active one if usable, else None."""
    from .models.registry import active_model, read_model_dir

    info = read_model_dir(model_dir, feature, "given") if model_dir else active_model(feature, root)
    if model_dir and not info.usable:
        raise Failure(f"{model_dir}: not a usable {feature} model ({info.problem})", EXIT_USAGE)
    return info if info is not None and info.usable else None


def read_case_file(cases_file: str, read_cases, skipped: Optional[list] = None) -> list:
    """The cases of an ``eval … --cases FILE`` run, read by the feature's ``read_cases``; a
    missing file, or one without a usable case, is refused with exit 2 (saying why the first
    line it skipped, if any, could not be used)."""
    if not Path(cases_file).is_file():
        raise Failure(f"{cases_file}: no such file", EXIT_USAGE)
    cases = read_cases(Path(cases_file))
    if not cases:
        why = f" ({len(skipped)} skipped; {skipped[0]})" if skipped else ""
        raise Failure(f"{cases_file}: no usable cases{why}", EXIT_USAGE)
    return cases


@eval_.command("completion")
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
    from .completion.evaluate import evaluate_cases, evaluate_repository, read_cases, report_dict

    root = Path(repo)
    if not root.is_dir():
        raise Failure(f"{repo}: no such directory", EXIT_USAGE)
    predictor, model_name = None, None
    info = None if no_model else eval_model("completion", model_dir, root)
    if info is not None:
        from .completion.fid import load_predictor

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
    _emit_json({**report_dict(report, repo=str(root.resolve()), cases_file=cases_file, seed=seed,
                              model=model_name or "none (model-free predictors only)", ranker=ranker_name),
                "skipped": {"cases": len(skipped), "why": skipped[:20]}})


def _eval_ranker(ranker_dir, root: Path):
    """The completion ranker to evaluate: ``ranker_dir``, else the active one; (ranker, its path or None)."""
    from .completion.ranker import FEATURE, Ranker
    from .models.registry import active_model, read_model_dir

    info = read_model_dir(ranker_dir, FEATURE, "given") if ranker_dir else active_model(FEATURE, root)
    if info is None:
        return None, None
    if not info.usable:
        raise Failure(f"{ranker_dir}: {info.problem}", EXIT_USAGE)
    try:
        return Ranker.load(info.path, str(info.path)), str(info.path)
    except (OSError, ValueError, KeyError) as exc:
        raise Failure(f"{info.path}: not a usable completion ranker ({exc})", EXIT_USAGE) from None


@main.command("merge-driver")
@click.argument("base", type=click.Path())
@click.argument("ours", type=click.Path())
@click.argument("theirs", type=click.Path())
@click.argument("marker_size", type=int, default=7)
@click.argument("path", required=False)
def merge_driver(base, ours, theirs, marker_size, path):
    """git's merge driver: `codeintel merge-driver %O %A %B %L %P` (see install-merge-driver)."""
    from .merge.driver import run_merge_driver

    for f in (base, ours, theirs):
        if not os.path.isfile(f):
            raise Failure(f"{f}: no such file", EXIT_USAGE)
    sys.exit(run_merge_driver(base, ours, theirs, marker_size, path))


@main.command("install-merge-driver")
@click.option("--global", "global_", is_flag=True, help="For every repository of this user (~/.gitconfig).")
@repo_option
def install_merge_driver(global_, repo):
    """Register the merge driver with git and route files to it through .gitattributes."""
    from .merge.install import install

    for line in install(Path(repo) if repo else Path.cwd(), global_):
        click.echo(line)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--explain", is_flag=True, help="Say why each conflict was resolved or left.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=None, help="Default: config, else the model's.")
def resolve(file, dry_run, explain, threshold):
    """Resolve the conflict markers a plain `git merge` left in FILE."""
    import difflib

    from .merge.driver import (_bases_from_index, _repo_root, merge_threshold, record, resolve_text, stage_blobs,
                               write_atomically)
    from .merge.resolver import Resolver

    path = Path(file)
    if not path.is_file():
        raise Failure(f"{file}: no such file", EXIT_USAGE)
    raw = path.read_bytes()
    if b"\0" in raw[:8192]:
        raise Failure(f"{file}: a binary file", EXIT_USAGE)
    text = raw.decode("utf-8", "surrogateescape")
    from .merge.markers import has_markers
    if not has_markers(text):
        click.echo(f"{file}: no conflict markers")
        return
    root = _repo_root(str(path.resolve().parent))
    resolver = Resolver(root)
    if not resolver.available:
        raise Failure("no merge model: train one with `codeintel train merge`", EXIT_USAGE)
    limit = threshold if threshold is not None else merge_threshold(
        root, resolver, warn=lambda note: click.echo(printable(note), err=True))
    rel = str(path.resolve().relative_to(root)) if root else str(path)
    result = resolve_text(text, rel, resolver, limit, _bases_from_index(root, path))
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


# ---------------------------------------------------------------------------------------- clones
learned_threshold_option = click.option(
    "--learned-threshold", type=click.FloatRange(-1, 1), default=None,
    help="Learned cosine from which a pair is reported even when its fragments are below --threshold "
         "(only with a clones model; default 0.95 for clones, 0.9 for plagiarism).")
no_learned_option = click.option("--no-learned", is_flag=True,
                                 help="Fragment similarity only, even when a clones model is active.")


def _clone_encoder(root: Optional[Path], no_learned: bool):
    from .clones.embeddings import learned_encoder

    return learned_encoder(root, enabled=not no_learned)


def _embedding_progress(as_json: bool):
    """A progress bar while embeddings are computed (on a terminal only), as a context."""
    import contextlib

    bar, update = _progress_reporter(not as_json and sys.stderr.isatty())

    @contextlib.contextmanager
    def running():
        if bar:
            bar.start()
        try:
            yield update
        finally:
            if bar:
                bar.stop()

    return running()


def _archive_store(index: str, create: bool) -> Store:
    """An archive of past submissions: a store file, or a folder holding .codeintel/index.db."""
    path = Path(index)
    if path.is_dir():
        path = store_path(path)
    if not create and not path.is_file():
        raise Failure(f"{index}: no such archive store", EXIT_USAGE)
    if path.is_dir() or not path.parent.is_dir():
        raise Failure(f"{index}: not a store file in an existing folder", EXIT_USAGE)
    return Store.open(path, create=create)


@main.command()
@click.argument("dirs", nargs=-1, required=True, type=click.Path())
@click.option("--template", "templates", multiple=True, type=click.Path(),
              help="Starter code (file or folder; repeatable): its fingerprints are ignored.")
@click.option("--against", "against", type=click.Path(), default=None,
              help="An archive store of past submissions to compare the new ones with.")
@click.option("--keep", "keep", type=click.Path(), default=None,
              help="Add (or replace) these submissions in this archive store afterwards.")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True,
              help="Fragment similarity from which pairs are flagged and clustered.")
@learned_threshold_option
@click.option("--limit", type=click.IntRange(1), default=200, show_default=True,
              help="Compare in full (fragments) this many of the best pairs.")
@click.option("--top", type=click.IntRange(0), default=20, show_default=True, help="Pairs shown in the table.")
@click.option("--show", type=click.IntRange(0), default=3, show_default=True,
              help="Pairs whose fragments are shown side by side.")
@click.option("--html", "html_file", type=click.Path(), default=None, help="Write a standalone HTML report.")
@click.option("--csv", "csv_file", type=click.Path(), default=None, help="Write the ranked pairs as CSV ('-': stdout).")
@no_learned_option
@json_option
def plagiarism(dirs, templates, against, keep, threshold, learned_threshold, limit, top, show, html_file, csv_file,
               no_learned, as_json):
    """Compare submissions: each file or sub-folder of each DIR is one submission."""
    from .clones.plagiarism import (DEFAULT_LEARNED_THRESHOLD, SubmissionError, apply_template,
                                    archive_submissions, detect, keep_in_archive, load_submissions,
                                    nearest_archived, template_hashes)
    from .clones.render import render_csv, render_html, render_text

    skipped: list = []   # what was not read (links, FIFOs, over a limit), shown with the run
    try:
        template = template_hashes(templates, skipped=skipped) if templates else None
        subs = load_submissions(dirs, skipped=skipped)
    except SubmissionError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    if not subs:
        raise Failure("no submissions (files or sub-folders) in " + ", ".join(dirs), EXIT_USAGE)
    if not against and len(subs) < 2:
        raise Failure("only one submission: give a folder with two or more, or --against an archive", EXIT_USAGE)
    apply_template(subs, template)
    from .models.registry import find_repo_root

    encoder = _clone_encoder(find_repo_root(Path.cwd()), no_learned)
    new_count = len(subs)
    vectors = None
    with _embedding_progress(as_json) as progress:
        if encoder is not None:
            from .clones.embeddings import submission_vectors

            vectors = submission_vectors(subs, encoder, progress)
        if against:
            with _archive_store(against, create=False) as store:
                kept, nearest = nearest_archived(store, encoder, vectors, progress) if encoder else ({}, set())
                subs += archive_submissions(store, subs, also=nearest)
            if vectors is not None:
                import numpy as np

                vectors = np.concatenate([vectors, np.stack([kept[s.name] for s in subs[new_count:]])
                                          if len(subs) > new_count else vectors[:0]])
    run = detect(subs, template, threshold, limit, vectors=vectors,
                 learned_name=encoder.model_id if encoder else None, only_new_vs_archive=bool(against),
                 learned_threshold=DEFAULT_LEARNED_THRESHOLD if learned_threshold is None else learned_threshold,
                 learned_dim=encoder.learned_dim if encoder else None)
    run.skipped = skipped
    if against:
        run.notes.append(f"{new_count} new submission(s) compared with {len(subs) - new_count} kept in {against} "
                         "that share code with them" + (" or are among their nearest by learned similarity"
                                                        if encoder else ""))
    if html_file:
        _write_output(html_file, render_html(run))
    if csv_file:
        if csv_file == "-":
            click.echo(render_csv(run, escape=sys.stdout.isatty()), nl=False)
        else:
            _write_output(csv_file, render_csv(run))
    if keep:
        with _archive_store(keep, create=True) as store:
            added = keep_in_archive(store, subs, vectors, encoder.model_id if encoder else None)
        run.notes.append(f"kept {added} submission(s) in {keep}")
    if as_json:
        _emit_json(run.as_dict())
    elif csv_file != "-":
        render_text(run, _console(), top=top, show=show)
    for label, target in (("HTML report", html_file), ("CSV", csv_file)):
        if target and target != "-" and not as_json:
            click.echo(f"wrote the {label} to {target}", err=True)


@main.command()
@click.argument("path", default=".", type=click.Path())
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.7, show_default=True,
              help="Fragment similarity from which a pair is reported.")
@learned_threshold_option
@click.option("--min-tokens", type=click.IntRange(1), default=40, show_default=True,
              help="Ignore functions with fewer tokens.")
@no_learned_option
@json_option
def clones(path, threshold, learned_threshold, min_tokens, no_learned, as_json):
    """Groups of near-duplicate functions in the indexed repository (under PATH)."""
    from .clones.repo import DEFAULT_LEARNED_THRESHOLD, find_clones

    target = Path(path)
    if not target.exists():
        raise Failure(f"{path}: no such file or directory", EXIT_USAGE)
    db = find_store(target if target.is_dir() else target.parent)
    if db is None:
        raise Failure(f"no index in {path} or any parent folder; run `codeintel index` first", EXIT_STORE)
    root = db.parent.parent
    prefix = target.resolve().relative_to(root.resolve()).as_posix() if target.resolve() != root.resolve() else ""
    encoder = _clone_encoder(root, no_learned)
    with Store.open(db, create=False) as store, _embedding_progress(as_json) as progress:
        data = find_clones(store, threshold, min_tokens, "" if prefix == "." else prefix, encoder=encoder,
                           learned_threshold=DEFAULT_LEARNED_THRESHOLD if learned_threshold is None
                           else learned_threshold, progress=progress)
    if as_json:
        _emit_json(data)
        return
    console = _console()
    learned = data["learned_model"] is not None
    if not data["groups"]:
        either = f" or learned >= {data['learned_threshold']}" if learned else ""
        console.print(f"no near-duplicate functions (similarity >= {threshold}{either}) among {data['compared']} "
                      f"functions of {min_tokens}+ tokens")
        sys.exit(EXIT_NOTHING_FOUND)
    from rich.table import Table

    def score(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    for n, g in enumerate(data["groups"], 1):
        title = f"group {n}: {len(g['functions'])} functions, fragment similarity up to {g['similarity']:.2f}"
        if learned:
            title += f", learned up to {score(g['learned_similarity'])}"
        table = Table(title=title, title_justify="left")
        for column in ("a", "b", "fragments") + (("learned",) if learned else ()) + ("shared lines",):
            table.add_column(column, justify="right" if column in ("fragments", "learned") else "left")
        for p in g["pairs"]:
            a, b = p["a"], p["b"]
            shared = ", ".join(f"{f['a']['start_line']}-{f['a']['end_line']}~{f['b']['start_line']}-{f['b']['end_line']}"
                               for f in p["fragments"][:3]) or "none"
            table.add_row(f"{a['qualname']} {a['path']}:{a['start_line']}-{a['end_line']}",
                          f"{b['qualname']} {b['path']}:{b['start_line']}-{b['end_line']}", score(p["similarity"]),
                          *((score(p["learned_similarity"]),) if learned else ()), shared)
        console.print(table)
    if learned:
        console.print(f"learned similarity by clones model {data['learned_model']} (pairs at fragments >= "
                      f"{threshold} or learned >= {data['learned_threshold']}); {data['embedded']} "
                      f"function(s) and file(s) embedded this run", style="dim")
    else:
        console.print("similarity: tokens covered by shared fragments (no learned clone model used)", style="dim")


# ---------------------------------------------------------------------------------------- report
def _write_output(target: str, text: str) -> None:
    """Write a report file; a folder, or a file in a folder that does not exist, is bad input."""
    path = Path(target)
    if path.is_dir():
        raise Failure(f"{target}: is a directory", EXIT_USAGE)
    if not path.parent.is_dir():
        raise Failure(f"{target}: no such directory {path.parent}", EXIT_USAGE)
    from .merge.driver import write_atomically

    try:
        write_atomically(str(path), text.encode("utf-8"))
    except OSError as exc:
        raise Failure(f"{target}: cannot write ({exc.strerror or exc})", EXIT_USAGE) from None


@main.command()
@click.argument("path", default=".", type=click.Path())
@click.option("--section", "sections", multiple=True, metavar="NAME",
              help="Only this section (repeatable): index, history, merges, models, clones, findings.")
@click.option("--html", "html_file", type=click.Path(), default=None, help="Write one standalone HTML file.")
@click.option("--sarif", "sarif_file", type=click.Path(), default=None,
              help="Write a SARIF 2.1.0 log (GitHub code scanning).")
@json_option
def report(path, sections, html_file, sarif_file, as_json):
    """What codeintel knows about the repository at PATH: index, history, merges, models, clones, findings."""
    from .report import SECTION_NAMES, UnknownSection, build_report, render_html, render_sarif, render_text

    if not Path(path).is_dir():
        raise Failure(f"{path}: no such directory", EXIT_USAGE)
    db = find_store(path)
    if db is None:
        raise Failure(f"no index in {path} or any parent folder; run `codeintel index {path}` first", EXIT_STORE)
    wanted = list(sections) or list(SECTION_NAMES)
    try:
        data = build_report(db.parent.parent, wanted + (["findings"] if sarif_file else []))
    except UnknownSection as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    if sarif_file:
        _write_output(sarif_file, json.dumps(render_sarif(data), indent=2, ensure_ascii=False) + "\n")
        if "findings" not in wanted:
            data["sections"].pop("findings")
    if html_file:
        _write_output(html_file, render_html(data))
    if as_json:
        _emit_json(data)
    elif not (html_file or sarif_file):
        render_text(data, _console())
    for label, target in (("HTML report", html_file), ("SARIF log", sarif_file)):
        if target and not as_json:
            click.echo(f"wrote the {label} to {target}", err=True)


# ---------------------------------------------------------------------------------------- lsp
@main.command()
@click.option("--tcp", "tcp", metavar="HOST:PORT", default=None, help="Listen on TCP instead of stdio.")
@click.option("--token-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --tcp: clients must send this file's token (else $CODEINTEL_LSP_TOKEN's) "
                   "as initializationOptions.token.")
@click.option("--allow-unauthenticated", is_flag=True, help="With --tcp: serve clients without a token.")
def lsp(tcp, token_file, allow_unauthenticated):
    """The language server (stdio by default): navigation, completion, merge conflicts."""
    token = None
    if tcp is not None:
        host, sep, port = tcp.rpartition(":")
        if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
            raise Failure(f"--tcp {tcp}: expected HOST:PORT, e.g. 127.0.0.1:2087", EXIT_USAGE)
        from lsp.tcp import TokenError, load_token
        try:
            token = load_token(token_file, allow_unauthenticated)
        except TokenError as exc:
            raise Failure(str(exc), EXIT_USAGE) from None
    elif token_file is not None or allow_unauthenticated:
        raise Failure("--token-file and --allow-unauthenticated apply to --tcp only", EXIT_USAGE)
    from lsp.main import start

    start(tcp, token)


# ---------------------------------------------------------------------------------------- completion
def _parse_location(location: str) -> tuple[Path, int, int]:
    """FILE:LINE:COL (both 1-based, as compilers print them) -> (file, line, 0-based column)."""
    parts = location.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or not parts[2].isdigit():
        raise Failure(f"{location}: expected FILE:LINE:COL (line and column numbers from 1)", EXIT_USAGE)
    line, col = int(parts[1]), int(parts[2])
    if line < 1 or col < 1:
        raise Failure(f"{location}: line and column count from 1", EXIT_USAGE)
    return Path(parts[0]), line, col - 1


@main.command()
@click.argument("location", metavar="FILE:LINE:COL")
@click.option("--n", "n", type=click.IntRange(1, 20), default=None, help="How many suggestions (default: config, 3).")
@click.option("--backend", type=click.Choice(["builtin", "hf", "http"]), default=None,
              help="Override [completion] backend of .codeintel/config.toml.")
@repo_option
@json_option
def complete(location, n, backend, repo, as_json):
    """Suggest how to go on at FILE:LINE:COL (the rest of the line, or a block after a ':')."""
    from .completion import BadPosition, complete as complete_at
    from .config import load_completion_settings
    from .models.registry import find_repo_root

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
        _emit_json({"file": rel, "line": line, "column": col + 1, "root": str(root),
                    "suggestions": [s.to_dict() for s in found]})
    else:
        console = _console()
        for s in found:
            console.print(s.text, markup=False, end="")
            console.print(f"    [dim]({s.source}, {s.score:.3g})[/]")
        if found and found[0].detail:
            click.echo(f"note: {found[0].detail}", err=True)
    if not found:
        if not as_json:
            click.echo("no suggestions", err=True)
        sys.exit(EXIT_NOTHING_FOUND)


# ---------------------------------------------------------------------------------------- edits
from .edits.commands import register as _register_edits  # noqa: E402  (after the groups it joins)

_register_edits(main, train, eval_)

from .sketch.commands import register as _register_sketch  # noqa: E402

_register_sketch(main, train, eval_)

from .clones.commands import register as _register_clones  # noqa: E402

_register_clones(train)


def _eval_takes_json(group: click.Group) -> None:
    """`codeintel eval …` always prints JSON; like every query command it accepts --json."""
    for command in group.commands.values():
        if not any("--json" in param.opts for param in command.params):
            command.params.append(click.Option(["--json"], is_flag=True, expose_value=False,
                                               help="Print JSON for scripts (what eval always prints)."))


_eval_takes_json(eval_)


# ---------------------------------------------------------------------------------------- entry
def run(argv: Optional[list[str]] = None) -> int:
    """Entry point: every failure becomes one line on stderr and a documented exit code."""
    try:
        main.main(args=argv, prog_name="codeintel", standalone_mode=False)
        return 0
    except SystemExit as exc:  # sys.exit from a command (nothing found) or click's own exits
        return exc.code if isinstance(exc.code, int) else 0
    except click.exceptions.Abort:
        click.echo("codeintel: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.ClickException as exc:
        exc.show()
        return EXIT_USAGE
    except Failure as exc:
        click.echo(f"codeintel: {exc}", err=True)
        return exc.code
    except MissingExtra as exc:
        click.echo(f"codeintel: {exc}", err=True)
        return EXIT_USAGE
    except StoreError as exc:
        click.echo(f"codeintel: {exc}", err=True)
        return EXIT_STORE
    except sqlite3.OperationalError as exc:
        click.echo(f"codeintel: the index is busy or unreadable ({exc}); try again", err=True)
        return EXIT_STORE
    except KeyboardInterrupt:
        click.echo("codeintel: interrupted; the index is consistent and the next run finishes the job", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    except Exception as exc:  # noqa: BLE001
        if os.environ.get("CODEINTEL_DEBUG"):
            raise
        click.echo(f"codeintel: internal error: {type(exc).__name__}: {exc} "
                   f"(rerun with CODEINTEL_DEBUG=1 for details)", err=True)
        return EXIT_INTERNAL


def entry() -> None:
    sys.exit(run())
