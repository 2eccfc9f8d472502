"""The language server's log (stderr): one line per problem that comes from the client's input
or is an intended error answer, a traceback only for a bug.

pygls logs a traceback for every request answered with an error (``RequestFailed`` raised on
purpose, ``InvalidParams``), for every message that does not decode, and for a response of the
client's it cannot read. Those are the client's or the situation's doing, answered as the
protocol says: here they become one line, and a traceback in the server's stderr means a bug
(the end-to-end tests fail on one). ``CODEINTEL_DEBUG=1`` keeps every traceback.
"""
from __future__ import annotations

import json
import logging
import os

from cattrs.errors import ClassValidationError
from pygls.exceptions import JsonRpcException

FORMAT = "codeintel-lsp %(levelname)s %(name)s: %(message)s"
EXPECTED = (JsonRpcException, json.JSONDecodeError, ClassValidationError, UnicodeDecodeError)
_UNDECODED = "Unable to deserialize message\n%s"     # pygls' message, the traceback as its argument


class OneLineForExpected(logging.Filter):
    """Rewrites a record carrying an expected exception (see ``EXPECTED``) to one line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == _UNDECODED and record.args:
            record.msg, record.args = "Unable to deserialize message: %s", (_last_error(str(record.args[0])),)
        elif record.exc_info and isinstance(record.exc_info[1], EXPECTED):
            exc = record.exc_info[1]
            record.msg = f"{record.getMessage()}: {type(exc).__name__}: {exc}"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def _last_error(trace: str) -> str:
    """The last ``SomeError: why`` line of a formatted traceback (or exception group)."""
    lines = [line.strip(" |+-") for line in trace.splitlines()]
    errors = [line for line in lines if line and not line.startswith(("File ", "Traceback", "^"))
              and ("Error" in line or "Exception" in line)]
    return errors[-1] if errors else "?"


def configure() -> None:
    """Log warnings and errors to stderr, expected failures on one line (unless CODEINTEL_DEBUG)."""
    logging.basicConfig(level=logging.WARNING, format=FORMAT)
    if os.environ.get("CODEINTEL_DEBUG"):
        return
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLineForExpected())
