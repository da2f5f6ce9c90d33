"""Stewards tune their co-op; bad values are refused in one line and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.models import Coop
from tests.support import announcements, say, setup_coop


async def _settings(core: Core) -> dict[str, object]:
    async with core.sessions() as session:
        stored = await session.scalar(select(Coop.settings))
    assert stored is not None
    return dict(stored)


async def test_settings_are_shown_and_changed_by_stewards_only(core: Core) -> None:
    await setup_coop(core)
    shown = await say(core, "alice", "!coop settings")
    assert "timezone: UTC" in shown and "quorum: 50%" in shown and "max_claims: 3" in shown
    assert "Only stewards" in await say(core, "bob", "!coop settings quorum:60%")
    changed = await say(core, "alice", '!coop settings quorum:60% summary_cron:"0 18 * * fri"')
    assert "changed: quorum = 60%, summary_cron = 0 18 * * fri" in changed
    # Stored normalised: the exact fraction, read back for every command without parsing text.
    assert await _settings(core) == {"quorum": "3/5", "summary_cron": "0 18 * * fri"}


async def test_bad_values_are_refused_and_change_nothing(core: Core) -> None:
    await setup_coop(core)
    cases = {
        "timezone:Mars/Base": "`timezone` must be an IANA timezone",
        'summary_cron:"61 9 * * mon"': "`summary_cron` must be a cron line",
        "summary_cron:weekly": "`summary_cron` must be a cron line",
        "max_claims:0": "`max_claims` must be a whole number 1–100",
        "quorum:lots": "`quorum` must be a percentage",
        "reserve_share:150%": "`reserve_share` must be a percentage or fraction",
        "colour:red": "`colour` is not a co-op setting",
    }
    for option, expected in cases.items():
        reply = await say(core, "alice", f"!coop settings {option}")
        assert expected in reply, (option, reply)
        assert reply.count("\n") <= 1
    # one bad value in a batch refuses the whole batch
    assert "must be" in await say(core, "alice", "!coop settings quorum:60% max_claims:-1")
    assert await _settings(core) == {}


async def test_a_new_summary_schedule_takes_effect_at_once(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    await core.run_due_work()  # plans the default Monday 09:00 summary
    await say(core, "alice", '!coop settings summary_cron:"0 18 * * mon"')
    await core.run_due_work()
    async with core.sessions() as session:
        planned = await session.scalar(select(Coop.next_summary_at))
    assert planned == datetime(2026, 11, 16, 18, 0, tzinfo=UTC)  # today 18:00, not next week
    clock.advance(timedelta(hours=9))
    await core.run_due_work()
    assert any(text.startswith("Week 46") for text in await announcements(core))


async def test_a_summary_schedule_shows_its_next_three_times_and_one_that_never_fires_is_refused(
    core: Core,
) -> None:
    await setup_coop(core)
    changed = await say(
        core, "alice", '!coop settings timezone:Europe/Berlin summary_cron:"0 9 1 * mon"'
    )
    # Mon 16 Nov 2026 09:00 UTC is 10:00 in Berlin: the first of the month OR a Monday.
    assert "Mon 23 Nov 2026 09:00, Mon 30 Nov 2026 09:00, Tue 1 Dec 2026 09:00" in changed
    assert "(Europe/Berlin)" in changed
    refused = await say(core, "alice", '!coop settings summary_cron:"0 0 30 2 *"')
    assert "`summary_cron` must be a cron line" in refused and "day-of-month" in refused
    assert (await _settings(core))["summary_cron"] == "0 9 1 * mon"


async def test_anyone_can_ask_where_the_source_of_the_bot_is(settings: Settings) -> None:
    settings = settings.model_copy(update={"source_url": "https://git.example.org/coopbot"})
    core = await create_core(settings, ManualClock(datetime(2026, 11, 16, tzinfo=UTC)))
    try:
        shown = await say(core, "stranger", "!about")  # in a room no co-op is bound to
        assert "coopbot 0.1.0" in shown and "AGPL-3.0-or-later" in shown
        assert "https://git.example.org/coopbot" in shown
    finally:
        await core.close()
