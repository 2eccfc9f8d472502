"""The ``codeintel`` command, assembled: the main group and its ``train``/``eval`` groups, each
commands module's ``register`` (the core commands in ``core_commands``, the report's and every
feature's in its package's ``commands.py``), and ``run``, which maps every failure to one line on
stderr and a documented exit code (also in README.md):
  0   success
  1   the query found nothing (search, symbols, refs), like grep
  2   usage error or bad input (missing path, bad option or config value)
  3   the index cannot be used (none yet, corrupt, from a newer codeintel, locked too long)
  70  internal error (a bug: rerun with CODEINTEL_DEBUG=1 for the traceback)
  130 interrupted (Ctrl-C); the index stays consistent and the next run finishes the job
"""
from __future__ import annotations

import os
import sqlite3
import sys
from typing import Optional

import click

from . import __version__, core_commands
from .cli_support import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_STORE, EXIT_USAGE, Failure
from .clones import commands as clones_commands
from .completion import commands as completion_commands
from .edits import commands as edits_commands
from .merge import commands as merge_commands
from .models.extras import MissingExtra
from .report import commands as report_commands
from .sketch import commands as sketch_commands
from .store import StoreError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="codeintel")
def main() -> None:
    """Code intelligence that learns from the repository it works in."""


# ---------------------------------------------------------------------------------------- groups
@main.group()
def train():
    """Train a feature's model on this repository's history (or on corpus files)."""


@main.group("eval")
def eval_():
    """Measure a feature's model against the named baselines on the same cases (JSON)."""


# ---------------------------------------------------------------------------------------- commands
for commands in (core_commands, report_commands,
                 completion_commands, merge_commands, clones_commands, sketch_commands, edits_commands):
    commands.register(main, train, eval_)


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
