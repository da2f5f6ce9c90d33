"""Online backup and restore of a SQLite database (`coopbot db backup|restore`)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.db.lock import DatabaseLock
from bot.db.status import known_revision
from bot.files import PRIVATE_FILE, private_file
from bot.operator_errors import OperatorError


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    revision: str | None


def _open_existing(path: Path) -> sqlite3.Connection:
    # sqlite3.connect would create a missing file: a typo must not become an empty backup.
    if not path.is_file():
        raise OperatorError(f"no SQLite database at {path}", "check the path (or --db)")
    return sqlite3.connect(path, timeout=30)


def inspect(path: Path) -> BackupInfo:
    """Check that `path` is a whole coopbot database; raise OperatorError if it is not."""
    connection = _open_existing(path)
    try:
        try:
            result = connection.execute("PRAGMA integrity_check").fetchone()
            revision = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            raise OperatorError(f"{path} is not a coopbot database ({exc})") from None
    finally:
        connection.close()
    if result is None or result[0] != "ok":
        raise OperatorError(f"{path} is damaged: integrity check says {result}")
    return BackupInfo(path, path.stat().st_size, revision[0] if revision else None)


def _copy(source: Path, target: Path) -> None:
    """A consistent copy through SQLite's online backup API: the bot may keep writing
    (copying the file by hand misses what is still in the -wal file)."""
    tmp = target.with_name(target.name + ".tmp")
    tmp.unlink(missing_ok=True)
    private_file(tmp)
    src = _open_existing(source)
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    target.chmod(PRIVATE_FILE)


def backup(database: Path, target: Path) -> BackupInfo:
    """Copy the live `database` to `target` (which must not exist yet), and check the copy."""
    if target.exists():
        raise OperatorError(f"{target} exists already", "choose a new file name for the backup")
    if not target.parent.is_dir():
        raise OperatorError(f"no folder {target.parent} for the backup", "create it first")
    _copy(database, target)
    return inspect(target)


def restore(source: Path, database: Path, now: datetime | None = None) -> Path | None:
    """Put the backup `source` in place of `database`, refusing while a bot holds the
    database. The database it replaces is kept beside it; returns that file's path."""
    info = inspect(source)
    if info.revision is None:
        raise OperatorError(f"{source} holds no coopbot schema")
    if not known_revision(info.revision):
        raise OperatorError(
            f"{source} comes from a newer coopbot (schema {info.revision})",
            "restore it with that version or a later one",
        )
    lock = DatabaseLock(database)
    if not lock.acquire(exclusive=True):
        raise OperatorError(
            f"the bot is running on {database} (it holds {lock.path})",
            "stop it first (systemctl stop coopbot, or docker compose stop bot), then restore",
        )
    try:
        kept = None
        if database.exists():
            stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
            kept = database.with_name(f"{database.name}.before-restore-{stamp}")
            _copy(database, kept)
        for companion in ("-wal", "-shm", "-journal"):
            # Left from the old database, SQLite would replay them into the restored one.
            with contextlib.suppress(FileNotFoundError):
                database.with_name(database.name + companion).unlink()
        _copy(source, database)
        return kept
    finally:
        lock.release()
