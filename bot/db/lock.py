"""The lock file a running bot holds beside its SQLite database, so that `coopbot db
restore` can tell the bot is running (the kernel drops the lock when the process dies)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from bot.files import PRIVATE_FILE


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + "-lock")


class DatabaseLock:
    """A shared lock for bots (several may run on one file), an exclusive one for restore."""

    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self, *, exclusive: bool = False) -> bool:
        """Take the lock without waiting; False when another process holds it the other way."""
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
