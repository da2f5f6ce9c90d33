"""Keeps the query planner's statistics fresh: `PRAGMA optimize` on SQLite, at start and daily."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

# Rows sampled per index by SQLite's ANALYZE: bounded, so a large ledger is not read whole.
ANALYSIS_LIMIT = 1000


async def optimize(engine: AsyncEngine, *, at_start: bool = False) -> None:
    """SQLite: refresh the statistics the planner picks indexes by (`PRAGMA optimize`; at
    start with 0x10002, which also analyses tables that never were). PostgreSQL's autovacuum
    keeps its own statistics: nothing to do."""
    if engine.dialect.name != "sqlite":
        return
    async with engine.connect() as connection:
        await connection.exec_driver_sql(f"PRAGMA analysis_limit={ANALYSIS_LIMIT}")
        await connection.exec_driver_sql(
            "PRAGMA optimize=0x10002" if at_start else "PRAGMA optimize"
        )
        await connection.commit()
