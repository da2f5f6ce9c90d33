"""The lock file a running bot holds beside its SQLite database: so that `coopbot db
restore` can tell the bot is running, and so that a second bot process on the same file
refuses to start (the kernel drops both locks when the process dies)."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import Literal

from bot.files import PRIVATE_FILE

Refusal = Literal["restoring", "running"]


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + "-lock")


class DatabaseLock:
    """Two locks on one file. A flock, shared by every core of the bot and exclusive for
    restore (flock locks belong to an open file, so a restore is refused even inside the
    bot's own process). And, for the bot, an exclusive POSIX record lock: those belong to a
    process, so several cores in one process (tests) share it while a second process is
    refused. (A POSIX lock ends when the process closes any descriptor of the file: only
    the first guard, not the restore guard, is weakened when one process opens it twice.)"""

    def __init__(self, database: Path) -> None:
        self.path = lock_path(database)
        self._fd: int | None = None

    def acquire(self, *, exclusive: bool = False) -> bool:
        """Take the lock without waiting; False when another process holds it the other way."""
        return self.take(exclusive=exclusive) is None

    def take(self, *, exclusive: bool = False, sole: bool = False) -> Refusal | None:
        """Take the lock without waiting: exclusive for restore; `sole` for a bot that must
        be the only process on the file. None when taken, else why not."""
        fd = os.open(self.path, os.O_CREAT | os.O_RDWR, PRIVATE_FILE)
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return "running" if exclusive else "restoring"
        if sole:
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return "running"
        self._fd = fd
        return None

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)  # also ends this process's record lock
            self._fd = None
