"""State files and folders (database, Matrix store, attachments) kept private to the bot's
user, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if not parsed.get_backend_name().startswith("sqlite"):
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def is_private(path: Path) -> bool:
    """Whether nobody but the owner may read, write or enter `path`."""
    return stat.S_IMODE(path.stat().st_mode) & 0o077 == 0


def private_dir(path: Path) -> bool:
    """Create `path` (and missing parents) as a folder only its owner can use, or make an
    existing one so; returns whether anything had to change."""
    existed = path.is_dir()
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    return _tighten(path, PRIVATE_DIR) or not existed


def private_file(path: Path) -> bool:
    """Create `path` empty with mode 0600, or make an existing file so (its contents are
    kept); returns whether anything had to change."""
    existed = path.exists()
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE)
    os.close(fd)
    return _tighten(path, PRIVATE_FILE) or not existed


def _tighten(path: Path, mode: int) -> bool:
    current = stat.S_IMODE(path.stat().st_mode)
    if current & 0o077 == 0:
        return False
    path.chmod(mode)
    return True


def private_sqlite(path: Path) -> list[Path]:
    """Make a SQLite database and its -wal/-shm companions private (SQLite gives new
    companions the mode of the database file). Returns the files it had to change."""
    changed = []
    for candidate in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if candidate.exists() and _tighten(candidate, PRIVATE_FILE):
            changed.append(candidate)
    return changed
