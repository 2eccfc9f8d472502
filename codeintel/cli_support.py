"""What every ``codeintel`` command shares, in one public home below the command modules:
exit codes (also in README.md), ``Failure`` (a one-line error with its exit code), console and
JSON output, opening the store, the common ``--repo``/``--json`` options, a progress bar, and the
small checks the ``eval`` commands share. Command modules import it; it imports none of them."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import click

from codeintel.display import json_safe
from codeintel.store import Store, find_store, store_path
from codeintel.store.files import write_bytes_atomic

EXIT_NOTHING_FOUND = 1     # the command found nothing, like grep
EXIT_USAGE = 2             # usage error or bad input
EXIT_STORE = 3             # the index cannot be used
EXIT_INTERNAL = 70         # a bug (CODEINTEL_DEBUG=1 shows the traceback)
EXIT_INTERRUPTED = 130     # Ctrl-C


class Failure(Exception):
    """A command's one-line error; ``codeintel.cli.run`` prints it and exits with ``code``."""

    def __init__(self, message: str, code: int):
        super().__init__(message)
        self.code = code


def console(stderr: bool = False):
    """A rich console for a command's terminal output (no highlighting, long lines kept whole)."""
    from rich.console import Console
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def emit_json(data) -> None:
    """Print ``data`` as indented JSON for scripts, C1 and bidi characters escaped (``json_safe``)."""
    click.echo(json_safe(json.dumps(data, indent=2, ensure_ascii=False, default=str)))


def open_store(repo: Optional[str]) -> Store:
    """The index of ``--repo``, else the nearest one above the current folder; none is exit 3."""
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


def progress_reporter(enabled: bool):
    """A rich progress bar on a terminal; nothing when piped."""
    if not enabled:
        return None, None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                   TimeRemainingColumn(), console=console(stderr=True), transient=True)
    tasks: dict[str, int] = {}

    def update(phase: str, done: int, total: int) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=total)
        bar.update(tasks[phase], completed=done, total=total)

    return bar, update


def package_versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("torch", "transformers", "tokenizers", "tree-sitter", "codeintel"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def check_language(language: Optional[str]) -> None:
    """Refuse (exit 2) a ``--language`` that is not one of the indexer's languages."""
    if language:
        from indexer.languages import language_names

        if language not in language_names():
            raise Failure(f"unknown language {language!r}; choose from {', '.join(language_names())}", EXIT_USAGE)


def eval_model(feature: str, model_dir: Optional[str], root: Path):
    """The model an ``eval FEATURE`` run scores: the ``--model`` folder (refused with exit 2 when
    it is not a usable model of that feature), else the active one if usable, else None."""
    from codeintel.models.registry import active_model, read_model_dir

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


def write_output(target: str, text: str) -> None:
    """Write a report file; a folder, or a file in a folder that does not exist, is bad input."""
    path = Path(target)
    if path.is_dir():
        raise Failure(f"{target}: is a directory", EXIT_USAGE)
    if not path.parent.is_dir():
        raise Failure(f"{target}: no such directory {path.parent}", EXIT_USAGE)
    try:
        write_bytes_atomic(path, text.encode("utf-8"), keep_mode=True)
    except OSError as exc:
        raise Failure(f"{target}: cannot write ({exc.strerror or exc})", EXIT_USAGE) from None
