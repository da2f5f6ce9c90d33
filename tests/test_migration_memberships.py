"""Migration 0008 turns the per-decision eligibility rows into membership stretches that give
every decision already opened exactly the eligible set it had, and the bot then decides
who may vote from them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import text

from bot.app import create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from tests.support import say

_T = datetime(2026, 11, 16, 9, 0)
_NAMES = {1: "alice", 2: "bob", 3: "carol", 4: "dan", 5: "erin", 6: "femi"}
_ACTIVE = {1: True, 2: True, 3: False, 4: True, 5: True, 6: True}
# decision number → (status, opened, the members the old snapshot holds)
_DECISIONS = {
    1: ("closed", _T, {1, 2, 3, 4}),
    # dan was removed, then restored (his old rows show a gap); carol left for good.
    2: ("closed", _T + timedelta(hours=1), {1, 2, 3}),
    3: ("open", _T + timedelta(hours=2), {1, 2, 4}),
    # Opened in the same instant as #3: erin joined in between, which no time shows.
    4: ("open", _T + timedelta(hours=2), {1, 2, 4, 5}),
    5: ("withdrawn", None, set()),  # withdrawn before it opened
    6: ("scheduled", None, set()),
}
# femi joined after the last opening; nobody's old rows name her.


def _eligible_sql() -> str:
    return (
        "SELECT d.number, m.member_id FROM decisions d JOIN memberships m "
        "ON m.coop_id = d.coop_id AND m.joined_seq < d.opened_seq "
        "AND (m.left_seq IS NULL OR m.left_seq > d.opened_seq)"
    )


async def test_migration_0008_keeps_each_opened_decisions_eligible_set(
    database_url: str, clock: ManualClock
) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0007")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO coops (id, name, created_at, settings, next_decision_number, "
                    "next_task_number) VALUES (1, 'Old', :t, '{}', 7, 1)"
                ),
                {"t": _T},
            )
            await connection.execute(
                text(
                    "INSERT INTO room_bindings (id, coop_id, platform, room_id, created_at, "
                    "role_sync) VALUES (1, 1, 'console', 'local', :t, 'off')"
                ),
                {"t": _T},
            )
            for member_id, name in _NAMES.items():
                await connection.execute(
                    text(
                        "INSERT INTO members (id, coop_id, name, role, active, joined_at) "
                        "VALUES (:id, 1, :name, :role, :active, :t)"
                    ),
                    {"id": member_id, "name": name, "active": _ACTIVE[member_id], "t": _T,
                     "role": "steward" if member_id == 1 else "member"},
                )  # fmt: skip
                await connection.execute(
                    text(
                        "INSERT INTO identities (coop_id, member_id, identity) "
                        "VALUES (1, :id, :identity)"
                    ),
                    {"id": member_id, "identity": f"console:{name}"},
                )
            for number, (status, opened, eligible) in _DECISIONS.items():
                decision_id = await connection.scalar(
                    text(
                        "INSERT INTO decisions (coop_id, number, kind, title, body, method, "
                        "quorum, secret, status, author_id, created_at, opens_at, closes_at, "
                        "opened_at, eligible_count) VALUES (1, :n, 'proposal', :title, '', "
                        "'majority', '0', :secret, :status, 1, :t, :t, :closes, :opened, :count) "
                        "RETURNING id"
                    ),
                    {"n": number, "title": f"Old {number}", "secret": False, "status": status,
                     "t": _T, "closes": _T + timedelta(days=30), "opened": opened,
                     "count": len(eligible)},
                )  # fmt: skip
                for member_id in eligible:
                    await connection.execute(
                        text("INSERT INTO eligibility (decision_id, member_id) VALUES (:d, :m)"),
                        {"d": decision_id, "m": member_id},
                    )
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = (await connection.execute(text(_eligible_sql()))).all()
            tables = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    finally:
        await engine.dispose()

    found: dict[int, set[int]] = {}
    for number, member_id in rows:
        found.setdefault(number, set()).add(member_id)
    assert found == {n: e for n, (_, _, e) in _DECISIONS.items() if e}
    assert "eligibility" not in tables

    clock.set((_T + timedelta(hours=3)).replace(tzinfo=UTC))
    core = await create_core(Settings(database_url=database_url), clock)
    try:
        assert "turnout 0/4" in await say(core, "alice", "!show 4")
        refused = await say(core, "erin", "!vote 3 yes")
        assert "You joined Old after #3 opened, so you can't vote on it" in refused
        assert "recorded" in await say(core, "erin", "!vote 4 yes")
        assert "recorded" in await say(core, "dan", "!vote 3 no")
        assert "not yet voted: @alice @bob" in await say(core, "alice", "!show 3")
        # A decision opened now takes every current member, femi too, and not carol.
        assert "quorum 50% of 5 eligible" in await say(core, "femi", "!propose Paint the door")
        assert "recorded" in await say(core, "femi", "!vote 7 yes")
        assert "You joined" in await say(core, "femi", "!vote 4 yes")
    finally:
        await core.close()
