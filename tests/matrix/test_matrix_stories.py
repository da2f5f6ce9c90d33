"""Stories of a co-op in a Matrix room, told through real clients against a real Synapse."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import Core
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import Person, body_contains, reaction_to, reply_to
from tests.matrix.matrix_story import (
    POLL_START,
    body,
    coop_room,
    formatted,
    joined,
    matching,
    poll_of,
    sentinel,
    stored_decision,
    stored_votes,
)
from tests.matrix.synapse_server import Synapse

pytestmark = pytest.mark.synapse


async def test_a_room_admin_sets_up_the_coop_and_a_plain_member_cannot(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice = await people("alice")
    bob = await people("bob")
    bot = await matrix_bot(core)
    room = await alice.create_room("Riverside", invite=[bob.user_id, bot.user_id])
    await bob.join(room)
    await joined(alice, room, bot.user_id)

    refused = await bob.say(room, "!coop setup Bob's Co-op")
    answer = await bob.wait_for(room, reply_to(refused, bot.user_id))
    assert "Only a room admin" in body(answer)
    assert answer["content"]["msgtype"] == "m.notice"

    done = await alice.say(room, "!coop setup Riverside")
    answer = await alice.wait_for(room, reply_to(done, bot.user_id))
    assert "Co-op Riverside set up in this room" in body(answer)
    assert alice.user_id in answer["content"]["m.mentions"]["user_ids"]
    assert f'href="https://matrix.to/#/{alice.user_id}"' in formatted(answer)
    assert "room" not in answer["content"]["m.mentions"]


async def test_a_proposal_is_voted_by_text_and_by_native_poll_and_the_poll_is_ended(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, carol, dan = [await people(n) for n in ("alice", "bob", "carol", "dan")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol, dan], bot.user_id)

    opened = await coop.run(alice, "!propose Buy a 3D printer")
    assert "Proposal #1 opened" in body(opened)
    poll = await coop.poll_for(alice, 1)
    answers = [a["id"] for a in poll["content"][POLL_START]["answers"]]
    assert answers == ["yes", "no", "abstain"]
    assert [a["m.id"] for a in poll["content"]["m.poll"]["answers"]] == answers

    text_vote = await coop.run(bob, "!vote 1 yes")
    assert "Your vote on #1 is recorded: yes" in body(text_vote)
    # carol answers with the unstable event type, dan with the stable one.
    carol_click = await carol.answer_poll(coop.room_id, poll["event_id"], ["yes"])
    dan_click = await dan.answer_poll(coop.room_id, poll["event_id"], ["no"], stable=True)
    for person, click in ((carol, carol_click), (dan, dan_click)):
        reaction = await person.wait_for(
            coop.room_id,
            reaction_to(click, bot.user_id),
        )
        assert reaction["sender"] == bot.user_id
    assert await stored_votes(core, 1) == {
        bob.user_id: "yes",
        carol.user_id: "yes",
        dan.user_id: "no",
    }

    shown = await coop.run(alice, "!show 1")
    assert "yes 2 · no 1 · abstain 0" in body(shown)

    closed = await coop.run(alice, "!close 1")
    assert "PASSED" in body(closed)
    ended = await coop.poll_end(alice, poll["event_id"])
    assert "PASSED" in ended["content"]["body"]
    assert (await stored_decision(core, 1)).outcome == "passed"
    # Only one poll was posted for the proposal, although `show` carried its choices too.
    assert len(alice.find(coop.room_id, lambda e: e.get("type") == POLL_START)) == 1


async def test_a_member_changes_a_vote_and_a_non_member_is_refused(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, eve = [await people(n) for n in ("alice", "bob", "eve")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id, guests=(eve,))

    await coop.run(alice, "!propose Paint the door green")
    poll = await coop.poll_for(bob, 1)
    first = await coop.run(bob, "!vote 1 yes")
    assert "recorded: yes" in body(first)
    click = await bob.answer_poll(coop.room_id, poll["event_id"], ["no"])
    await bob.wait_for(
        coop.room_id,
        reaction_to(click, bot.user_id),
    )
    assert await stored_votes(core, 1) == {bob.user_id: "no"}

    typed = await coop.run(eve, "!vote 1 yes")
    assert typed["content"]["body"] and "member" in body(typed).lower()
    clicked = await eve.answer_poll(coop.room_id, poll["event_id"], ["yes"])
    refusal = await eve.wait_for(coop.room_id, reply_to(clicked, bot.user_id))
    assert body(refusal) == body(typed)
    assert eve.user_id not in await stored_votes(core, 1)


async def test_crowd_pings_and_markup_in_a_title_are_neutralised(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)

    opened = await coop.run(bob, "!propose Free pizza @room <b>now</b>")
    content = opened["content"]
    assert "@room" not in content["body"] and "@\u200broom" in content["body"]
    assert "<b>" not in content["formatted_body"]
    assert "&lt;b&gt;now&lt;" in content["formatted_body"]
    assert "@room" not in content["formatted_body"]
    assert "room" not in content["m.mentions"]
    poll = await coop.poll_for(alice, 1)
    assert "@room" not in poll["content"]["body"]
    assert poll["content"]["m.mentions"] == {}


async def test_a_restart_handles_no_command_twice_and_ignores_messages_before_the_join(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    room = await alice.create_room("Riverside", invite=[bob.user_id])
    await bob.join(room)
    early = await alice.say(room, "!coop setup Too Early")
    await alice.client.room_invite(room, bot.user_id)
    await joined(alice, room, bot.user_id)

    setup = await alice.say(room, "!coop setup Riverside")
    await alice.wait_for(room, reply_to(setup, bot.user_id))
    # `setup` came after `early`: with its answer in, an answer to `early` would be too.
    assert not await matching(alice, room, reply_to(early))

    await bot.stop()
    # Said while the bot is down: answered once it is back, and only once.
    during = await alice.say(room, "!member list")
    await bot.start()
    await alice.wait_for(room, reply_to(during, bot.user_id))
    after = await alice.say(room, "!propose Keep the bees")
    await alice.wait_for(room, reply_to(after, bot.user_id))
    await bot.restart()
    # Sentinels: the answer to a later command (every answer to an earlier one is in by
    # then) and the poll of a later proposal (the outbox is drained in order).
    last = await alice.say(room, "!propose Plant a hedge")
    await alice.wait_for(room, reply_to(last, bot.user_id))
    await alice.wait_for(room, poll_of(bot.user_id, 2))

    for event_id in (setup, during, after):
        assert len(await matching(alice, room, reply_to(event_id, bot.user_id))) == 1, event_id
    assert not await matching(alice, room, reply_to(early))
    assert len(await matching(alice, room, poll_of(bot.user_id, 1))) == 1
    assert len(await matching(alice, room, lambda e: e.get("type") == POLL_START)) == 2
    assert (await stored_decision(core, 1)).title == "Keep the bees"


class _Heard(logging.Handler):
    """Sets `heard` once a record containing `text` is logged."""

    def __init__(self, text: str) -> None:
        super().__init__(logging.DEBUG)
        self.text = text
        self.heard = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self._loop.call_soon_threadsafe(self.heard.set)


async def test_the_bot_carries_on_after_the_homeserver_goes_away_and_comes_back(
    people: PersonFactory,
    matrix_bot: BotFactory,
    core: Core,
    homeserver: Synapse,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)

    lost_connection = _Heard("Timed out")
    logging.getLogger().addHandler(lost_connection)
    try:
        await asyncio.to_thread(homeserver.stop)
        # The homeserver stays away until the running bot has noticed and is retrying.
        await asyncio.wait_for(lost_connection.heard.wait(), timeout=20)
    finally:
        logging.getLogger().removeHandler(lost_connection)
    await asyncio.to_thread(homeserver.start)
    answer = await coop.run(bob, "!propose Fix the roof")
    assert "Proposal #1 opened" in body(answer)
    await coop.poll_for(bob, 1)
    assert bot.task is not None and not bot.task.done()
    assert body_contains("Fix the roof", bot.user_id)(answer)
    assert bot.adapter is not None and bot.adapter.ready.is_set()


async def test_the_bot_joins_only_when_an_allowed_member_invites_it(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, mallory = [await people(n) for n in ("alice", "mallory")]
    bot = await matrix_bot(core, allowed_inviters=(alice.user_id, "*:elsewhere.test"))
    spam = await mallory.create_room("Free crypto", invite=[bot.user_id])
    room = await alice.create_room("Riverside", invite=[bot.user_id])
    await joined(alice, room, bot.user_id)
    # The bot decides on every invite of a sync before it reads the next one: once it
    # answers in alice's room, it has decided on mallory's earlier invite.
    await sentinel(alice, room, bot.user_id)
    assert not await matching(
        mallory,
        spam,
        lambda e: e.get("state_key") == bot.user_id and e["content"].get("membership") == "join",
    )


async def test_on_its_very_first_start_the_bot_ignores_the_history_of_its_rooms(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice = await people("alice")
    bot = await matrix_bot(core, start=False)
    # The bot's account is already in the room (joined from another client) when the bot
    # process starts for the first time.
    account = await Person.login(bot.settings.homeserver, bot.user_id, bot.settings.password)
    room = await alice.create_room("Riverside", invite=[bot.user_id])
    await account.join(room)
    await account.close()
    old = await alice.say(room, "!coop setup Old Times")

    await bot.start()
    new = await alice.say(room, "!coop setup Riverside")
    answer = await alice.wait_for(room, reply_to(new, bot.user_id))
    assert "Co-op Riverside set up" in body(answer)
    # `new` came after `old`: with its answer in, an answer to `old` would be too.
    assert not await matching(alice, room, reply_to(old))


async def test_replies_wait_out_the_homeservers_rate_limit_and_all_arrive(
    people: PersonFactory,
    matrix_bot: BotFactory,
    core: Core,
    homeserver: Synapse,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)
    await asyncio.to_thread(homeserver.limit_messages, bot.user_id, 1, 1)

    asked = [await alice.say(coop.room_id, f"!task add Chore number {n}") for n in range(1, 6)]
    for number, event_id in enumerate(asked, start=1):
        answer = await alice.wait_for(coop.room_id, reply_to(event_id, bot.user_id), within=30)
        assert f"Task {number} added" in body(answer)
    assert any("429" in record.getMessage() for record in caplog.records)  # it was limited


async def test_many_commands_sent_while_the_bot_was_down_are_all_answered_once(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob = [await people(n) for n in ("alice", "bob")]
    # A small sync window, so that the backlog does not fit in one sync response.
    bot = await matrix_bot(core, timeline_limit=3)
    coop = await coop_room(alice, [bob], bot.user_id)

    await bot.stop()
    asked = [await bob.say(coop.room_id, f"!task add Chore number {n}") for n in range(1, 9)]
    await bot.start()
    for number, event_id in enumerate(asked, start=1):
        answer = await bob.wait_for(coop.room_id, reply_to(event_id, bot.user_id))
        assert f"Task {number} added" in body(answer)
        assert f"Chore number {number}" in body(answer)
    await sentinel(bob, coop.room_id, bot.user_id, "!task list")
    for event_id in asked:
        assert len(await matching(bob, coop.room_id, reply_to(event_id, bot.user_id))) == 1
