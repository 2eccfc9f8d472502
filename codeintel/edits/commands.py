"""The edits feature's CLI: `codeintel edits suggest|propagate`, `codeintel train edits`,
`codeintel eval edits`. Registered on the main command groups by ``register``; arguments
are parsed here and the work is done by the feature's functions."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from codeintel import cli_support as support

from ..models.extras import needs_torch


LAST_PROPAGATION = "edits/propagate.json"     # under .codeintel/



def _root(repo: Optional[str]) -> Path:
    from ..store import check_store_dir, find_store

    start = Path(repo) if repo else Path.cwd()
    if repo and not start.is_dir():
        raise support.Failure(f"{repo}: no such directory", support.EXIT_USAGE)
    db = find_store(start)
    if db is None:
        raise support.Failure(f"no index in {start} or any parent folder; run `codeintel index` first", support.EXIT_STORE)
    check_store_dir(db.parent.parent)     # before .codeintel/edits/ is read or written
    return db.parent.parent


def _print_suggestions(suggestions, console) -> None:
    from rich.syntax import Syntax

    for n, s in enumerate(suggestions, 1):
        console.print(f"[bold]{n}.[/bold] {s.path}:{s.start_line} [cyan]{s.qualname}[/cyan]  "
                      f"confidence [bold]{s.confidence:.2f}[/bold]  ({s.source}: {s.reason})", highlight=False)
        console.print(Syntax(s.diff(), "diff", theme="ansi_dark", background_color="default"))


def _choose(suggestions, spec: str):
    if spec.strip().lower() == "all":
        return list(suggestions)
    chosen = []
    for part in spec.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= len(suggestions):
            raise support.Failure(f"--apply {spec!r}: give 'all' or numbers from 1 to {len(suggestions)}", support.EXIT_USAGE)
        chosen.append(suggestions[int(part) - 1])
    return chosen


def _report_applied(results, as_json: bool) -> int:
    if as_json:
        support.emit_json([{"path": r.suggestion.path, "qualname": r.suggestion.qualname, "ok": r.ok,
                         "message": r.message} for r in results])
    else:
        console = support.console()
        for r in results:
            mark = "[green]applied[/green]" if r.ok else f"[yellow]skipped[/yellow] ({r.message})"
            console.print(f"{r.suggestion.path}:{r.suggestion.start_line} {r.suggestion.qualname}: {mark}",
                          highlight=False)
    return 0 if all(r.ok for r in results) else 1


def _show_or_apply(suggestions, apply: Optional[str], as_json: bool, root: Path) -> None:
    import sys

    from .suggestion import UnsafeSuggestion, apply_suggestions

    if apply:
        if not suggestions:
            raise support.Failure("no suggestions to apply", support.EXIT_NOTHING_FOUND)
        try:
            results = apply_suggestions(root, _choose(suggestions, apply))
        except UnsafeSuggestion as exc:
            raise support.Failure(str(exc), support.EXIT_USAGE) from None
        sys.exit(_report_applied(results, as_json))
    if as_json:
        support.emit_json([dict(s.to_dict(), number=n, diff=s.diff()) for n, s in enumerate(suggestions, 1)])
    elif suggestions:
        _print_suggestions(suggestions, support.console())
    else:
        support.console(stderr=True).print("no suggestions")
    if not suggestions:
        sys.exit(support.EXIT_NOTHING_FOUND)


def _last_run(saved: Path, asked: dict):
    """The suggestions of the last ``propagate`` run when it asked the same question (the
    numbers the user saw), else None."""
    from .suggestion import Suggestion

    if not saved.is_file():
        return None
    try:
        last = json.loads(saved.read_text(encoding="utf-8"))
        if last.get("asked") == asked:
            return [Suggestion.from_dict(d) for d in last["suggestions"]]
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        pass
    return None


def _check_saved(root: Path, chosen, current) -> None:
    """The saved suggestions chosen may be applied: each one names a file of the repository and
    is one that ``propagate`` finds now, unless its file changed since (apply leaves those
    alone). The saved file is only a list of numbers the user saw: a repository can commit one."""
    from ..display import printable
    from .suggestion import check_paths, sha256

    check_paths(root, chosen)
    found = {json.dumps(s.to_dict(), sort_keys=True) for s in current}
    for s in chosen:
        if json.dumps(s.to_dict(), sort_keys=True) in found:
            continue
        try:
            unchanged = sha256((root / s.path).read_bytes()) == s.file_sha256
        except OSError:
            continue        # apply says it cannot read it
        if unchanged:
            raise support.Failure(f"{printable(s.path)}:{s.start_line} {printable(s.qualname)} is not a suggestion "
                              "`codeintel edits propagate` makes now; run it again and choose from what it shows",
                              support.EXIT_USAGE)


@click.group("edits")
def edits_group():
    """Edits learned from the history, and your own edit repeated where it fits."""


@edits_group.command("suggest")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@click.option("--apply", "apply", default=None, metavar="N[,N…]|all", help="Apply these suggestions (numbers as listed).")
@click.option("--repo", type=click.Path(file_okay=False), default=None, help="Repository (default: the nearest index).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def suggest_cmd(file, apply, repo, as_json):
    """Suggest edits for FILE's functions (default: the files changed since HEAD)."""
    from .propagate import PropagationError, git_in
    from .suggest import suggest_for_file

    root = _root(repo or (str(Path(file).resolve().parent) if file else None))
    if file:
        path = Path(file).resolve()
        if not path.is_file():
            raise support.Failure(f"{file}: no such file", support.EXIT_USAGE)
        try:
            rels = [path.relative_to(root.resolve()).as_posix()]
        except ValueError:
            raise support.Failure(f"{file}: not inside the repository {root}", support.EXIT_USAGE) from None
    else:
        proc = git_in(root, "diff", "--name-only", "-z", "HEAD", "--")
        if proc.returncode:
            raise support.Failure("no FILE given and git cannot list the changed files; pass FILE", support.EXIT_USAGE)
        rels = [r for r in proc.stdout.decode("utf-8", "replace").split("\0") if r and (root / r).is_file()]
    suggestions = []
    try:
        for rel in rels:
            data = (root / rel).read_bytes()
            if b"\0" in data[:8000]:
                continue
            suggestions += suggest_for_file(root, rel, data.decode("utf-8", "replace"))
    except PropagationError as exc:
        raise support.Failure(str(exc), support.EXIT_USAGE) from None
    _show_or_apply(suggestions, apply, as_json, root)


@edits_group.command("propagate")
@click.option("--against", default="HEAD", show_default=True, help="Compare the working tree with this commit.")
@click.option("--branch", default=None, help="Take the edit of the current branch: against its merge base with BRANCH.")
@click.option("--apply", "apply", default=None, metavar="N[,N…]|all",
              help="Apply these suggestions of the last `propagate` run (numbers as listed).")
@click.option("--min-confidence", default=0.3, show_default=True, type=click.FloatRange(0, 1))
@click.option("--repo", type=click.Path(file_okay=False), default=None, help="Repository (default: the nearest index).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
def propagate_cmd(against, branch, apply, min_confidence, repo, as_json):
    """Find the other places where your edit applies and show it there as diffs."""
    from ..store import STORE_DIR
    from ..store.files import write_text_atomic
    from .propagate import PropagationError, propagate
    from .suggestion import UnsafeSuggestion

    root = _root(repo)
    saved = root / STORE_DIR / LAST_PROPAGATION
    asked = {"against": against, "branch": branch, "min_confidence": min_confidence}
    last = _last_run(saved, asked) if apply else None
    try:
        suggestions = propagate(root, against, branch, min_confidence=min_confidence)
    except PropagationError as exc:
        raise support.Failure(str(exc), support.EXIT_USAGE) from None
    if last is not None:
        # the numbers the user saw: the last run's suggestions, checked against this run's
        try:
            _check_saved(root, _choose(last, apply), suggestions)
        except UnsafeSuggestion as exc:
            raise support.Failure(str(exc), support.EXIT_USAGE) from None
        suggestions = last
    elif not apply:
        write_text_atomic(saved, json.dumps({"asked": asked, "suggestions": [s.to_dict() for s in suggestions]}))
    _show_or_apply(suggestions, apply, as_json, root)


def _pairs(data, repo, skipped: Optional[list[str]] = None):
    """(pairs, description of the data) from --data files or a repository's store (``skipped``:
    where the lines of --data that are not JSON are noted instead of stopping the run)."""
    from ..store import Store, find_store
    from .data import DataError, read_corpus, store_pairs

    if data:
        try:
            return read_corpus(list(data), skipped), [str(d) for d in data]
        except DataError as exc:
            raise support.Failure(str(exc), support.EXIT_USAGE) from None
    root = _root(repo)
    with Store.open(find_store(root), create=False) as store:
        return store_pairs(store, root.name), [str(root)]


def _split(pairs, cut, holdout):
    from .data import default_cut, time_split

    if not pairs:
        raise support.Failure("no modified functions in the data", support.EXIT_USAGE)
    if cut is not None:
        import datetime

        try:
            datetime.date.fromisoformat(cut)
        except ValueError:
            raise support.Failure(f"--cut {cut!r}: not a date (YYYY-MM-DD)", support.EXIT_USAGE) from None
    cut = cut or default_cut(pairs)
    repos = {r.strip() for r in holdout.split(",") if r.strip()} if holdout else None
    if repos and not repos & {p["repo"] for p in pairs}:
        raise support.Failure(f"--holdout-repos: none of {', '.join(sorted(repos))} is in the data", support.EXIT_USAGE)
    train, test = time_split(pairs, cut, repos)
    if not train or not test:
        raise support.Failure(f"the cut {cut} leaves {len(train)} training and {len(test)} test pairs; "
                          "choose another --cut", support.EXIT_USAGE)
    return cut, repos, train, test


data_option = click.option("--data", multiple=True, type=click.Path(),
                           help="Function-change JSONL(.gz) files (format: shared/corpora/edits); "
                                "default: the repository's indexed history.")
cut_option = click.option("--cut", default=None, metavar="YYYY-MM-DD",
                          help="Time split: commits from this date on are test (default: the last 20 % of commits).")
holdout_option = click.option("--holdout-repos", default="",
                              help="Comma-separated repositories used only for testing (never for training).")


@click.command("edits")
@data_option
@click.option("--repo", type=click.Path(file_okay=False), default=None, help="Evaluate on this repository's history.")
@cut_option
@holdout_option
@click.option("--model", "model_dir", type=click.Path(exists=True, file_okay=False), default=None,
              help="An edits model folder (default: the active one, if any).")
@click.option("--no-model", is_flag=True, help="Only the baselines.")
@click.option("--max-cases", default=3000, show_default=True, type=click.IntRange(1))
def eval_edits(data, repo, cut, holdout_repos, model_dir, no_model, max_cases):
    """Exact match top-1/5/10 and edit similarity on a time split, against the baselines; and
    propagation precision/recall. JSON."""
    from .evaluate import evaluate
    from .model import predictor_for

    skipped: list[str] = []
    pairs, sources = _pairs(data, repo, skipped)
    cut, repos, train, test = _split(pairs, cut, holdout_repos)
    predictor = None
    if not no_model:
        predictor = predictor_for(model_dir, Path(repo) if repo else Path.cwd())
    result = evaluate(train, test, model=predictor.candidates if predictor else None,
                      idioms=predictor.idioms if predictor else None, max_cases=max_cases)
    support.emit_json({"data": sources, "cut": cut, "holdout_repos": sorted(repos) if repos else None,
                    "train_pairs": len(train), "test_pairs": len(test),
                    "model": str(predictor.path) if predictor else None, **result,
                    "skipped": {"lines": len(skipped), "why": skipped[:20]}})


@click.command("edits")
@data_option
@click.option("--repo", type=click.Path(file_okay=False), default=None,
              help="Repository: its history is the data when no --data is given, and its .codeintel/models/edits/ "
                   "receives the model (default: the nearest index).")
@click.option("--output", type=click.Path(file_okay=False), default=None, help="Save the model in this folder instead.")
@cut_option
@holdout_option
@click.option("--size", default="compact", show_default=True, type=click.Choice(["tiny", "compact", "small", "base"]))
@click.option("--epochs", default=8, show_default=True, type=click.IntRange(1, 200))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 4096))
@click.option("--max-steps", default=0, type=click.IntRange(0), help="Stop after this many steps (0 = the epochs decide).")
@click.option("--max-len", default=160, show_default=True, type=click.IntRange(16, 1024),
              help="Abstract tokens per function at most.")
@click.option("--seed", default=13, show_default=True)
@click.option("--eval-cases", default=500, show_default=True, type=click.IntRange(0),
              help="Test cases the model is measured on after training (0 = none).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@needs_torch
def train_edits(data, repo, output, cut, holdout_repos, size, epochs, batch_size, max_steps, max_len, seed,
                eval_cases, as_json):
    """Train the edit model on abstracted before -> after pairs (time split: test = after --cut)."""
    import sys

    from ..models.registry import make_meta, record_metrics, repo_model_dir
    from .evaluate import evaluate_suggestions
    from .model import EditPredictor, TrainSettings, train_model

    pairs, sources = _pairs(data, repo)
    cut, repos, train, test = _split(pairs, cut, holdout_repos)
    commits = sorted({(p["date"], p["commit"]) for p in train})
    val_commits = {c for _, c in commits[int(len(commits) * 0.9):]}
    fit = [p for p in train if p["commit"] not in val_commits]
    val = [p for p in train if p["commit"] in val_commits]
    target = Path(output) if output else repo_model_dir(_root(repo) if not data or repo else Path.cwd(), "edits")
    settings = TrainSettings(size=size, epochs=epochs, batch_size=batch_size, max_steps=max_steps, max_len=max_len,
                             seed=seed)
    split = (f"time split at {cut} (commits from then on are test)"
             + (f"; test repositories never trained on: {', '.join(sorted(repos))}" if repos else "")
             + "; validation = the last 10 % of training commits")
    meta = make_meta(corpora=[{"name": s} for s in sources], split=split, counts={"test": len(test)})
    try:
        summary = train_model(fit, val, settings, target, meta, progress=not as_json and sys.stderr.isatty())
    except ValueError as exc:
        raise support.Failure(str(exc), support.EXIT_USAGE) from None
    metrics = {}
    if eval_cases:
        predictor = EditPredictor(target)
        metrics = evaluate_suggestions(train, test, predictor.idioms, predictor.candidates, max_cases=eval_cases)
        record_metrics(target, {
            "test": metrics["model"]["small"] if "small" in metrics["model"] else metrics["model"]["all"],
            "baselines": {k: v.get("small", v.get("all")) for k, v in metrics.items() if k not in ("model", "seconds")},
            "by_size": metrics})
    result = {"model": str(target), "cut": cut, **summary, "metrics": metrics}
    if as_json:
        support.emit_json(result)
    else:
        support.console().print(f"saved the edits model to {target} ({summary['train_pairs']} training pairs, "
                             f"{summary['seconds']} s)", highlight=False)
        if metrics:
            support.console().print_json(json.dumps(metrics))


def register(main, train_group, eval_group) -> None:
    main.add_command(edits_group)
    eval_group.add_command(eval_edits)
    train_group.add_command(train_edits)
