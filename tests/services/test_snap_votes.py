"""A member can't open a snap vote: their options may only make the co-op's defaults
stricter. A steward may go below them, says why, and the card shows who did (SPEC §4)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.db.models import AuditEvent, Decision, Member
from tests.support import announcements, say, setup_coop

BELOW = "below the co-op's defaults, set by @alice"


async def _decisions(core: Core) -> int:
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Decision)) or 0)


async def _stored(core: Core, number: int) -> tuple[str | None, str | None, Any]:
    async with core.sessions() as session:
        row = (
            await session.execute(
                select(Member.name, Decision.lowered_reason, Decision.lowered)
                .outerjoin(Member, Member.id == Decision.lowered_by_id)
                .where(Decision.number == number)
            )
        ).one()
    return row[0], row[1], row[2]


async def test_a_member_cannot_open_a_ten_second_vote_without_quorum(core: Core) -> None:
    await setup_coop(core)
    refused = await say(core, "bob", "!propose Spend the reserve quorum:0 closes:10s")
    assert refused.splitlines()[0].startswith(
        "quorum:0 is below the co-op's 50% — only stewards can lower it"
    ), refused
    assert "for example `quorum:50%`" in refused and refused.count("\n") <= 1
    refused = await say(core, "bob", "!propose Spend the reserve closes:10s")
    assert (
        "closes:10s gives 10 s of voting, below the co-op's shortest voting time of 1 h "
        "— only stewards can shorten it"
    ) in refused, refused
    assert "give at least `closes:1h`" in refused
    refused = await say(core, "bob", '!poll Spend it how? options:"A | B" quorum:10% closes:59m')
    assert "quorum:10% is below the co-op's 50%" in refused
    assert await _decisions(core) == 0


async def test_a_member_may_make_the_defaults_stricter(core: Core) -> None:
    await setup_coop(core)
    opened = await say(core, "bob", "!propose Buy a kiln quorum:75% closes:1h")
    assert "quorum 75% of 3 eligible" in opened and BELOW not in opened
    opened = await say(core, "bob", "!propose Sell the van method:supermajority threshold:66%")
    assert "supermajority 66%" in opened
    assert "Poll #3 opened" in await say(core, "bob", '!poll Lunch? options:"A | B" closes:2h')
    assert await _stored(core, 1) == (None, None, None)


async def test_a_steward_goes_below_with_a_reason_and_the_card_says_so(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    refused = await say(core, "alice", "!propose Fix the burst pipe quorum:0 closes:30m")
    assert refused.startswith("quorum:0 lowers the co-op's quorum of 50% — say why with reason:")
    assert await _decisions(core) == 0

    opened = await say(
        core,
        "alice",
        '!propose Fix the burst pipe quorum:0 closes:30m reason:"water in the hall, decide now"',
    )
    assert (
        "  below the co-op's defaults, set by @alice: quorum 0% (co-op: 50%) · "
        "voting time 30 min (co-op: 1 h) — why: water in the hall, decide now"
    ) in opened.splitlines(), opened
    assert await _stored(core, 1) == (
        "alice",
        "water in the hall, decide now",
        [["quorum", "0%", "50%"], ["voting time", "30 min", "1 h"]],
    )
    assert f"{BELOW}: quorum 0%" in await say(core, "bob", "!show 1")
    async with core.sessions() as session:
        detail = await session.scalar(
            select(AuditEvent.detail).where(AuditEvent.action == "proposal.create")
        )
    assert detail is not None and detail["reason"] == "water in the hall, decide now"

    poll = await say(
        core, "alice", '!poll Which plumber? options:"Ann | Ben" closes:15m reason:"same leak"'
    )
    assert f"{BELOW}: voting time 15 min (co-op: 1 h) — why: same leak" in poll

    # A vote scheduled to open later says so when the scheduler opens it.
    scheduled = await say(
        core, "alice", '!propose Pay the plumber opens:1d closes:20m reason:"invoice is due"'
    )
    assert f"{BELOW}: voting time 20 min (co-op: 1 h) — why: invoice is due" in scheduled
    clock.advance(timedelta(days=1))
    await core.run_due_work()
    opened_later = [text for text in await announcements(core) if "#3 opened" in text]
    assert opened_later and f"{BELOW}: voting time 20 min" in opened_later[0], opened_later


async def test_a_reason_without_going_below_is_refused(core: Core) -> None:
    await setup_coop(core)
    refused = await say(core, "alice", '!propose Paint the door reason:"it is peeling"')
    assert "reason: explains a vote set below the co-op's defaults" in refused
    assert await _decisions(core) == 0


async def test_the_shortest_voting_time_is_the_co_ops_setting(core: Core) -> None:
    await setup_coop(core)
    changed = await say(core, "alice", "!coop settings min_voting_time:2d quorum:60%")
    assert "min_voting_time = 2d" in changed and "quorum = 60%" in changed
    refused = await say(core, "bob", "!propose Quick one closes:1d")
    assert "shortest voting time of 2 days" in refused and "`closes:2d`" in refused
    assert "quorum:50% is below the co-op's 60%" in await say(
        core, "bob", "!propose Quick one quorum:50%"
    )
    assert "Proposal #1 opened" in await say(core, "bob", "!propose Slow one closes:2d")
    assert "must be a duration from 1m to 30d" in await say(
        core, "alice", "!coop settings min_voting_time:10s"
    )


async def test_a_shortest_voting_time_past_a_week_sets_the_default_too(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!coop settings min_voting_time:10d")
    opened = await say(core, "bob", "!propose Long debate")
    assert "in 10 days" in opened, opened
    async with core.sessions() as session:
        decision = await session.scalar(select(Decision))
    assert decision is not None
    assert decision.closes_at - decision.opens_at == timedelta(days=10)


async def test_a_rule_class_binds_stewards_too(settings: Settings, clock: ManualClock) -> None:
    """A rule class is the co-op's bylaw: its floors hold for everyone, stewards included."""
    configured = load_settings(
        None,
        database_url=settings.database_url,
        attachments_dir=settings.attachments_dir,
        rule_classes={"bylaw_change": {"method": "supermajority", "quorum": "66%"}},
    )
    core = await create_core(configured, clock)
    try:
        await _a_rule_class_binds_stewards_too(core)
    finally:
        await core.close()


async def _a_rule_class_binds_stewards_too(core: Core) -> None:
    await setup_coop(core)
    refused = await say(
        core, "alice", '!propose Shorter terms class:bylaw_change quorum:10% reason:"hurry"'
    )
    assert "class bylaw_change needs a quorum of at least 66%" in refused, refused
    assert await _decisions(core) == 0
