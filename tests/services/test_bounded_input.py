"""Numbers, dates and durations a member types are bounded before any arithmetic: hostile
ones get one clear line and change nothing, and settings are stored in a form that is never
parsed as free text again (SPEC §7). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import write_watch
from bot.app import Core
from bot.config import Settings
from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, upgrade
from bot.db.models import Coop, Decision, Task
from tests.support import say, setup_coop


async def _settings(core: Core) -> dict[str, Any]:
    async with core.sessions() as session:
        stored = await session.scalar(select(Coop.settings))
    assert stored is not None
    return dict(stored)


async def _store_settings(core: Core, settings: dict[str, Any]) -> None:
    async with core.sessions() as session, session.begin():
        await session.execute(update(Coop).values(settings=settings))
        await write_watch.due_changed(session)  # as coops.change_settings says


def _one_line(reply: str) -> str:
    """An error is one line, plus at most one hint line."""
    assert reply.count("\n") <= 1, reply
    return reply


async def test_a_huge_exponent_is_refused_in_one_line_and_not_stored(core: Core) -> None:
    """Before, `Fraction("1e-999999")` was expanded (and `1e-99999999` froze the bot for
    hours), and the tiny share it gave was stored and parsed again on every command."""
    await setup_coop(core)
    for value in ("1e-999999", "1e-99999999", "9" * 150, "0x10", "1_0%", "５%"):
        reply = _one_line(await say(core, "alice", f"!coop settings reserve_share:{value}"))
        assert "must be" in reply or "characters long" in reply, reply
    assert await _settings(core) == {}


async def test_settings_are_stored_normalised_and_shown_as_written(core: Core) -> None:
    await setup_coop(core)
    changed = await say(
        core,
        "alice",
        "!coop settings quorum:66.5% reserve_share:1/8 max_claims:+5 min_voting_time:90m",
    )
    assert (
        "changed: quorum = 133/200, reserve_share = 1/8, max_claims = 5, min_voting_time = 1h30m"
        in changed
    )
    assert await _settings(core) == {
        "quorum": "133/200",
        "reserve_share": "1/8",
        "max_claims": 5,
        "min_voting_time": 5400,
    }
    shown = await say(core, "alice", "!coop settings")
    for row in ("quorum: 133/200", "reserve_share: 1/8", "max_claims: 5", "min_voting_time: 1h30m"):
        assert row in shown, shown


async def test_whole_number_settings_take_ascii_digits_only(core: Core) -> None:
    await setup_coop(core)
    for value in ("٥", "1_0", "3.0", "1e1", "99999999999"):
        reply = await say(core, "alice", f"!coop settings max_claims:{value}")
        assert "must be a whole number" in reply, reply
    assert await _settings(core) == {}


async def test_an_unreadable_stored_setting_falls_back_to_the_default(core: Core) -> None:
    """A row written by hand (or by an older release, before migration 0003) is never parsed
    as free text: every command still works, on the configured default."""
    await setup_coop(core)
    await _store_settings(
        core, {"quorum": "lots", "reserve_share": "1e-99999999", "max_claims": "٥"}
    )
    shown = await say(core, "alice", "!coop settings")
    assert "quorum: 50%" in shown and "reserve_share: 0%" in shown and "max_claims: 3" in shown
    assert "Proposal #1 opened" in await say(core, "alice", "!propose Still works")


async def _downgrade_to_0001(engine: AsyncEngine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))

    def run(connection: object) -> None:
        config.attributes["connection"] = connection
        command.downgrade(config, "0001")

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def test_migration_0003_normalises_settings_written_as_typed(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine, "0001")
        await _downgrade_to_0001(engine)  # PostgreSQL arrives upgraded to head
        legacy = {
            "quorum": "60%",
            "reserve_share": "0.125",
            "max_claims": 5,
            "timezone": "Europe/Berlin",
        }
        hostile = {"quorum": "2/3", "reserve_share": "1e-99999999"}
        async with engine.begin() as connection:
            for name, stored in (("Legacy", legacy), ("Hostile", hostile)):
                await connection.execute(
                    insert(Coop).values(
                        name=name,
                        created_at=datetime(2026, 11, 16, 9, tzinfo=UTC),
                        settings=stored,
                        next_decision_number=1,
                        next_task_number=1,
                    )
                )
        await upgrade(engine)
        async with engine.connect() as connection:
            rows = (await connection.execute(select(Coop.name, Coop.settings))).all()
        after = {name: stored for name, stored in rows}
        assert after["Legacy"] == {
            "quorum": "3/5",
            "reserve_share": "1/8",
            "max_claims": 5,
            "timezone": "Europe/Berlin",
        }
        # A value that can't be read safely is dropped: the co-op is back on the default.
        assert after["Hostile"] == {"quorum": "2/3"}
    finally:
        await engine.dispose()


async def test_a_date_past_the_calendar_gets_a_clear_error(core: Core) -> None:
    """Year 9999 in a timezone behind UTC overflowed on the way to UTC: "Something went
    wrong". Now the year is checked on its digits before any date arithmetic."""
    await setup_coop(core)
    await say(core, "alice", "!coop settings timezone:America/New_York")
    for typed in (
        '!propose Far closes:"9999-12-31 23:00"',
        "!propose Far closes:9999-12-31",
        '!propose Far opens:"9999-12-31 23:59"',
        '!task add Far due:"9999-12-31 23:59"',
        "!propose Far closes:0001-01-01",
    ):
        reply = await say(core, "alice", typed)
        assert "too far ahead" in reply or "long past" in reply, (typed, reply)
        assert "Something went wrong" not in reply
    for typed in ("!propose Long closes:99999999d", "!propose Long closes:999999999w"):
        reply = await say(core, "alice", typed)
        assert "a duration can be at most 366 days" in reply, (typed, reply)
    async with core.sessions() as session:
        assert (await session.scalars(select(Decision))).all() == []
        assert (await session.scalars(select(Task))).all() == []


async def test_extending_again_and_again_never_walks_off_the_calendar(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Long talk closes:3d")
    assert "a duration can be at most 366 days" in await say(core, "alice", "!extend 1 99999999d")
    for _ in range(4):
        assert "extended" in await say(core, "alice", "!extend 1 366d")
    refused = await say(core, "alice", "!extend 1 366d")
    assert "#1's deadline would then be more than 5 years away" in refused, refused
    # A deadline stored far ahead (by an older release) is refused the same way, not with
    # an OverflowError.
    async with core.sessions() as session, session.begin():
        await session.execute(update(Decision).values(closes_at=datetime(9999, 12, 1, tzinfo=UTC)))
        await write_watch.due_changed(session)
    refused = await say(core, "alice", "!extend 1 366d")
    assert "more than 5 years away" in refused and "Something went wrong" not in refused


async def test_a_score_in_other_digits_is_refused_in_one_line(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", '!poll Venue? options:"Hall | Barn" method:score')
    reply = await say(core, "bob", "!vote 1 A=²")
    assert "a score is a whole number from 0 to 5" in reply, reply
    assert "recorded" in await say(core, "bob", "!vote 1 A=5,B=3")
