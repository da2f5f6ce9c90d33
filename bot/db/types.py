"""Column types that behave the same on SQLite and PostgreSQL (aware UTC datetimes, enums)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import DateTime, String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from bot.domain.polls import PollMethod
from bot.domain.proposals import ProposalMethod

E = TypeVar("E", bound=StrEnum)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC: SQLite has no time zones, and mixing aware and
    naive datetimes is a bug waiting to happen."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


class StrEnumColumn(TypeDecorator[E]):
    """A `StrEnum` stored as its value in a plain string column (no database enum type, so
    no migration): writes check the value, reads return the enum member."""

    impl = String
    cache_ok = True

    def __init__(self, enum: type[E], length: int) -> None:
        super().__init__(length)
        self.enum = enum

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return self.enum(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> E | None:
        if value is None:
            return None
        return self.enum(value)


class MethodColumn(TypeDecorator[ProposalMethod | PollMethod]):
    """A decision's method: a proposal's or a poll's (their values never overlap), stored as
    its value like `StrEnumColumn`."""

    impl = String
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else method_of(value).value

    def process_result_value(
        self, value: Any, dialect: Dialect
    ) -> ProposalMethod | PollMethod | None:
        return None if value is None else method_of(value)


def method_of(value: str) -> ProposalMethod | PollMethod:
    """The method a stored value names; ValueError for any other text."""
    if value in ProposalMethod.__members__.values():
        return ProposalMethod(value)
    return PollMethod(value)
