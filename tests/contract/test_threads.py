"""The adapter contract for a thread per decision (issue 13): where the co-op keeps threads
(`coop settings threads:on`), a decision's thread starts from its card; its reminders, its
close and the questions asked there go to it, and the room keeps one line per event. With
`threads:off` nothing goes to a thread. Run over every driver whose platform has threads."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app import Core
from bot.clock import ManualClock
from tests.contract.drivers import Driver, until

pytestmark = pytest.mark.platform_has("threads")

IN_THREAD = "more in its thread"  # what the room's one line says (bot/render/threads.py)


def mentioning(text: str, messages: list[str]) -> int:
    return sum(text in message for message in messages)


async def a_decision_with_a_vote(driver: Driver, threads: str, closes: str) -> None:
    """alice's co-op with bob, keeping threads or not; bob's proposal #1, and his yes."""
    await driver.setup("alice", "bob")
    await driver.send("alice", f"coop settings threads:{threads}")
    await driver.send("bob", f"propose Fix the roof closes:{closes}")
    await driver.press("bob", 1, "yes")
    await driver.settle()
    if driver.edits_cards:  # the card's edit follows the vote's answer
        await until(driver, lambda: driver.card(1), lambda card: "yes 1" in card)


async def due(driver: Driver, core: Core, clock: ManualClock, later: timedelta) -> None:
    """Time passes: the work that falls due is done and its announcements are sent."""
    clock.advance(later)
    assert await core.run_due_work() >= 1
    await driver.settle()


async def news_when_due(
    driver: Driver, core: Core, clock: ManualClock, later: timedelta
) -> tuple[list[str], list[str]]:
    """What the work falling due `later` posts: (in decision #1's thread, in the room)."""
    room_before = len(await driver.room_messages())
    thread_before = len(await driver.thread_messages(1))
    await due(driver, core, clock, later)
    in_thread = (await driver.thread_messages(1))[thread_before:]
    return in_thread, (await driver.room_messages())[room_before:]


async def test_the_close_lands_once_in_the_decisions_thread_and_once_in_the_room(
    driver: Driver, core: Core, clock: ManualClock
) -> None:
    await a_decision_with_a_vote(driver, "on", closes="1h")

    in_thread, posted = await news_when_due(driver, core, clock, timedelta(hours=2))

    assert mentioning("PASSED", in_thread) == 1, in_thread
    # The room keeps one line, pointing at the thread; the result is not shown twice there.
    assert len(posted) == 1, posted
    assert "PASSED" in posted[0] and IN_THREAD in posted[0], posted
    assert "PASSED" in await driver.card(1)  # the card shows its result in place
    assert await driver.thread_count() == 1  # the decision's, rooted at its card


async def test_a_reminder_goes_to_the_decisions_thread(
    driver: Driver, core: Core, clock: ManualClock
) -> None:
    await a_decision_with_a_vote(driver, "on", closes="3d")

    in_thread, posted = await news_when_due(driver, core, clock, timedelta(days=2, minutes=1))

    assert mentioning("Reminder:", in_thread) == 1, in_thread
    assert "Fix the roof" in in_thread[0], in_thread
    assert len(posted) == 1 and IN_THREAD in posted[0], posted


async def test_a_read_typed_in_the_thread_is_answered_there_and_posts_no_second_card(
    driver: Driver,
) -> None:
    await a_decision_with_a_vote(driver, "on", closes="3d")
    room_before = await driver.room_messages()
    public_before = len(await driver.thread_messages(1))
    seen_before = len(await driver.thread_messages(1, reader="bob"))

    await driver.send_in_thread("bob", 1, "show 1")
    await driver.settle()

    answers = (await driver.thread_messages(1, reader="bob"))[seen_before:]
    assert len(answers) == 1, answers
    assert "#1" in answers[0] and "Fix the roof" in answers[0], answers
    # Nothing new in the room: neither a second card nor a line about the answer.
    assert await driver.room_messages() == room_before
    # In the thread, the answer alone (shown to bob only where the platform can).
    assert len(await driver.thread_messages(1)) - public_before <= 1
    assert await driver.thread_count() == 1
    assert await driver.controls(1) == ["yes", "no", "abstain"]  # the one card, still open


async def test_with_threads_off_the_close_lands_in_the_room_once_and_no_thread_is_made(
    driver: Driver, core: Core, clock: ManualClock
) -> None:
    await a_decision_with_a_vote(driver, "off", closes="1h")
    room_before = len(await driver.room_messages())

    await due(driver, core, clock, timedelta(hours=2))

    posted = (await driver.room_messages())[room_before:]
    assert mentioning("PASSED", posted) == 1, posted
    assert mentioning(IN_THREAD, posted) == 0, posted
    assert await driver.thread_count() == 0
    assert await driver.thread_messages(1) == []
