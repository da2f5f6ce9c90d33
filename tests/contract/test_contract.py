"""The adapter contract: what every platform's adapter does the same, written once and run
over every driver (console, Matrix on a real Synapse, Discord under simcord)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Decision, OutboxDelivery, Vote
from bot.services import ballots
from tests.contract.drivers import Driver, NewCore, until

CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}\b")


def known_gap(request: pytest.FixtureRequest, driver: Driver, platform: str, reason: str) -> None:
    """This case is a known gap of `platform`'s adapter: it must fail (strict), so the
    marker goes as soon as the adapter is fixed."""
    if driver.platform == platform:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))


async def current_card(driver: Driver, number: int, asker: str, showing: str) -> str:
    """The card once it shows `showing`: the posted one, where the platform edits it in
    place (the edit follows the vote's answer, so it is waited for); elsewhere the one
    `show` prints."""
    if not driver.edits_cards:
        await driver.send(asker, f"show {number}")
        return await driver.card(number)
    return await until(driver, lambda: driver.card(number), lambda card: showing in card)


async def stored_choices(core: Core, number: int) -> list[str]:
    """The current votes on decision #number as stored (read as the core reads them)."""
    async with core.sessions() as session:
        rows = await session.execute(
            select(Decision, Vote.choice, Vote.ballot)
            .join(Vote, Vote.decision_id == Decision.id)
            .where(Decision.number == number)
        )
        return sorted(ballots.read(d, c, b).letters() for d, c, b in rows.tuples().all())


def mentioning(text: str, messages: list[str]) -> int:
    return sum(text in message for message in messages)


async def test_a_proposal_opens_a_card_with_its_ballot(driver: Driver) -> None:
    await driver.setup("alice", "bob")

    await driver.send("bob", "propose Buy a kettle")

    card = await driver.card(1)
    assert "#1" in card and "Buy a kettle" in card
    assert await driver.controls(1) == ["yes", "no", "abstain"]


async def test_the_card_follows_the_votes_as_they_arrive(driver: Driver) -> None:
    await driver.setup("alice", "bob", "carol")
    await driver.send("alice", "propose Buy a kettle")

    await driver.press("bob", 1, "yes")
    shown = "yes 1 · no 0 · abstain 0"
    assert shown in await current_card(driver, 1, "alice", shown)
    await driver.send("carol", "vote 1 no")
    shown = "yes 1 · no 1 · abstain 0"
    assert shown in await current_card(driver, 1, "alice", shown)

    await driver.send("alice", "close 1")
    closed = await current_card(driver, 1, "alice", "REJECTED")
    assert "REJECTED" in closed  # a tie fails
    assert await driver.controls(1) == []


async def test_a_decision_closes_once_and_its_result_is_shown_once(
    driver: Driver, core: Core
) -> None:
    await driver.setup("alice", "bob", "carol")
    await driver.send("alice", "propose Buy a kettle")
    await driver.press("bob", 1, "yes")
    await driver.press("carol", 1, "yes")
    before = len(await driver.room_messages())

    await driver.send("alice", "close 1")
    await driver.settle()

    posted = (await driver.room_messages())[before:]
    assert mentioning("PASSED", posted) == 1, posted
    assert await driver.controls(1) == []  # a closed decision takes no more votes

    # A late vote changes nothing, and nothing about the close is posted again.
    await driver.send("bob", "vote 1 no")
    await driver.send("alice", "propose Paint the door")
    await driver.settle()
    assert await stored_choices(core, 1) == ["yes", "yes"]
    assert mentioning("PASSED", (await driver.room_messages())[before:]) == 1


async def test_a_one_time_code_reaches_only_the_member_who_asked(driver: Driver) -> None:
    await driver.setup("alice", "bob")
    before = len(await driver.room_messages())

    await driver.send("alice", "member link")

    shown = await until(
        driver,
        lambda: driver.private_messages("alice"),
        lambda messages: any(CODE.search(m) for m in messages),
    )
    code = next(match.group(0) for m in shown if (match := CODE.search(m)))
    assert mentioning(code, await driver.room_messages()) == 0
    assert mentioning(code, await driver.private_messages("bob")) == 0
    assert len(await driver.room_messages()) - before <= 1  # at most "sent privately"


async def test_a_secret_ballot_receipt_reaches_the_voter_only(driver: Driver, core: Core) -> None:
    await driver.setup("alice", "bob", "carol")
    await driver.send("alice", "propose Elect a treasurer secret:yes")
    before = len(await driver.room_messages())

    # Where members may vote in a direct message, a secret ballot is cast there.
    if driver.direct_messages:
        await driver.vote_privately("bob", 1, "no")
    else:
        await driver.press("bob", 1, "no")

    receipts = await until(
        driver,
        lambda: driver.private_messages("bob"),
        lambda messages: mentioning("Your vote on #1 is recorded", messages) == 1,
    )
    assert mentioning("Your vote on #1 is recorded", receipts) == 1
    await driver.settle()
    posted = (await driver.room_messages())[before:]
    assert mentioning("recorded", posted) == 0, posted
    assert mentioning("recorded", await driver.private_messages("carol")) == 0
    assert await stored_choices(core, 1) == ["no"]


async def test_an_announcement_is_delivered_once_across_a_crash(
    driver: Driver, core: Core, new_core: NewCore, clock: ManualClock
) -> None:
    await driver.setup("alice", "bob")
    await driver.send("alice", "propose Fix the roof closes:1h")
    await driver.press("bob", 1, "yes")
    await driver.settle()
    before = len(await driver.room_messages())

    # The bot dies; the close falls due and is committed with its announcement (what the
    # scheduler of a process does just before it dies), which nobody has sent yet.
    await driver.crash()
    clock.advance(timedelta(hours=2))
    assert await core.run_due_work() >= 1
    async with core.sessions() as session:
        waiting = await session.scalar(
            select(func.count())
            .select_from(OutboxDelivery)
            .where(
                OutboxDelivery.platform == driver.platform,
                OutboxDelivery.delivered_at.is_(None),
            )
        )
    assert waiting == 1

    # A new process on the same database sends it, once.
    await driver.restart(await new_core())
    shown = await until(
        driver,
        driver.room_messages,
        lambda messages: mentioning("PASSED", messages[before:]) >= 1,
    )
    await driver.settle()
    assert mentioning("PASSED", (await driver.room_messages())[before:]) == 1, shown

    # Another restart sends nothing again.
    await driver.crash()
    await driver.restart(await new_core())
    await driver.send("alice", "propose Sweep the yard")
    await driver.settle()
    assert mentioning("PASSED", (await driver.room_messages())[before:]) == 1


async def test_crowd_and_member_mentions_in_a_title_notify_nobody(driver: Driver) -> None:
    await driver.setup("alice", "bob")
    admitted = await driver.notified(since=0)
    assert not admitted or "bob" in admitted  # where anyone is notified, bob was, on joining
    before = len(await driver.room_messages())
    title = f"Party for @everyone @here @room and {driver.mention('bob')}"

    await driver.send("alice", f"propose {title}")
    await driver.send("alice", "list")
    await driver.settle()

    posted = (await driver.room_messages())[before:]
    # The card is posted; the list is a quiet read, shown to alice (in the room where the
    # platform has no answer for one member alone).
    shown = [*posted, *await driver.private_messages("alice")]
    assert mentioning("Party for", posted) >= 1, posted
    assert mentioning("Party for", shown) >= 2, shown
    # Neither the crowd nor bob; the answer may notify alice, whose command it answers
    # (a Matrix reply does, as every Matrix client's replies do).
    assert await driver.notified(since=before) <= {"alice"}


async def test_a_ballot_by_the_platforms_own_control_counts(driver: Driver, core: Core) -> None:
    await driver.setup("alice", "bob", "carol")
    await driver.send("alice", "propose Buy a kettle")

    await driver.press("bob", 1, "yes")
    await driver.press("carol", 1, "no")
    await driver.press("bob", 1, "abstain")  # the last one counts

    assert await stored_choices(core, 1) == ["abstain", "no"]


@pytest.mark.platform_has("direct_messages")
async def test_a_ballot_in_a_direct_message_counts(driver: Driver, core: Core) -> None:
    await driver.setup("alice", "bob")
    await driver.send("alice", "propose Buy a kettle")
    before = len(await driver.room_messages())

    await driver.vote_privately("bob", 1, "yes")

    assert await stored_choices(core, 1) == ["yes"]
    assert mentioning("recorded", await driver.private_messages("bob")) == 1
    await driver.settle()
    assert mentioning("recorded", (await driver.room_messages())[before:]) == 0
