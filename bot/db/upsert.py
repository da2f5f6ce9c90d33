"""The dialect's own INSERT (with ON CONFLICT) for the database in use, imported when first
needed: a bot on SQLite never loads the PostgreSQL dialect, nor one on PostgreSQL SQLite's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert


def insert(dialect: str, table: Any) -> Insert:
    """`INSERT INTO table` that can take `.on_conflict_do_…()` on `dialect` (its name).
    Typed as PostgreSQL's: SQLite's has the same methods used here."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)  # type: ignore[return-value]
