"""On Matrix (a real Synapse), no log line at DEBUG carries a secret choice or a block's
reason: a ranked ballot sent in a direct message, a block typed in the group room (the
secret-ballot path), and a vote the database refuses."""

from __future__ import annotations

import pytest

from bot.app import Core
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_story import body, command, coop_room, joined
from tests.secret_logs import all_logs, refuse_votes

pytestmark = pytest.mark.synapse

RANKED = "Farm-9Z>Cabin-3X>Lakehouse-7Q"
STORED = "C>B>A"  # the same ballot by option letters, as it is stored
REASON = "the-night-shift-QX7 is left out"


async def test_secret_ballots_in_a_direct_message_and_in_the_room_never_reach_the_log(
    people: PersonFactory, matrix_bot: BotFactory, core: Core
) -> None:
    alice, bob, carol = [await people(n) for n in ("alice", "bob", "carol")]
    bot = await matrix_bot(core)
    coop = await coop_room(alice, [bob, carol], bot.user_id)
    polled = await coop.run(
        alice,
        '!poll Retreat? options:"Lakehouse-7Q | Cabin-3X | Farm-9Z" method:ranked secret:yes',
    )
    assert "Poll #1 opened" in body(polled), body(polled)
    proposed = await coop.run(alice, "!propose Adopt the rota method:consent secret:yes")
    assert "Proposal #2 opened" in body(proposed), body(proposed)
    dm = await bob.create_room("", invite=[bot.user_id], direct=True)
    await joined(bob, dm, bot.user_id)

    with all_logs(core.settings) as logs:
        ranked = await command(bob, dm, bot.user_id, f"!vote 1 {RANKED}")
        blocked = await coop.run(carol, f'!vote 2 block reason:"{REASON}"')
        await refuse_votes(core)
        refused = await command(bob, dm, bot.user_id, "!vote 2 block reason:the-other-QX8")

    assert "Your vote on #1 is recorded" in body(ranked), body(ranked)
    assert "recorded (secret ballot)" in body(blocked), body(blocked)
    assert "recorded" not in body(refused), body(refused)
    confirmed = body(ranked).split("recorded:", 1)[1].strip().splitlines()[0]
    assert "Farm-9Z" in confirmed, confirmed
    secrets = (RANKED, STORED, confirmed, REASON, "the-other-QX8", "Farm-9Z>")
    assert not logs.quoting(*secrets), logs.quoting(*secrets)
    # Logging ran at DEBUG through the adapter's commands (and the test's own clients).
    assert "bot.dispatch" in logs.loggers(), logs.loggers()
