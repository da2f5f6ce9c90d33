"""Proposals end to end: members propose, vote, change their minds, and stewards close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.db.models import (
    AuditEvent,
    Base,
    Coop,
    Decision,
    Member,
    Membership,
    Participation,
    SealedBallot,
    Vote,
)
from bot.invocation import CAP_EPHEMERAL
from bot.render.plain import render_plain
from bot.services.context import Context
from bot.services.due import close_due
from tests.support import announcements, invocation, say, setup_coop

TWELVE = ("bob", "carol", "dan", "erin", "femi", "gus", "hana", "ivo", "jo", "kim", "lee")


async def decision(core: Core, number: int) -> Decision:
    async with core.sessions() as session:
        found = await session.scalar(select(Decision).where(Decision.number == number))
        assert found is not None
        return found


async def votes(core: Core, number: int) -> dict[str, tuple[str, int]]:
    """Who has a current vote on #number: name → (stored choice, times changed)."""
    async with core.sessions() as session:
        rows = await session.execute(
            select(Member.name, Vote.choice, Vote.changes)
            .join(Vote, Vote.member_id == Member.id)
            .join(Decision, Decision.id == Vote.decision_id)
            .where(Decision.number == number)
        )
        return {name: (choice, changes) for name, choice, changes in rows.all()}


async def audit(core: Core, subject: str) -> list[tuple[str, dict[str, Any]]]:
    async with core.sessions() as session:
        rows = await session.execute(
            select(AuditEvent.action, AuditEvent.detail)
            .where(AuditEvent.subject == subject)
            .order_by(AuditEvent.id)
        )
        return [(action, detail) for action, detail in rows.all()]


async def decision_count(core: Core) -> int:
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Decision)) or 0)


async def test_a_proposal_is_voted_on_changed_and_closed_by_a_steward(core: Core) -> None:
    await setup_coop(core, members=TWELVE)
    opened = await say(core, "alice", '!propose Buy a 3D printer body:"for the workshop"')
    assert "Proposal #1 opened by @alice — closes Mon 23 Nov 09:00 (UTC), in 7 days" in opened
    assert "method: majority · quorum 50% of 12 eligible (6 votes)" in opened
    assert "vote: !vote 1 yes|no|abstain" in opened

    assert "Your vote on #1 is recorded: yes" in await say(core, "bob", "!vote 1 yes")
    await say(core, "carol", "!vote 1 no")
    ack = await say(core, "dan", "!vote 1 abstain")
    assert "turnout 3/12 — 3 more votes reach quorum" in ack
    # carol changes her mind: the last vote counts, one row, one change recorded.
    changed = await say(core, "carol", "!vote 1 YES")
    assert "Your vote on #1 is changed: yes" in changed
    assert await votes(core, 1) == {"bob": ("yes", 0), "carol": ("yes", 1), "dan": ("abstain", 0)}
    assert [a for a, _ in await audit(core, "decision:1")] == [
        "proposal.create",
        "decision.open",
        "vote.cast",
        "vote.cast",
        "vote.cast",
        "vote.change",
    ]

    await say(core, "erin", "!vote 1 yes")
    await say(core, "femi", "!vote 1 no")
    shown = await say(core, "gus", "!show 1")
    assert "#1 Buy a 3D printer — open, closes Mon 23 Nov 09:00 (UTC), in 7 days" in shown
    assert "yes 3 · no 1 · abstain 1        turnout 5/12 — 1 more vote reaches quorum" in shown
    assert "not yet voted: @alice @gus @hana @ivo @jo @kim @lee" in shown

    for name in ("gus", "hana", "ivo", "jo"):
        await say(core, name, "!vote 1 yes")
    await say(core, "kim", "!vote 1 no")
    assert "Only stewards can run `!close`" in await say(core, "bob", "!close 1")
    closed = await say(core, "alice", "!close 1")
    assert closed == (
        "#1 Buy a 3D printer — PASSED (yes 7, no 2, abstain 1; turnout 10/12, quorum 6 met)"
    )
    stored = await decision(core, 1)
    assert (stored.status, stored.outcome) == ("closed", "passed")
    assert stored.result == {
        "eligible": 12, "turnout": 10, "needed": 6, "yes": 7, "no": 2, "abstain": 1, "block": 0
    }  # fmt: skip

    # Closed is final.
    assert "#1 is closed; its votes can no longer change" in await say(core, "lee", "!vote 1 no")
    assert "#1 is closed; only an open decision can be closed" in await say(
        core, "alice", "!close 1"
    )
    assert "#1 is closed; only an open or scheduled vote can be extended" in await say(
        core, "alice", "!extend 1 2d"
    )
    assert "can no longer be withdrawn" in await say(core, "alice", "!withdraw 1")
    assert "lee" not in await votes(core, 1)
    assert (await decision(core, 1)).outcome == "passed"
    assert "PASSED (yes 7, no 2, abstain 1" in await say(core, "lee", "!show 1")


async def test_quorum_is_met_exactly_at_the_boundary(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))  # 4 eligible, 50% → 2 votes
    await say(core, "alice", "!propose Paint the door red")
    await say(core, "bob", "!vote 1 yes")
    assert "turnout 1/4 — 1 more vote reaches quorum" in await say(core, "alice", "!show 1")
    assert "NO QUORUM (yes 1, no 0, abstain 0; turnout 1/4, quorum 2 not met)" in await say(
        core, "alice", "!close 1"
    )
    assert (await decision(core, 1)).outcome == "no quorum"

    await say(core, "alice", "!propose Paint the door blue")
    await say(core, "bob", "!vote 2 yes")
    assert "turnout 2/4 — quorum 2 met" in await say(core, "carol", "!vote 2 abstain")
    assert "PASSED (yes 1, no 0, abstain 1; turnout 2/4, quorum 2 met)" in await say(
        core, "alice", "!close 2"
    )


async def test_quorum_zero_needs_nobody_and_a_tie_fails(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    # Only a steward may drop the quorum below the co-op's, and says why (see test_snap_votes).
    opened = await say(
        core, "alice", '!propose Water the plants quorum:0 reason:"anyone may water them"'
    )
    assert "method: majority · no quorum" in opened
    assert "turnout 1/4 — no quorum needed" in await say(core, "bob", "!vote 1 yes")
    assert "PASSED (yes 1, no 0, abstain 0; turnout 1/4, no quorum required)" in await say(
        core, "alice", "!close 1"
    )

    await say(core, "bob", "!propose Get a cat")
    await say(core, "bob", "!vote 2 yes")
    await say(core, "carol", "!vote 2 no")
    assert "REJECTED (yes 1, no 1, abstain 0; turnout 2/4, quorum 2 met)" in await say(
        core, "alice", "!close 2"
    )


async def test_supermajority_thresholds_are_exact(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan", "erin", "femi"))

    async def decide(options: str, yes: int, no: int) -> str:
        opened = await say(
            core, "alice", f"!propose Change the rota method:supermajority {options}"
        )
        number = int(opened.split("#", 1)[1].split(" ", 1)[0])
        voters = iter(("alice", "bob", "carol", "dan", "erin", "femi"))
        for choice, times in (("yes", yes), ("no", no)):
            for _ in range(times):
                await say(core, next(voters), f"!vote {number} {choice}")
        return await say(core, "alice", f"!close {number}")

    # 2 of 3 is exactly two thirds: it passes; 3 of 5 is just below and fails.
    assert "PASSED (yes 2, no 1" in await decide("", 2, 1)
    assert "REJECTED (yes 3, no 2" in await decide("", 3, 2)
    assert "REJECTED (yes 2, no 1" in await decide("threshold:3/4", 2, 1)
    assert "PASSED (yes 3, no 1" in await decide("threshold:3/4", 3, 1)
    # 66% is 33/50, a little less than two thirds: 2 of 3 clears it.
    opened = await say(
        core, "alice", "!propose Nearly two thirds method:supermajority threshold:66%"
    )
    assert "method: supermajority 66% · quorum 50% of 6 eligible (3 votes)" in opened
    for name in ("alice", "bob"):
        await say(core, name, "!vote 5 yes")
    await say(core, "carol", "!vote 5 no")
    assert "PASSED (yes 2, no 1" in await say(core, "alice", "!close 5")
    assert [(await decision(core, n)).threshold for n in (1, 3, 5)] == ["2/3", "3/4", "33/50"]

    refused = await say(core, "alice", "!propose Lower the bar method:supermajority threshold:1/2")
    assert "a supermajority threshold must be more than 1/2" in refused
    assert "threshold: only applies to method:supermajority" in await say(
        core, "alice", "!propose Simple threshold:3/4"
    )
    assert await decision_count(core) == 5


async def test_consent_a_block_needs_a_reason_and_stops_the_proposal(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan", "erin"))
    opened = await say(core, "alice", "!propose Sublet the workshop method:consent")
    assert "vote: !vote 1 yes|no|abstain|block" in opened

    refused = await say(core, "erin", "!vote 1 block")
    assert refused == (
        "A block needs a reason, so the group can address it — "
        'for example `!vote 1 block reason:"it breaks our lease"`'
    )
    assert await votes(core, 1) == {}

    for name in ("alice", "bob", "carol", "dan"):
        await say(core, name, "!vote 1 agree")
    blocked = await say(core, "erin", '!vote 1 block reason:"it breaks our lease"')
    assert "Your vote on #1 is recorded: block" in blocked
    shown = await say(core, "bob", "!show 1")
    assert "yes 4 · no 0 · abstain 0 · block 1" in shown
    # The group sees why, so it can address the block.
    assert "  blocked by @erin: it breaks our lease" in shown
    closed = await say(core, "alice", "!close 1")
    assert closed == (
        "#1 Sublet the workshop — REJECTED (yes 4, no 0, abstain 0, block 1; turnout 5/5, "
        "quorum 3 met)\n"
        "  blocked by @erin: it breaks our lease"
    )
    async with core.sessions() as session:
        reason = await session.scalar(select(Vote.reason).where(Vote.choice == "block"))
    assert reason == "it breaks our lease"


async def test_echoed_titles_and_reasons_cannot_ping_the_room(core: Core) -> None:
    await setup_coop(core)
    opened = await say(core, "bob", "!propose @everyone free <b>pizza</b> method:consent")
    assert "@everyone" not in opened and "@\u200beveryone free" in opened
    await say(core, "carol", '!vote 1 block reason:"@here we agreed on <@&123> last week"')
    shown = await say(core, "alice", "!show 1")
    assert "@here" not in shown and "<@&" not in shown
    assert "blocked by @carol: @\u200bhere we agreed" in shown
    async with core.sessions() as session:
        title = await session.scalar(select(Decision.title))
    assert title == "@everyone free <b>pizza</b>"  # stored as typed, neutralised when shown


async def test_block_is_refused_under_majority(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a 3D printer")
    for _ in range(6):
        await say(core, "alice", "!propose Filler")
    refused = await say(core, "bob", '!vote 7 block reason:"no"')
    assert (
        refused == "#7 uses method majority: choose yes, no or abstain — for example `!vote 7 yes`"
    )
    assert await votes(core, 7) == {}


@pytest.fixture
async def bylaw_core(settings: Settings, clock: ManualClock) -> AsyncIterator[Core]:
    """A co-op whose config defines a bylaw_change rule class."""
    configured = load_settings(
        None,
        database_url=settings.database_url,
        attachments_dir=settings.attachments_dir,
        rule_classes={
            "bylaw_change": {"method": "supermajority", "threshold": "3/4", "quorum": "66%"}
        },
    )
    built = await create_core(configured, clock)
    try:
        yield built
    finally:
        await built.close()


async def test_a_rule_class_applies_and_cannot_be_weakened(bylaw_core: Core) -> None:
    core = bylaw_core
    await setup_coop(core, members=("bob", "carol", "dan", "erin", "femi"))
    opened = await say(core, "bob", "!propose Two-year terms for stewards class:bylaw_change")
    assert (
        "method: supermajority 75% (class bylaw_change) · quorum 66% of 6 eligible (4 votes)"
        in opened
    )
    stored = await decision(core, 1)
    assert (stored.method, stored.threshold, stored.quorum, stored.rule_class) == (
        "supermajority",
        "3/4",
        "33/50",
        "bylaw_change",
    )

    for refused, expected in (
        ("threshold:2/3", "class bylaw_change needs a threshold of at least 75%; 2/3 would"),
        ("quorum:50%", "class bylaw_change needs a quorum of at least 66%; 50% would weaken"),
        ("quorum:0", "class bylaw_change needs a quorum of at least 66%; 0% would weaken"),
        ("method:majority", "class bylaw_change decides by supermajority; a proposal can't"),
    ):
        reply = await say(core, "bob", f"!propose Weaker bylaws class:bylaw_change {refused}")
        assert expected in reply, reply
    assert "there is no rule class `bylaws` — classes: bylaw_change" in await say(
        core, "bob", "!propose Typo class:bylaws"
    )
    assert await decision_count(core) == 1

    stricter = await say(core, "bob", "!propose Stricter class:bylaw_change threshold:4/5")
    assert "method: supermajority 80% (class bylaw_change)" in stricter

    # 3 yes, 1 no is exactly 3/4 with 4 of 6 voting (66% quorum): it passes.
    for name, choice in (("alice", "yes"), ("bob", "yes"), ("carol", "yes"), ("dan", "no")):
        await say(core, name, f"!vote 1 {choice}")
    assert "PASSED (yes 3, no 1, abstain 0; turnout 4/6, quorum 4 met)" in await say(
        core, "alice", "!close 1"
    )


async def test_a_secret_ballot_shows_who_voted_never_how(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    opened = await say(core, "alice", "!propose Raise dues secret:yes")
    assert "secret ballot" in opened

    ack = await say(core, "bob", "!vote 1 yes")
    assert ack.splitlines() == [
        "Your vote on #1 is recorded (secret ballot)",
        "  turnout 1/4 — 1 more vote reaches quorum",
    ]
    ack = await say(core, "carol", '!vote 1 no reason:"too expensive"')
    assert ack.splitlines()[0] == "Your vote on #1 is recorded (secret ballot)"
    # Where the platform can show a reply to the voter alone, the voter sees the choice.
    private = replace(invocation("dan", "!vote 1 abstain"), capabilities=frozenset({CAP_EPHEMERAL}))
    (reply,) = await core.handle(private)
    assert reply.ephemeral and "recorded: abstain" in render_plain(reply)

    shown = await say(core, "bob", "!show 1")
    assert "secret ballot · turnout 3/4 — quorum 2 met" in shown
    assert "not yet voted: @alice" in shown
    assert "yes" not in shown and "abstain 1" not in shown

    closed = await say(core, "alice", "!close 1")
    assert "REJECTED (yes 1, no 1, abstain 1; turnout 3/4, quorum 2 met)" in closed
    after = await say(core, "bob", "!show 1") + await say(core, "bob", "!list all")
    for name in ("@bob", "@carol", "@dan"):
        assert name not in after and name not in closed
    assert "blocked" not in after and "too expensive" not in after + closed
    for action, detail in await audit(core, "decision:1"):
        assert "choice" not in detail and "reason" not in detail, (action, detail)
    # SPEC §4: at close the link is dropped; who took part and the choices remain apart.
    assert await votes(core, 1) == {}
    async with core.sessions() as session:
        took_part = await session.scalars(
            select(Member.name).join(Participation, Participation.member_id == Member.id)
        )
        assert set(took_part.all()) == {"bob", "carol", "dan"}
        sealed = await session.scalars(select(SealedBallot.choice).order_by(SealedBallot.position))
        assert sealed.all() == ["abstain", "no", "yes"]

    # A secret block still stops a consent proposal, but nobody learns whose it was.
    await say(core, "alice", "!propose Sell the van method:consent secret:yes")
    await say(core, "bob", "!vote 2 yes")
    await say(core, "dan", '!vote 2 block reason:"we need it for markets"')
    closed = await say(core, "alice", "!close 2")
    assert "REJECTED (yes 1, no 0, abstain 0, block 1; turnout 2/4" in closed
    assert "@dan" not in closed and "markets" not in closed


async def test_eligibility_is_fixed_when_voting_opens(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", "!propose Buy a kiln")
    await say(core, "alice", "!member add @erin")

    refused = await say(core, "erin", "!vote 1 yes")
    assert "You joined Riverside Co-op after #1 opened, so you can't vote on it" in refused
    assert "erin" not in await votes(core, 1)
    shown = await say(core, "erin", "!show 1")
    assert "turnout 0/4" in shown and "@erin" not in shown

    # A removed member's vote stays counted: the snapshot is fixed when voting opens, so
    # removing someone can't change a running count (or quorum) after the fact.
    await say(core, "dan", "!vote 1 no")
    await say(core, "alice", "!member remove @dan")
    assert "Only members of this co-op can do that" in await say(core, "dan", "!vote 1 yes")
    shown = await say(core, "alice", "!show 1")
    assert "yes 0 · no 1 · abstain 0        turnout 1/4 — 1 more vote reaches quorum" in shown
    assert "not yet voted: @alice @bob @carol" in shown

    # The next decision takes a fresh snapshot: erin in, dan out.
    assert "quorum 50% of 4 eligible" in await say(core, "erin", "!propose Buy clay")
    assert "Your vote on #2 is recorded: yes" in await say(core, "erin", "!vote 2 yes")
    assert await eligible_names(core, 2) == ["alice", "bob", "carol", "erin"]
    assert await eligible_names(core, 1) == ["alice", "bob", "carol", "dan"]


async def eligible_names(core: Core, number: int) -> list[str]:
    """Who may vote on #number, as stored: a membership stretch covering its opening."""
    async with core.sessions() as session:
        opened = await session.scalar(select(Decision.opened_seq).where(Decision.number == number))
        assert opened is not None
        names = await session.scalars(
            select(Member.name)
            .join(Membership, Membership.member_id == Member.id)
            .where(Membership.joined_seq < opened)
            .where((Membership.left_seq.is_(None)) | (Membership.left_seq > opened))
            .order_by(Member.name)
        )
        return list(names)


async def test_a_member_removed_and_added_again_after_opening_cannot_vote_on_it(
    core: Core,
) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", "!propose Buy a kiln")
    await say(core, "alice", "!member remove @dan")
    await say(core, "alice", "!member add @dan")
    refused = await say(core, "dan", "!vote 1 yes")
    assert "You joined Riverside Co-op after #1 opened, so you can't vote on it" in refused
    shown = await say(core, "alice", "!show 1")
    assert "turnout 0/4" in shown and "@dan" not in shown
    assert "quorum 50% of 4 eligible" in await say(core, "alice", "!propose Buy clay")
    assert "recorded" in await say(core, "dan", "!vote 2 yes")


async def _row_count(core: Core) -> int:
    async with core.sessions() as session:
        total = 0
        for table in Base.metadata.sorted_tables:
            total += int(await session.scalar(select(func.count()).select_from(table)) or 0)
        return total


async def test_opening_a_vote_stores_the_same_rows_whatever_the_co_ops_size(
    core: Core,
) -> None:
    """Eligibility is a membership stretch per member, not a row per member per decision."""
    await setup_coop(core, members=("bob",))
    before = await _row_count(core)
    await say(core, "alice", "!propose Buy a kiln")
    small = await _row_count(core) - before
    for name in TWELVE[1:]:
        await say(core, "alice", f"!member add @{name}")
    before = await _row_count(core)
    assert "quorum 50% of 12 eligible" in await say(core, "alice", "!propose Buy clay")
    assert await _row_count(core) - before == small


async def test_withdrawing_by_the_author_or_a_steward(core: Core) -> None:
    await setup_coop(core)
    await say(core, "bob", "!propose Move the meeting to Tuesdays")
    refused = await say(core, "carol", "!withdraw 1")
    assert refused == "Only the author of #1 or a steward can withdraw it"
    assert "#1 Move the meeting to Tuesdays — withdrawn by @bob" in await say(
        core, "bob", "!withdraw 1"
    )
    assert (await decision(core, 1)).status == "withdrawn"
    assert "#1 is withdrawn; its votes can no longer change" in await say(
        core, "carol", "!vote 1 yes"
    )
    assert "#1 Move the meeting to Tuesdays — withdrawn" in await say(core, "carol", "!show 1")

    await say(core, "carol", "!propose Meet on Mondays")
    assert "withdrawn by @alice" in await say(core, "alice", "!withdraw 2")
    assert "#2 is withdrawn; it can no longer be withdrawn" in await say(
        core, "alice", "!withdraw 2"
    )
    assert await votes(core, 2) == {}


async def test_listing_open_closed_and_all(core: Core) -> None:
    await setup_coop(core)
    assert "No open decisions yet." in await say(core, "bob", "!list")
    await say(core, "alice", "!propose Buy a kiln")
    await say(core, "alice", '!poll Which colour? options:"Red | Green"')
    await say(core, "alice", "!propose Sell the van")
    await say(core, "bob", "!vote 2 A")
    await say(core, "carol", "!vote 2 green")
    await say(core, "alice", "!vote 2 Red")
    await say(core, "alice", "!close 2")
    await say(core, "alice", "!withdraw 3")

    opened = await say(core, "bob", "!list open")
    assert opened == (
        "Decisions (open)\n  #1 Buy a kiln — open, closes Mon 23 Nov 09:00 (in 7 days)"
    )
    closed = await say(core, "bob", "!list closed")
    assert closed == (
        "Decisions (closed)\n"
        "  #3 Sell the van — withdrawn\n"
        "  #2 Which colour? — closed — winner: Red"
    )
    everything = await say(core, "bob", "!list all")
    assert everything.count("\n  #") == 3
    assert "The state must be open, closed or all, not `everything`" in await say(
        core, "bob", "!list everything"
    )


async def test_a_scheduled_vote_opens_and_closes_on_time(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    assert "Only stewards can use opens:" in await say(core, "bob", "!propose Early opens:1d")
    scheduled = await say(core, "alice", "!propose Adopt the rota opens:1d closes:2d")
    assert (
        "Proposal #1 scheduled by @alice — opens Tue 17 Nov 09:00, closes Thu 19 Nov" in scheduled
    )
    refused = await say(core, "bob", "!vote 1 yes")
    assert "#1 is not open yet; voting opens Tue 17 Nov 09:00 (UTC)" in refused
    assert "scheduled, opens Tue 17 Nov 09:00" in await say(core, "bob", "!show 1")

    clock.advance(timedelta(days=1))
    await core.run_due_work()
    assert any("Proposal #1 opened by @alice" in a for a in await announcements(core))
    await say(core, "bob", "!vote 1 yes")
    await say(core, "carol", "!vote 1 yes")

    # Once the deadline has passed nobody can slip a vote in before the close runs.
    clock.advance(timedelta(days=2))
    late = await say(core, "alice", "!vote 1 no")
    assert "Voting on #1 ended Thu 19 Nov 09:00 (UTC); the result is being counted" in late
    assert "voting ended Thu 19 Nov 09:00 (UTC)" in await say(core, "bob", "!show 1")
    await core.run_due_work()
    shown = await announcements(core)
    assert any("#1 Adopt the rota — PASSED (yes 2, no 0, abstain 0" in a for a in shown), shown
    assert await votes(core, 1) == {"bob": ("yes", 0), "carol": ("yes", 0)}


async def test_extending_moves_the_deadline(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Repaint the sign closes:1d")
    assert "Only stewards can run `!extend`" in await say(core, "bob", "!extend 1 2d")
    extended = await say(core, "alice", "!extend 1 2d")
    assert extended == (
        "#1 Repaint the sign — extended; now closes Thu 19 Nov 09:00 (UTC), in 3 days"
    )
    assert (await decision(core, 1)).closes_at == clock.now() + timedelta(days=3)
    assert "I can't read 'soon' as a duration" in await say(core, "alice", "!extend 1 soon")

    clock.advance(timedelta(days=3, hours=1))
    past = await say(core, "alice", "!extend 1 30m")
    assert "#1 would then close Thu 19 Nov 09:30 (UTC), which is already past" in past
    assert "extended" in await say(core, "alice", "!extend 1 1d")


async def test_ten_proposals_at_once_get_distinct_numbers(core: Core) -> None:
    await setup_coop(core)
    replies = await asyncio.gather(
        *(core.handle(invocation("bob", f"!propose Idea {n}")) for n in range(10))
    )
    texts = [render_plain(r) for rs in replies for r in rs]
    assert all("opened by @bob" in t for t in texts), texts
    async with core.sessions() as session:
        numbers = sorted((await session.scalars(select(Decision.number))).all())
    assert numbers == list(range(1, 11))


async def test_simultaneous_votes_all_count(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", "!propose Buy a kiln")
    replies = await asyncio.gather(
        say(core, "bob", "!vote 1 yes"),
        say(core, "carol", "!vote 1 no"),
        say(core, "dan", "!vote 1 yes"),
    )
    assert all("is recorded" in r for r in replies), replies
    assert await votes(core, 1) == {"bob": ("yes", 0), "carol": ("no", 0), "dan": ("yes", 0)}
    # The same member twice at once: one vote row, the second counted as a change.
    again = await asyncio.gather(
        say(core, "bob", "!vote 1 no"), say(core, "bob", "!vote 1 abstain")
    )
    assert sum("is changed" in r for r in again) == 2, again
    choice, changes = (await votes(core, 1))["bob"]
    assert choice in ("no", "abstain") and changes == 2


async def test_a_vote_racing_a_close_is_counted_or_refused(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", "!propose Buy a kiln")
    await say(core, "bob", "!vote 1 yes")
    closed, voted = await asyncio.gather(
        say(core, "alice", "!close 1"), say(core, "carol", "!vote 1 yes")
    )
    stored = await decision(core, 1)
    assert stored.result is not None
    # Whatever order they ran in, the announced count is the stored votes.
    assert stored.result["turnout"] == len(await votes(core, 1))
    assert ("recorded" in voted) == (stored.result["turnout"] == 2), (closed, voted)


async def test_the_same_message_is_handled_once(core: Core) -> None:
    await setup_coop(core)
    first = await core.handle(invocation("bob", "!propose Buy a kiln", message_id="same"))
    again = await core.handle(invocation("bob", "!propose Buy a kiln", message_id="same"))
    assert "Proposal #1 opened" in render_plain(first[0]) and list(again) == []
    both = await asyncio.gather(
        core.handle(invocation("bob", "!vote 1 yes", message_id="twice")),
        core.handle(invocation("bob", "!vote 1 yes", message_id="twice")),
    )
    assert sorted(len(r) for r in both) == [0, 1]
    assert await decision_count(core) == 1
    assert await votes(core, 1) == {"bob": ("yes", 0)}


async def test_inputs_past_their_bounds_are_refused_and_change_nothing(core: Core) -> None:
    await setup_coop(core)
    assert "Proposal #1 opened" in await say(core, "bob", "!propose " + "t" * 200)
    refused = await say(core, "bob", "!propose " + "t" * 201)
    assert "The title is 201 characters long; the limit is 200" in refused
    assert refused.count("\n") <= 1

    assert "Proposal #2 opened" in await say(core, "bob", f'!propose Long body:"{"b" * 4000}"')
    refused = await say(core, "bob", f'!propose Too long body:"{"b" * 4001}"')
    assert "4001 characters long; the limit is 4000" in refused
    assert await decision_count(core) == 2

    assert "recorded" in await say(core, "bob", f'!vote 1 no reason:"{"r" * 500}"')
    refused = await say(core, "carol", f'!vote 1 no reason:"{"r" * 501}"')
    assert "501 characters long; the limit is 500" in refused
    assert await votes(core, 1) == {"bob": ("no", 0)}

    twenty = " | ".join(f"Option {n}" for n in range(20))
    opened = await say(core, "bob", f'!poll Pick one options:"{twenty}"')
    assert "Poll #3 opened" in opened and "T: Option 19" in opened
    refused = await say(core, "bob", f'!poll Pick one options:"{twenty} | Option 20"')
    assert "at most 20 options" in refused and refused.count("\n") <= 1
    assert await decision_count(core) == 3


async def test_a_close_found_due_before_an_extension_does_not_run(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Repaint the sign closes:1d")
    clock.advance(timedelta(days=1))
    # The scheduler has found #1 due, but a steward extends it before the close step runs.
    assert "extended" in await say(core, "alice", "!extend 1 1d")
    async with core.sessions() as session, session.begin():
        found = await session.scalar(select(Decision).where(Decision.number == 1))
        assert found is not None
        coop = await session.get(Coop, found.coop_id)
        ctx = Context(session=session, clock=clock, settings=core.settings, coop=coop)
        assert await close_due(ctx, found.id) is False
    assert (await decision(core, 1)).status == "open"
    assert "is recorded" in await say(core, "bob", "!vote 1 yes")


async def test_a_large_coop_names_only_the_first_twenty_non_voters(core: Core) -> None:
    names = tuple(f"m{n:02}" for n in range(24))
    await setup_coop(core, members=names)
    await say(core, "alice", "!propose Bigger premises")
    await say(core, "m00", "!vote 1 yes")
    shown = await say(core, "m00", "!show 1")
    assert "turnout 1/25 — 12 more votes reach quorum" in shown
    waiting = "not yet voted: @alice " + " ".join(f"@m{n:02}" for n in range(1, 20))
    assert f"{waiting} … and 4 more" in shown


async def test_a_long_list_shows_the_latest_fifty(core: Core) -> None:
    await setup_coop(core)
    for n in range(1, 52):
        await say(core, "bob", f"!propose Idea {n}")
    listed = await say(core, "bob", "!list")
    assert listed.startswith("Decisions (open) — the latest 50\n  #51 Idea 51")
    assert "#2 Idea 2 —" in listed and "#1 Idea 1 —" not in listed
    assert "#1 Idea 1 — open" in await say(core, "bob", "!show 1")
