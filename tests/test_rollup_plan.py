"""A tally over whole months reads the monthly rollup from its covering index alone (no
lookup of a table row per member and month), and sums the months and the partial months
at the ends per member before adding them up. Checked on SQLite's and on PostgreSQL's
plan, on a rollup shared with other co-ops (as a database serving many co-ops holds it),
so that reading one co-op's months whole is a small part of the table and an index is
what either planner picks when it can."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot import write_watch
from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Coop
from tests.support import say
from tests.test_query_plans import _populate, _selects

# Co-ops beside the one tallied, each with a rollup row per member: the tallied co-op's
# rows are 1/(OTHER_COOPS + 1) of the table (about 80,000 rows). PostgreSQL rightly reads
# a table whole when the co-op's rows are most of it (with one other co-op it still does).
OTHER_COOPS = 40
COVERING = "ix_contribution_months_covering"


async def _share_the_rollup(core: Core) -> None:
    """Other co-ops' rollup rows beside the populated co-op's, then fresh statistics (and
    on PostgreSQL the visibility map an index-only scan relies on, as autovacuum keeps)."""
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        tallied = await session.scalar(text("SELECT min(id) FROM coops"))
        await session.execute(
            insert(Coop), [{"name": f"other {n}", "created_at": now} for n in range(OTHER_COOPS)]
        )
        await session.execute(
            text(
                "INSERT INTO contribution_months (coop_id, month, member_id, hours_cents, "
                "points_cents, kudos_cents) SELECT c.id, 202601, m.id, 100, 0, 0 "
                "FROM coops c CROSS JOIN members m WHERE c.id <> :tallied"
            ),
            {"tallied": tallied},
        )
        await write_watch.due_changed(session)  # new co-ops have due times to watch
    async with core.engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        if core.engine.dialect.name == "postgresql":
            await connection.exec_driver_sql("VACUUM ANALYZE")
        else:
            await connection.exec_driver_sql("ANALYZE")


async def _rollup_plan(connection: AsyncConnection, statement: str, params: Any) -> list[str]:
    """The steps of the statement's plan that read contribution_months."""
    if connection.dialect.name == "sqlite":
        plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        return [d for row in plan.all() if "contribution_months" in (d := str(row[-1]))]
    plan = await connection.exec_driver_sql(f"EXPLAIN {statement}", params)
    steps = (str(row[0]).strip().removeprefix("->").strip() for row in plan.all())
    return [step for step in steps if " on contribution_months" in step]


def _reads_the_covering_index_alone(dialect: str, reads: list[str]) -> bool:
    if dialect == "sqlite":
        return reads == [
            f"SEARCH contribution_months USING COVERING INDEX {COVERING} "
            "(coop_id=? AND month>? AND month<?)"
        ]
    return len(reads) == 1 and reads[0].startswith(
        f"Index Only Scan using {COVERING} on contribution_months"
    )


async def test_a_tally_of_all_time_reads_the_rollup_from_its_covering_index(
    core: Core, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 11, 23, 9, tzinfo=UTC))
    await _populate(core)
    await _share_the_rollup(core)
    with _selects(core) as seen:
        reply = await say(core, "bob", "!tally period:all")
    assert "Contributions — all time" in reply, reply
    rollup = [(s, p) for s, p in seen if "FROM contribution_months" in s]
    assert len(rollup) == 1, seen
    statement, params = rollup[0]
    dialect = core.engine.dialect.name
    async with core.engine.connect() as connection:
        reads = await _rollup_plan(connection, statement, params)
        assert _reads_the_covering_index_alone(dialect, reads), reads
        assert not any(read.startswith(("SCAN", "Seq Scan")) for read in reads), reads
        # The check has teeth at this size: without the covering index the plan changes
        # (a lookup of each row through the primary key, or a scan) and fails it.
        await connection.exec_driver_sql(f"DROP INDEX {COVERING}")
        # (sqlite3 keeps prepared statements by their text, and a kept EXPLAIN would
        # show the plan from before the DROP: the text differs by a trailing newline.)
        without = await _rollup_plan(connection, statement + "\n", params)
        await connection.rollback()
    assert without and not _reads_the_covering_index_alone(dialect, without), without
