"""What the operator reads when coopbot cannot go on: one line saying what failed and one
saying what to do, never a traceback (that is for --debug)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError

from bot.config import ConfigError

# Module a missing import names → the extra that brings it.
_EXTRAS = {
    "discord": "discord",
    "nio": "matrix",
    "asyncpg": "postgres",
    "aiohttp": "http",
    "prometheus_client": "http",
}
_MISSING_TABLE = ("no such table", "does not exist", "undefinedtable")


class OperatorError(Exception):
    """A failure the operator can fix: `message` says what failed, `hint` what to do."""

    def __init__(self, message: str, hint: str | None = None, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.exit_code = exit_code


@dataclass(frozen=True)
class Explained:
    lines: list[str]
    exit_code: int


def safe_url(url: str) -> str:
    """A database URL to show: no password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"


def _database_reason(exc: BaseException) -> str:
    inner = getattr(exc, "orig", None) or exc
    text = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
    return text[:300]


def explain(exc: BaseException, database_url: str | None = None) -> Explained:
    """The lines and exit status for `exc`."""
    if isinstance(exc, OperatorError):
        return Explained([exc.message, *([exc.hint] if exc.hint else [])], exc.exit_code)
    if isinstance(exc, ConfigError):
        return Explained(list(exc.problems), 2)
    if isinstance(exc, ModuleNotFoundError) and exc.name:
        top = exc.name.split(".")[0]
        extra = _EXTRAS.get(top)
        if extra:
            return Explained(
                [
                    f"the Python package {top!r} is missing",
                    f"install the extra that brings it: pip install 'coopbot[{extra}]'",
                ],
                2,
            )
        if top in ("psycopg2", "psycopg", "pysqlite2"):
            return Explained(
                [
                    f"coopbot does not use the {top} driver",
                    "write the URL as postgresql+asyncpg://",
                ],
                2,
            )
    if isinstance(exc, NoSuchModuleError):
        return Explained([f"unknown database driver: {exc}", "check database_url"], 2)
    where = f" at {safe_url(database_url)}" if database_url else ""
    reason = _database_reason(exc)
    if isinstance(exc, DBAPIError) and any(m in reason.lower() for m in _MISSING_TABLE):
        return Explained(
            [
                f"the database{where} has no coopbot schema, or an old one ({reason})",
                "run `coopbot db upgrade` (once per release), then start again",
            ],
            1,
        )
    if isinstance(exc, DBAPIError | ConnectionError | socket.gaierror | TimeoutError) or (
        type(exc).__module__.startswith("asyncpg")
    ):
        return Explained(
            [
                f"cannot use the database{where}: {reason}",
                "check database_url (or --db) and that the database server is running",
            ],
            1,
        )
    if isinstance(exc, OSError):
        target = f"{exc.filename}: " if exc.filename else ""
        return Explained(
            [
                f"{target}{exc.strerror or exc}",
                "check that the path exists and that the bot's user may write there",
            ],
            1,
        )
    return Explained(
        [
            f"unexpected error: {type(exc).__name__}: {_database_reason(exc)}",
            "run the same command with --debug for the traceback, and report it",
        ],
        1,
    )
