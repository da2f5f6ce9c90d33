"""A thread per decision on Matrix, rooted at its live card for every decision (secret or
not, with or without a native poll): reminders, the close and reads go there and the room
keeps one line; a long body is cut on the card, its full text sent once beside it. Real
clients against a real Synapse."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pytest

from bot.app import Core
from bot.clock import ManualClock
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import Person, Predicate, body_contains, reply_to
from tests.matrix.matrix_story import body, coop_room, matching, sentinel

pytestmark = pytest.mark.synapse

SPEC_BODY_MAX = 4000  # SPEC §7: body ≤ 4,000 characters


def relation(event: dict[str, Any]) -> dict[str, Any]:
    return cast(dict[str, Any], event.get("content", {}).get("m.relates_to", {}))


def thread_of(event: dict[str, Any]) -> str | None:
    relates = relation(event)
    return relates.get("event_id") if relates.get("rel_type") == "m.thread" else None


def is_edit(event: dict[str, Any]) -> bool:
    return relation(event).get("rel_type") == "m.replace"


def in_room(bot_id: str, text: str) -> Predicate:
    """The bot's own message in the room's main timeline (no thread, no edit) with `text`."""

    def check(event: dict[str, Any]) -> bool:
        return (
            body_contains(text, bot_id)(event)
            and event.get("type") == "m.room.message"
            and thread_of(event) is None
            and not is_edit(event)
        )

    return check


def in_thread(root: str, text: str) -> Predicate:
    return lambda e: thread_of(e) == root and text in str(e.get("content", {}).get("body", ""))


async def say_in_thread(person: Person, room: str, root: str, text: str) -> str:
    """`person` types `text` in the thread rooted at `root`, as a client with threads does."""
    content = {
        "msgtype": "m.text",
        "body": text,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root},
        },
    }
    return await person.send(room, "m.room.message", content)


@pytest.mark.parametrize("secret", [False, True], ids=["open", "secret"])
async def test_reminders_reads_and_the_close_go_to_the_thread_of_the_card(
    people: PersonFactory, matrix_bot: BotFactory, core: Core, secret: bool
) -> None:
    alice, bob, carol = [await people(n) for n in ("alice", "bob", "carol")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol], bot.user_id)
    await coop.run(alice, "!coop settings threads:on")
    option = " secret:yes" if secret else ""
    card = await coop.run(bob, f"!propose Paint the door closes:3d{option}")
    root = card["event_id"]  # the thread is rooted at the live card, named by its first line
    assert body(card).startswith("Proposal #1") and "Paint the door" in body(card), body(card)
    await coop.run(bob, "!vote 1 yes")
    # A command typed in the thread (here a vote) is answered in the thread.
    typed = await say_in_thread(carol, coop.room_id, root, "!vote 1 yes")
    voted = await carol.wait_for(coop.room_id, reply_to(typed, bot.user_id))
    assert thread_of(voted) == root and "#1" in body(voted), voted
    clock = cast(ManualClock, core.clock)

    clock.advance(timedelta(days=2, minutes=1))
    await core.run_due_work()
    reminder = await alice.wait_for(coop.room_id, in_thread(root, "Reminder:"))
    assert reminder["sender"] == bot.user_id
    await alice.wait_for(coop.room_id, in_room(bot.user_id, "more in its thread"))

    # A question asked in the room is answered in the thread, and the room keeps one line.
    asked = await bob.say(coop.room_id, "!show 1")
    answer = await bob.wait_for(
        coop.room_id,
        lambda e: (
            thread_of(e) == root and (relation(e).get("m.in_reply_to", {}).get("event_id") == asked)
        ),
    )
    assert "Paint the door" in body(answer) and "live card:" in body(answer), body(answer)
    line = await bob.wait_for(
        coop.room_id, lambda e: reply_to(asked, bot.user_id)(e) and thread_of(e) is None
    )
    assert body(line).endswith("more in its thread"), body(line)
    # A question asked in the thread is answered there alone.
    in_its_thread = await say_in_thread(carol, coop.room_id, root, "!show 1")
    await carol.wait_for(
        coop.room_id,
        lambda e: (
            thread_of(e) == root
            and relation(e).get("m.in_reply_to", {}).get("event_id") == in_its_thread
        ),
    )

    clock.advance(timedelta(days=1))
    await core.run_due_work()
    result = await alice.wait_for(coop.room_id, in_thread(root, "PASSED"))
    assert result["sender"] == bot.user_id and "Paint the door" in body(result)
    await sentinel(alice, coop.room_id, bot.user_id)
    history = await alice.history(coop.room_id)
    closes = [e for e in history if in_room(bot.user_id, "PASSED")(e)]
    assert len(closes) == 1 and "more in its thread" in body(closes[0]), [body(e) for e in closes]
    assert len([e for e in history if in_thread(root, "PASSED")(e)]) == 1
    # carol's question in the thread got no line in the room.
    lines = [
        e for e in history if relation(e).get("m.in_reply_to", {}).get("event_id") == in_its_thread
    ]
    assert [thread_of(e) for e in lines] == [root]


def long_body() -> str:
    words = " ".join(f"word{n}" for n in range(2000))
    return words[:SPEC_BODY_MAX].rstrip()


@pytest.mark.parametrize("threads", [False, True], ids=["reply", "thread"])
async def test_a_body_at_the_limit_is_one_card_cut_with_a_read_more_its_full_text_once(
    people: PersonFactory, matrix_bot: BotFactory, core: Core, threads: bool
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)
    if threads:
        await coop.run(alice, "!coop settings threads:on")
    text = long_body()
    assert len(text) >= SPEC_BODY_MAX - 10

    card = await coop.run(bob, f'!propose Paint the door body:"{text}"')
    await sentinel(alice, coop.room_id, bot.user_id)
    history = await alice.history(coop.room_id)
    mine = [e for e in history if e.get("sender") == bot.user_id and e["type"] == "m.room.message"]
    showing = [e for e in mine if text[:60] in body(e)]
    full = [e for e in mine if text in body(e)]

    assert "read more: the full text is" in body(card) and text not in body(card)
    assert len(body(card)) < 1500, len(body(card))
    assert len(showing) == 2, [body(e)[:80] for e in showing]  # the card and its full text
    assert len(full) == 1 and full[0]["event_id"] != card["event_id"]
    if threads:
        assert thread_of(full[0]) == card["event_id"]
        assert "in this card's thread" in body(card)
    else:
        assert relation(full[0]) == {"m.in_reply_to": {"event_id": card["event_id"]}}
    # Votes edit the card as it was posted: still cut, still one event.
    await coop.run(bob, "!vote 1 yes")
    edit = await alice.wait_for(
        coop.room_id, lambda e: is_edit(e) and relation(e)["event_id"] == card["event_id"]
    )
    new = edit["content"]["m.new_content"]["body"]
    assert "read more" in new and text not in new and "yes 1" in new, new
    found = await matching(alice, coop.room_id, body_contains(text, bot.user_id))
    assert len(found) == 1  # the full text, reachable once
