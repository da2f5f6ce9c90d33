"""Logging for operators: text or JSON lines on stderr, library chatter kept below INFO,
and every configured secret blanked out of every record."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "[redacted]"
# Libraries that say at INFO what only a developer needs (and discord.py's session ids).
_CHATTY = ("discord", "apscheduler", "asyncio", "peewee", "alembic", "aiohttp")
# Loggers that quote what members sent or what the bot answered (a secret choice, a
# block's reason, a one-time code), each held at the lowest level where it no longer does,
# even when the operator asks for DEBUG; records below that are never even made.
_QUOTE_CONTENT = {
    # Every statement with its parameters: ballots, code hashes, stored answers.
    "aiosqlite": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    # DEBUG prints every gateway event (message text, slash options, form fields).
    "discord.gateway": logging.INFO,
    # DEBUG prints every request body the bot sends (ephemeral answers too) and responses.
    "discord.http": logging.INFO,
    # DEBUG prints whole sync responses; WARNING quotes a response that fails its schema.
    "nio.responses": logging.ERROR,
    # ERROR quotes an event (its content) that fails its schema.
    "nio.events": logging.CRITICAL,
    # DEBUG prints every statement of matrix-nio's store with its parameters (key pickles).
    "peewee": logging.INFO,
}
# matrix-nio warns of every retry ("Timed out, sleeping") without saying where; the
# adapter reports the homeserver and the reason itself.
_NOISY = ("nio",)
_MIN_SECRET = 6


def secrets_of(settings: Settings) -> list[str]:
    """Every secret a setting holds: tokens, passwords, the database password."""
    found = [settings.matrix.access_token, settings.matrix.password, settings.discord.token]
    try:
        password = make_url(settings.database_url).password
    except ArgumentError:
        password = None
    if password:
        found.append(str(password))
    return [secret for secret in found if len(secret) >= _MIN_SECRET]


class RedactSecrets(logging.Filter):
    """Replaces each secret in a record's message, arguments and traceback text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted(set(secrets), key=len, reverse=True)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        record.msg = self._clean(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and the traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(
    settings: Settings, *, level: str | None = None, stream: TextIO | None = None
) -> None:
    """Send logs to `stream` (stderr) at `level` (default: the settings' log_level)."""
    name = level or settings.log_level
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JsonFormatter() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    handler.addFilter(RedactSecrets(secrets_of(settings)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, name))
    library_level = logging.DEBUG if name == "DEBUG" else max(logging.WARNING, root.level)
    for library in _CHATTY:
        logging.getLogger(library).setLevel(library_level)
    for library in _NOISY:
        logging.getLogger(library).setLevel(max(library_level, logging.ERROR))
    for library, floor in _QUOTE_CONTENT.items():
        logging.getLogger(library).setLevel(max(library_level, floor))
