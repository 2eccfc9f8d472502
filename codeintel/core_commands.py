"""The core commands, which belong to no learned feature: `codeintel index`, the index's queries
(`search`, `symbols`, `refs`, `stats`), `models`, `trust` and `lsp`. Registered on the main group
by ``register`` (``codeintel.cli`` assembles); what every command shares comes from
``codeintel.cli_support``."""
from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path
from typing import Optional

import click

from . import cli_support as support
from .cli_support import EXIT_NOTHING_FOUND, EXIT_USAGE, Failure, json_option, repo_option
from .config import ConfigError, load_index_settings, parse_size, repository_trust
from .display import markup_safe, printable
from .store import check_store_dir, store_path


def register(main, train, eval_) -> None:
    for command in (index, search, symbols, refs, stats, models, trust_command, lsp):
        main.add_command(command)


# ---------------------------------------------------------------------------------------- index
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


@click.command("index")
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
    bar, update = support.progress_reporter(show)
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
        support.emit_json(data)
    elif not quiet:
        console = support.console()
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
        support.emit_json(rows)
    else:
        render(support.console(), rows)
    if not rows:
        if not as_json:
            click.echo("no matches", err=True)
        sys.exit(EXIT_NOTHING_FOUND)


@click.command("search")
@click.argument("query", nargs=-1, required=True)
@click.option("--limit", "-n", type=click.IntRange(1, 1000), default=10, help="How many results.")
@repo_option
@json_option
def search(query, limit, repo, as_json):
    """Full-text search over code chunks (functions, classes, other code), ranked by BM25."""
    with support.open_store(repo) as store:
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


@click.command("symbols")
@click.argument("pattern", required=False)
@click.option("--kind", help="Only this kind (function, method, class, struct, interface, enum, ...).")
@click.option("--limit", "-n", type=click.IntRange(1, 100000), default=200, help="How many results.")
@repo_option
@json_option
def symbols(pattern, kind, limit, repo, as_json):
    """Definitions whose (qualified) name contains PATTERN, or matches it as a glob (*, ?)."""
    with support.open_store(repo) as store:
        rows = store.symbols(pattern, kind=kind, limit=limit)
    def render(console, rows):
        for row in rows:
            console.print(f"{markup_safe(row['path'])}:{row['line']}: [dim]{row['kind']:<9}[/] "
                          f"[cyan]{markup_safe(row['qualname'])}[/]  [dim]{markup_safe(row['signature'] or '')}[/]")

    _show(rows, as_json, render)


@click.command("refs")
@click.argument("name")
@click.option("--limit", "-n", type=click.IntRange(1, 1000000), default=None, help="At most this many.")
@repo_option
@json_option
def refs(name, limit, repo, as_json):
    """Every place identifier NAME is used (a qualified name like Shape.area looks up `area`)."""
    ident = name.replace("::", ".").rsplit(".", 1)[-1]
    with support.open_store(repo) as store:
        rows = store.references(ident, limit=limit)

    def render(console, rows):
        for row in rows:
            console.print(f"{printable(row['path'])}:{row['line']}:{row['col'] + 1}: ", end="", markup=False)
            console.print(printable(row["text"], keep_tabs=True), markup=False)

    _show(rows, as_json, render)


@click.command("stats")
@repo_option
@json_option
def stats(repo, as_json):
    """What the index holds: files per language, symbols, history, and what was skipped and why."""
    with support.open_store(repo) as store:
        data = store.stats()
    if as_json:
        support.emit_json(data)
        return
    from rich.table import Table

    console = support.console()
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
@click.command("models")
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
        support.emit_json({"repo": str(root), "trust": trusted, "features": features})
        return
    from rich.markup import escape

    from .report import format as fmt

    console = support.console()
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
@click.command("trust")
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
            support.emit_json({"trusted": folders, "file": str(trust.config_home() / trust.TRUST_FILE)})
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
        support.emit_json(repository_trust(folder))
    else:
        click.echo(printable(message))




# ---------------------------------------------------------------------------------------- lsp
@click.command("lsp")
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
