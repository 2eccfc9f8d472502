"""The report's command: `codeintel report` (terminal, --json, --html, --sarif). Registered on the
main group by ``register`` (``codeintel.cli`` assembles); the report itself is built and rendered
by this package's functions."""
from __future__ import annotations

import json
from pathlib import Path

import click

from codeintel import cli_support as support
from codeintel.cli_support import EXIT_STORE, EXIT_USAGE, Failure, json_option
from codeintel.store import find_store


def register(main, train, eval_) -> None:
    main.add_command(report)


@click.command("report")
@click.argument("path", default=".", type=click.Path())
@click.option("--section", "sections", multiple=True, metavar="NAME",
              help="Only this section (repeatable): index, history, merges, models, clones, findings.")
@click.option("--html", "html_file", type=click.Path(), default=None, help="Write one standalone HTML file.")
@click.option("--sarif", "sarif_file", type=click.Path(), default=None,
              help="Write a SARIF 2.1.0 log (GitHub code scanning).")
@json_option
def report(path, sections, html_file, sarif_file, as_json):
    """What codeintel knows about the repository at PATH: index, history, merges, models, clones, findings."""
    from codeintel.report import SECTION_NAMES, UnknownSection, build_report, render_html, render_sarif, render_text

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
        support.write_output(sarif_file, json.dumps(render_sarif(data), indent=2, ensure_ascii=False) + "\n")
        if "findings" not in wanted:
            data["sections"].pop("findings")
    if html_file:
        support.write_output(html_file, render_html(data))
    if as_json:
        support.emit_json(data)
    elif not (html_file or sarif_file):
        render_text(data, support.console())
    for label, target in (("HTML report", html_file), ("SARIF log", sarif_file)):
        if target and not as_json:
            click.echo(f"wrote the {label} to {target}", err=True)
