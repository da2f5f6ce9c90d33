"""Feeling native on Matrix: members are named without pills or `m.mentions` unless they
must act. Real clients against a real Synapse."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest

from bot.app import Core
from bot.clock import ManualClock
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import body_contains, of_type, reply_to
from tests.matrix.matrix_story import (
    POLL_START,
    body,
    coop_room,
    formatted,
    matching,
    sentinel,
)

pytestmark = pytest.mark.synapse


def replaced(event: dict[str, Any]) -> str | None:
    """The event an edit (m.replace) replaces, or None for a message of its own."""
    relates = event.get("content", {}).get("m.relates_to", {})
    return relates.get("event_id") if relates.get("rel_type") == "m.replace" else None


def notified(event: dict[str, Any]) -> list[str]:
    return sorted(event["content"]["m.mentions"].get("user_ids", []))


async def test_a_tally_names_every_contributor_and_notifies_nobody(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)
    await coop.run(alice, "!log 2 cleaning")
    await coop.run(bob, "!log 3 painting")

    tally = await coop.run(alice, "!tally period:all")

    assert "| 3 |" in body(tally) and "| 2 |" in body(tally), body(tally)
    assert notified(tally) == []
    assert "matrix.to" not in formatted(tally)


async def test_a_reminder_notifies_exactly_the_members_who_have_not_voted(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, carol = [await people(n) for n in ("alice", "bob", "carol")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol], bot.user_id)
    opened = await coop.run(bob, "!propose Paint the door closes:3d")
    assert notified(opened) == []  # the card names its author without a ping
    await coop.run(bob, "!vote 1 yes")

    cast(ManualClock, core.clock).advance(timedelta(days=2, minutes=1))
    await core.run_due_work()

    reminder = await carol.wait_for(coop.room_id, body_contains("Reminder:", bot.user_id))
    assert notified(reminder) == sorted([alice.user_id, carol.user_id])
    shown = await coop.run(carol, "!show 1")
    assert "not yet voted" in body(shown) and notified(shown) == []


async def test_show_answers_its_asker_and_links_to_the_live_card_without_a_second_poll(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)
    card = await coop.run(bob, "!propose Paint the door")
    await coop.poll_for(bob, 1)

    asked = await bob.say(coop.room_id, "!show 1")
    shown = await bob.wait_for(coop.room_id, reply_to(asked, bot.user_id))

    assert "Paint the door" in body(shown)
    link = f"https://matrix.to/#/{coop.room_id}/{card['event_id']}"  # the live card
    assert f"live card: {link}" in body(shown)
    assert f'href="{link}"' in formatted(shown)
    await sentinel(bob, coop.room_id, bot.user_id)
    assert len(await matching(bob, coop.room_id, of_type(POLL_START, bot.user_id))) == 1


def thread_of(event: dict[str, Any]) -> str | None:
    relates = event.get("content", {}).get("m.relates_to", {})
    return relates.get("event_id") if relates.get("rel_type") == "m.thread" else None


async def test_the_close_lands_in_the_decisions_thread_and_in_the_room_once(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)
    changed = await coop.run(alice, "!coop settings threads:on")
    assert "threads = on" in body(changed)
    card = await coop.run(bob, "!propose Paint the door closes:3d")
    await coop.poll_for(bob, 1)
    await coop.run(bob, "!vote 1 yes")
    clock = cast(ManualClock, core.clock)

    clock.advance(timedelta(days=2, minutes=1))
    await core.run_due_work()
    reminder = await alice.wait_for(
        coop.room_id,
        lambda e: thread_of(e) == card["event_id"] and body(e).startswith("Reminder:"),
    )
    assert notified(reminder) == [alice.user_id]
    line = await alice.wait_for(coop.room_id, body_contains("more in its thread", bot.user_id))
    assert thread_of(line) is None and notified(line) == []

    clock.advance(timedelta(days=1))
    await core.run_due_work()
    result = await alice.wait_for(
        coop.room_id, lambda e: thread_of(e) == card["event_id"] and "PASSED" in body(e)
    )
    assert "Paint the door" in body(result)
    await sentinel(alice, coop.room_id, bot.user_id)
    found = await matching(alice, coop.room_id, body_contains("PASSED", bot.user_id))
    # The live card's last edit shows the result in its place; it adds no line.
    edits = [e for e in found if replaced(e) is not None]
    in_room = [
        e
        for e in found
        if e.get("type") == "m.room.message" and thread_of(e) is None and replaced(e) is None
    ]
    assert len(in_room) == 1 and "more in its thread" in body(in_room[0])
    assert len(edits) == 1 and thread_of(edits[0]) is None


async def test_help_for_a_command_shows_a_worked_example_with_the_coops_own_items(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)
    await coop.run(bob, "!propose Paint the door method:consent")
    await coop.run(bob, "!task add Fix the gate")

    vote = await coop.run(bob, "!help vote")
    claim = await coop.run(bob, "!help task claim")

    assert "in this co-op: !vote 1 yes (#1 Paint the door is open)" in body(vote), body(vote)
    assert "<code>!vote 1 yes</code>" in formatted(vote)
    assert "in this co-op: !task claim 1 (task 1 Fix the gate)" in body(claim), body(claim)
