"""Secret ballots on Matrix: members vote in a direct message with the bot, and a vote typed
in the group room is removed when the bot may do so. Real clients against a real Synapse."""

from __future__ import annotations

from typing import Any

import pytest
from nio import DirectRoomsResponse, RoomGetStateEventResponse, RoomPutStateResponse

from bot.app import Core
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import Person, Predicate, reply_to
from tests.matrix.matrix_story import (
    POLL_START,
    body,
    command,
    coop_room,
    formatted,
    joined,
    matching,
    sentinel,
    stored_votes,
)

pytestmark = pytest.mark.synapse


def redaction_of(event_id: str, sender: str) -> Predicate:
    def check(event: dict[str, Any]) -> bool:
        # Room versions before 11 name the redacted event at the top level, later ones in content.
        redacts = event.get("redacts") or event.get("content", {}).get("redacts")
        return (
            event.get("type") == "m.room.redaction"
            and event.get("sender") == sender
            and redacts == event_id
        )

    return check


async def give_power(steward: Person, room: str, user_id: str, level: int) -> None:
    current = await steward.client.room_get_state_event(room, "m.room.power_levels")
    assert isinstance(current, RoomGetStateEventResponse), current
    content = dict(current.content)
    content["users"] = {**content.get("users", {}), user_id: level}
    done = await steward.client.room_put_state(room, "m.room.power_levels", content)
    assert isinstance(done, RoomPutStateResponse), done


async def test_bob_votes_on_a_secret_proposal_in_a_direct_message_with_the_bot(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, carol = [await people(n) for n in ("alice", "bob", "carol")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol], bot.user_id)

    opened = await coop.run(alice, "!propose Pay rise for the bakers secret:yes")
    assert "Proposal #1 opened" in body(opened)
    hint = f"secret ballot: send !vote 1 yes|no|abstain to {bot.user_id} in a direct message"
    assert body(opened).splitlines()[-1] == hint
    assert "<code>!vote 1 yes|no|abstain</code>" in formatted(opened)
    assert f'href="https://matrix.to/#/{bot.user_id}"' in formatted(opened)
    assert bot.user_id not in opened["content"]["m.mentions"]["user_ids"]

    dm = await bob.create_room("", invite=[bot.user_id], direct=True)
    await joined(bob, dm, bot.user_id)
    voted = await command(bob, dm, bot.user_id, "!vote 1 no")
    assert "Your vote on #1 is recorded: no" in body(voted)  # only bob can read this room
    assert await stored_votes(core, 1) == {bob.user_id: "no"}

    shown = await coop.run(carol, "!show 1")
    assert "secret ballot · turnout 1/3" in body(shown)
    assert "no 1" not in body(shown) and "no" not in body(shown).split("turnout")[0].split()
    # Nothing about bob's choice reached the group room.
    assert not coop.steward.find(
        coop.room_id, lambda e: "recorded: no" in str(e.get("content", {}).get("body", ""))
    )

    # The bot keeps the room in its m.direct account data, so the flag outlives a restart.
    assert bot.adapter is not None
    listed = await bot.adapter.client.list_direct_rooms()
    assert isinstance(listed, DirectRoomsResponse), listed
    assert dm in listed.rooms.get(bob.user_id, [])

    # A proposal made in the DM is announced, with its poll, in the co-op's room only.
    made = await command(bob, dm, bot.user_id, "!propose Bake on Sundays")
    assert "Proposal #2 opened" in body(made)
    await coop.poll_for(alice, 2)
    await sentinel(bob, dm, bot.user_id)
    assert not await matching(bob, dm, lambda e: e.get("type") == POLL_START)

    # A room of just carol and the bot, without the DM flag, is private too.
    quiet = await carol.create_room("Me and the bot", invite=[bot.user_id])
    await joined(carol, quiet, bot.user_id)
    answer = await command(carol, quiet, bot.user_id, "!vote 1 yes")
    assert "Your vote on #1 is recorded: yes" in body(answer)
    assert await stored_votes(core, 1) == {bob.user_id: "no", carol.user_id: "yes"}


async def test_a_secret_vote_typed_in_the_group_room_counts_and_is_removed_when_possible(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, carol = [await people(n) for n in ("alice", "bob", "carol")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol], bot.user_id)
    await coop.run(alice, "!propose Elect a new treasurer secret:yes")

    # The bot has no power to redact yet: the message stays, and the answer says so.
    kept = await carol.say(coop.room_id, "!vote 1 yes")
    answer = await carol.wait_for(coop.room_id, reply_to(kept, bot.user_id))
    assert "Your vote on #1 is recorded (secret ballot)" in body(answer)
    assert "your message shows your choice to everyone in this room" in body(answer)
    assert f"send your vote to {bot.user_id} in a direct message" in body(answer)

    await give_power(alice, coop.room_id, bot.user_id, 50)
    typed = await bob.say(coop.room_id, "!vote 1 no")
    answer = await bob.wait_for(coop.room_id, reply_to(typed, bot.user_id))
    assert "Your vote on #1 is recorded (secret ballot)" in body(answer)
    assert "I removed your message so that the room can't see your choice" in body(answer)
    assert "no" not in body(answer).split()
    redaction = await alice.wait_for(coop.room_id, redaction_of(typed, bot.user_id))
    assert redaction["content"].get("reason") == "secret ballot: vote in a direct message"
    # The bot handled `kept` before `typed`: with the redaction of `typed` in, a redaction
    # of `kept` would be too.
    assert not await matching(alice, coop.room_id, redaction_of(kept, bot.user_id))

    assert await stored_votes(core, 1) == {carol.user_id: "yes", bob.user_id: "no"}
    shown = await coop.run(alice, "!show 1")
    assert "secret ballot · turnout 2/3" in body(shown)


async def test_the_dm_hint_of_a_secret_ranked_poll_gives_a_ranked_example_that_counts(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    """The example in the hint is the core's own for the method (typed on the card's
    choices), not a generic `a|b|c` that a ranked ballot would refuse."""
    alice, bob = [await people(n) for n in ("alice", "bob")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob], bot.user_id)

    opened = await coop.run(
        alice, '!poll Retreat? options:"Lakehouse | Cabin | Farm" method:ranked secret:yes'
    )
    hint = f"secret ballot: send !vote 1 C>A>B to {bot.user_id} in a direct message"
    assert body(opened).splitlines()[-1] == hint
    assert "<code>!vote 1 C&gt;A&gt;B</code>" in formatted(opened)

    dm = await bob.create_room("", invite=[bot.user_id], direct=True)
    await joined(bob, dm, bot.user_id)
    voted = await command(bob, dm, bot.user_id, "!vote 1 C>A>B")
    assert "Your vote on #1 is recorded" in body(voted)
