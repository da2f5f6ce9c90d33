"""The hot paths use indexes: every SELECT that members' commands and the weekly summary
run is explained on a populated database, and none may scan a large table in full."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import insert, inspect, select, text

from bot import write_watch
from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import (
    Contribution,
    Coop,
    Decision,
    Identity,
    Member,
    Membership,
    Task,
)
from tests.support import listening, say, setup_coop

MEMBERS = 2000
ENTRIES = 20_000
TASKS = 2000
DECISIONS = 500
# A table with this many rows is large: reading it whole is what the indexes are for.
LARGE_ROWS = 1000


async def _populate(core: Core) -> None:
    """A co-op with thousands of members, entries, tasks and decisions, one vote open."""
    await setup_coop(core)
    now = core.clock.now()
    rnd = random.Random(7)
    async with core.sessions() as session, session.begin():
        coop = await session.scalar(select(Coop))
        assert coop is not None
        await session.execute(
            insert(Member),
            [
                {"coop_id": coop.id, "name": f"p{i:05d}", "role": "member", "active": True,
                 "joined_at": now - timedelta(days=400)}
                for i in range(MEMBERS)
            ],
        )  # fmt: skip
        ids = list(await session.scalars(select(Member.id).where(Member.name.like("p%"))))
        coop.membership_seq += 1
        await session.execute(
            insert(Membership),
            [{"coop_id": coop.id, "member_id": m, "joined_seq": coop.membership_seq} for m in ids],
        )
        await session.execute(
            insert(Identity),
            [{"coop_id": coop.id, "member_id": m, "identity": f"console:x{m}"} for m in ids],
        )
        await session.execute(
            insert(Contribution),
            [
                {"coop_id": coop.id, "member_id": rnd.choice(ids), "kind": "hours",
                 "amount": Decimal(rnd.randint(1, 8)), "note": "",
                 "created_at": now - timedelta(hours=rnd.randrange(365 * 24))}
                for _ in range(ENTRIES)
            ],
        )  # fmt: skip
        await session.execute(
            text(
                "INSERT INTO contribution_months (coop_id, month, member_id, hours_cents, "
                "points_cents, kudos_cents) SELECT coop_id, :month, member_id, "
                "SUM(CAST(ROUND(amount * 100) AS BIGINT)), 0, 0 FROM contributions "
                "GROUP BY coop_id, member_id"
            ),
            {"month": 202601},
        )
        await session.execute(
            insert(Task),
            [
                {"coop_id": coop.id, "number": n + 1, "title": f"t{n}", "points": Decimal(1),
                 # Most tasks of a co-op that has run for years are done.
                 "status": ("open", "claimed", *["done"] * 8)[n % 10],
                 "holder_id": rnd.choice(ids) if n % 10 else None, "created_by": ids[0],
                 "created_at": now - timedelta(days=30),
                 "done_at": now - timedelta(days=n % 30) if n % 10 > 1 else None}
                for n in range(TASKS)
            ],
        )  # fmt: skip
        coop.next_task_number = TASKS + 1
        await session.execute(
            insert(Decision),
            [
                {"coop_id": coop.id, "number": n + 1, "kind": "proposal", "title": f"d{n}",
                 "body": "", "method": "majority", "quorum": "1/2", "status": "closed",
                 "outcome": "passed", "author_id": ids[0], "created_at": now - timedelta(days=n),
                 "opens_at": now - timedelta(days=n), "closes_at": now - timedelta(days=n - 1),
                 "opened_at": now - timedelta(days=n),
                 "closed_at": now - timedelta(days=n - 1), "eligible_count": 10}
                for n in range(DECISIONS)
            ],
        )  # fmt: skip
        coop.next_decision_number = DECISIONS + 1
        await write_watch.due_changed(session)  # as the services that write them say
    assert "opened" in await say(core, "alice", "!propose Paint the hall closes:3d")
    # Votes go through the command, whatever the ballots' storage is.
    for member_id in ids[:30]:
        assert "recorded" in (await say(core, f"x{member_id}", "!vote 501 yes")).lower()
    async with core.sessions() as session, session.begin():
        await session.execute(text("ANALYZE"))


@contextmanager
def _selects(core: Core) -> Iterator[list[tuple[str, Any]]]:
    """Every SELECT the engine runs inside the block, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            seen.append((statement, params))

    with listening(core, "before_cursor_execute", record):
        yield seen


async def _large_tables(core: Core) -> frozenset[str]:
    names = await _table_names(core)
    large = set()
    async with core.engine.connect() as connection:
        for name in names:
            rows = await connection.scalar(text(f'SELECT count(*) FROM "{name}"'))
            if (rows or 0) >= LARGE_ROWS:
                large.add(name)
    return frozenset(large)


async def _table_names(core: Core) -> list[str]:
    async with core.engine.connect() as connection:
        return await connection.run_sync(lambda sync: inspect(sync).get_table_names())


async def _full_scans(core: Core, large: frozenset[str], statement: str, params: Any) -> list[str]:
    """The plan's steps that read a large table whole: a scan, or an index searched by
    the co-op alone (the test has one co-op, as a large single co-op has)."""
    sqlite = core.engine.dialect.name == "sqlite"
    async with core.engine.connect() as connection:
        if sqlite:
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            details = [str(row[-1]) for row in plan.all()]
            return [
                d
                for d in details
                if (m := re.match(r"(?:SCAN|SEARCH) (\w+)", d))
                and m[1] in large
                and (d.startswith("SCAN") or d.endswith("(coop_id=?)"))
            ]
        # PostgreSQL rightly prefers a sequential scan of a table this small; with them
        # discouraged, one remains only where no index can serve the query.
        await connection.exec_driver_sql("SET enable_seqscan = off")
        plan = await connection.exec_driver_sql(f"EXPLAIN {statement}", params)
        details = [str(row[0]) for row in plan.all()]
    found = []
    table = ""
    for d in details:
        if m := re.search(r"(Seq Scan|Index Scan|Index Only Scan|Bitmap Heap Scan) on (\w+)", d):
            table = m[2]
            if m[1] == "Seq Scan" and table in large:
                found.append(d.strip())
        elif table in large and re.search(r"(Index|Recheck) Cond: \(coop_id = \$\d+\)$", d):
            found.append(f"{table}: {d.strip()}")
    return found


HOT = (
    ("bob", "!tally"),
    ("bob", "!tally period:month"),
    ("bob", "!tally period:all"),
    ("bob", "!member list"),
    ("bob", "!member list page:3"),
    ("bob", "!show 501"),
    ("bob", "!list open"),
    ("bob", "!task list mine"),
    ("bob", "!task list open"),
    ("bob", "!log 1 gate"),
    ("bob", "!kudos @carol thanks"),
    ("alice", "!summary"),
)


async def test_hot_queries_use_indexes_on_a_populated_database(
    core: Core, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 11, 23, 9, tzinfo=UTC))
    await _populate(core)
    large = await _large_tables(core)
    assert {"contributions", "members", "identities", "tasks", "memberships"} <= large
    problems: list[str] = []
    for user, command in HOT:
        with _selects(core) as seen:
            reply = await say(core, user, command)
        assert "went wrong" not in reply, reply
        for statement, params in seen:
            for scan in await _full_scans(core, large, statement, params):
                problems.append(f"{command}: {scan}\n    {' '.join(statement.split())[:300]}")
    assert problems == [], "\n".join(problems)
