"""Before the engine opens a SQLite file: refuse a missing one for reading, create one
privately (only where its folder exists) for running, and keep its files private."""

from __future__ import annotations

import logging
from pathlib import Path

from bot.files import private_file, private_sqlite, sqlite_path
from bot.operator_errors import OperatorError

log = logging.getLogger(__name__)


def prepare_sqlite(url: str, *, create: bool) -> Path | None:
    """The database file of a SQLite `url` (None for PostgreSQL), ready to open."""
    path = sqlite_path(url)
    if path is None:
        return None
    if path.exists():
        if not create:
            return path  # reading changes nothing, not even the file's mode
        for changed in private_sqlite(path):
            log.warning("%s could be read by other users; made it private (0600)", changed)
        return path
    if not create:
        raise OperatorError(
            f"no database at {path}",
            "check database_url or --db (this command never creates a database)",
            exit_code=2,
        )
    if not path.parent.is_dir():
        raise OperatorError(
            f"no folder {path.parent} for the database {path}",
            "create the folder, or fix database_url / --db",
            exit_code=2,
        )
    private_file(path)
    log.info("created a new SQLite database at %s", path.resolve())
    return path
