"""``python -m codeintel`` runs the CLI.

``python -m codeintel merge-driver %O %A %B %L %P`` (what install-merge-driver writes) takes a
short path that imports only the driver, not the CLI: git runs it once per file that both sides
changed, so its start-up is the cost of a clean file in a big merge. Anything else, or any
argument it does not expect, goes through the CLI as before."""
import os
import sys


def _merge_driver_fast_path(args: list[str]) -> None:
    if len(args) not in (4, 5) or not all(os.path.isfile(f) for f in args[:3]) or not args[3].isdigit():
        return
    from codeintel.merge.driver import run_merge_driver

    sys.exit(run_merge_driver(args[0], args[1], args[2], int(args[3]), args[4] if len(args) == 5 else None))


if sys.argv[1:2] == ["merge-driver"]:
    _merge_driver_fast_path(sys.argv[2:])

from .cli import entry  # noqa: E402

entry()
