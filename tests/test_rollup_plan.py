"""A tally over whole months reads the monthly rollup from its covering index alone (no
lookup of a table row per member and month), and sums the months and the partial months
at the ends per member before adding them up."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import Core
from bot.clock import ManualClock
from tests.support import say
from tests.test_query_plans import _populate, _selects


async def test_a_tally_of_all_time_reads_the_rollup_from_its_covering_index(
    core: Core, clock: ManualClock
) -> None:
    if core.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL rightly scans a table this small; the plan is SQLite's")
    clock.set(datetime(2026, 11, 23, 9, tzinfo=UTC))
    await _populate(core)
    with _selects(core) as seen:
        reply = await say(core, "bob", "!tally period:all")
    assert "Contributions — all time" in reply, reply
    rollup = [(s, p) for s, p in seen if "FROM contribution_months" in s]
    assert len(rollup) == 1, seen
    statement, params = rollup[0]
    async with core.engine.connect() as connection:
        plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
        details = [str(row[-1]) for row in plan.all()]
    reads = [d for d in details if "contribution_months" in d]
    assert reads == [
        "SEARCH contribution_months USING COVERING INDEX ix_contribution_months_covering "
        "(coop_id=? AND month>? AND month<?)"
    ], details
