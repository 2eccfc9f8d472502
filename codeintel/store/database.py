"""sqlite-utils on the store's own connection: what migrations and the small read helpers use.

sqlite-utils is imported here only when asked for (it costs about 70 ms), so that opening a store
that needs no migration, and the hot write and query paths, stay on plain ``sqlite3``."""
from __future__ import annotations

import sqlite3


def database(conn: sqlite3.Connection):
    """A ``sqlite_utils.Database`` over ``conn`` (no plugins, and the connection's settings left
    as they are); inside an open transaction its writes join it."""
    import sqlite_utils

    return sqlite_utils.Database(conn, recursive_triggers=False, execute_plugins=False)
