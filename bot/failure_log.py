"""Failure reports for the log that say where and what failed, never with which values.

An exception's message may quote what a command carried: a driver error quotes the row
(PostgreSQL's "Failing row contains (…)"), a parse error the text it could not read, a
library error the payload it sent. While a command or a scheduled step runs, that can be a
member's secret choice, so these reports keep every frame and every exception type of the
chain and withhold the messages."""

from __future__ import annotations

import logging
import traceback

WITHHELD = "[message withheld: it may quote a ballot]"
# Schema names a database error carries (asyncpg's errors have them): safe, and they say
# which constraint or column failed.
_SCHEMA_FIELDS = ("table_name", "column_name", "constraint_name")


def _kind(exc: BaseException) -> str:
    kind = type(exc)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    where = [
        f"{field.removesuffix('_name')} {value}"
        for field in _SCHEMA_FIELDS
        if isinstance(value := getattr(exc, field, None), str) and value
    ]
    return f"{name}: {WITHHELD}" + (f" ({', '.join(where)})" if where else "")


def withheld_traceback(exc: BaseException) -> str:
    """The traceback of `exc` and the exceptions it came from, without their messages."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    joint = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, joint))
        if current.__cause__ is not None:
            current, joint = current.__cause__, "direct cause"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, joint = current.__context__, "context"
        else:
            current = None
    parts: list[str] = []
    for error, joint in reversed(chain):
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(traceback.format_tb(error.__traceback__))
        parts.append(_kind(error) + "\n")
        if joint == "direct cause":
            parts.append(
                "\nThe above exception was the direct cause of the following exception:\n\n"
            )
        elif joint == "context":
            parts.append(
                "\nDuring handling of the above exception, another exception occurred:\n\n"
            )
    return "".join(parts).rstrip("\n")


def log_failure(
    logger: logging.Logger,
    exc: BaseException,
    message: str,
    *args: object,
    level: int = logging.ERROR,
) -> None:
    """Log `message % args` at `level` with the withheld traceback of `exc` (the text and
    JSON formats print it where they print any traceback)."""
    if not logger.isEnabledFor(level):
        return
    record = logger.makeRecord(logger.name, level, "(failure)", 0, message, args, None)
    record.exc_text = withheld_traceback(exc)
    logger.handle(record)
