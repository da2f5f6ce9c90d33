"""For tests that no log line carries a secret choice: every record at DEBUG, configured as
`coopbot run --debug` configures it, and a database that refuses to store a vote."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import text

from bot.app import Core
from bot.config import Settings
from bot.logs import configure_logging


class _Keep(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__(logging.DEBUG)
        self._records = records
        self._format = logging.Formatter()

    def emit(self, record: logging.LogRecord) -> None:
        self._records.append(record)
        # Format it now, the way any handler an operator adds would (traceback included).
        record.scanned = self._format.format(record)


@dataclass
class Logs:
    """What the bot logged: each record as made, and the operator's formatted output."""

    stream: io.StringIO = field(default_factory=io.StringIO)
    records: list[logging.LogRecord] = field(default_factory=list)

    def texts(self) -> list[str]:
        found = [self.stream.getvalue()]
        for record in self.records:
            found.append(record.getMessage())
            found.append(str(getattr(record, "scanned", "")))
            found.append(repr(record.args))
            found.append(record.exc_text or "")
            found.append(record.stack_info or "")
        return found

    def quoting(self, *secrets: str) -> list[str]:
        """Every log text that contains one of `secrets` (case-insensitive)."""
        wanted = [s.casefold() for s in secrets]
        return [t for t in self.texts() if any(s in t.casefold() for s in wanted)]

    def loggers(self) -> set[str]:
        return {record.name for record in self.records}


@contextmanager
def all_logs(settings: Settings, *, log_format: str = "text") -> Iterator[Logs]:
    """Logging as configured for `log_level = "DEBUG"`, plus a handler that keeps every
    record that any handler would see. Restores the loggers' levels afterwards."""
    manager = logging.Logger.manager
    levels = {
        name: logger.level
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root = logging.getLogger()
    handlers, root_level = list(root.handlers), root.level
    logs = Logs()
    configure_logging(
        settings.model_copy(update={"log_format": log_format}), level="DEBUG", stream=logs.stream
    )
    root.addHandler(_Keep(logs.records))
    try:
        yield logs
    finally:
        for old in list(root.handlers):
            root.removeHandler(old)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(root_level)
        for name, logger in manager.loggerDict.items():
            if isinstance(logger, logging.Logger):
                logger.setLevel(levels.get(name, logging.NOTSET))


async def refuse_votes(core: Core) -> None:
    """From now on the database refuses every new vote row, as a full disk or a broken
    constraint would. PostgreSQL's refusal quotes the failing row (the choice, the reason)."""
    async with core.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            await connection.execute(
                text("ALTER TABLE votes ADD CONSTRAINT refuse_votes CHECK (false) NOT VALID")
            )
        else:
            await connection.execute(
                text(
                    "CREATE TRIGGER refuse_votes BEFORE INSERT ON votes "
                    "BEGIN SELECT RAISE(ABORT, 'votes refused'); END"
                )
            )


async def break_votes(core: Core) -> None:
    """From now on the votes table is missing, as after a botched manual change: every
    vote fails with an error that is not a constraint."""
    async with core.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE votes RENAME TO votes_gone"))
