"""Where a database's schema stands against the migrations this code ships."""

from __future__ import annotations

from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.migrate import alembic_config


@dataclass(frozen=True)
class SchemaStatus:
    """The database's revision (None: no coopbot schema) and the code's head revision."""

    current: str | None
    head: str
    known: bool  # whether this code knows `current` (False: the database is newer)

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    def describe(self) -> str:
        if self.current is None:
            return f"no coopbot schema yet (this version needs revision {self.head})"
        if self.at_head:
            return f"schema revision {self.current} (up to date)"
        if not self.known:
            return (
                f"schema revision {self.current} is newer than this coopbot "
                f"(head {self.head}): upgrade coopbot"
            )
        return f"schema revision {self.current}, this version needs {self.head}"


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def head_revision() -> str:
    return str(_script().get_heads()[0])


def known_revision(revision: str) -> bool:
    """Whether this code's migrations include `revision` (not: the database is newer)."""
    try:
        return _script().get_revision(revision) is not None
    except CommandError:
        return False


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Read the revision stored in the database (reading only)."""
    head = head_revision()

    def _current(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    known = current is None or known_revision(current)
    return SchemaStatus(current=current, head=head, known=known)
