"""Where a database's schema stands against the migrations this code ships (read without
importing Alembic)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.revisions import head_revision, known_revision, stored_revision

__all__ = ["SchemaStatus", "head_revision", "known_revision", "schema_status"]


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


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Read the revision stored in the database (reading only)."""
    head = head_revision()
    async with engine.connect() as connection:
        current = await connection.run_sync(stored_revision)
    known = current is None or known_revision(current)
    return SchemaStatus(current=current, head=head, known=known)
