"""The optional ``ml`` extra (torch, transformers, tokenizers): the check the ``train`` commands
make before they start, so that a missing extra is one line, not an internal error deep in
training. Using the trained models needs none of it (they run in numpy)."""
from __future__ import annotations

import functools
import importlib.util


class MissingExtra(Exception):
    """A command needs a package of an optional extra that is not installed."""


def needs_torch(command):
    """Decorate a command: without torch it raises ``MissingExtra`` (``--help`` still works)."""

    @functools.wraps(command)
    def checked(*args, **kwargs):
        if importlib.util.find_spec("torch") is None:
            raise MissingExtra("training needs torch: python3 -m pip install -e '.[ml]' "
                               "(using the trained models does not)")
        return command(*args, **kwargs)

    return checked
