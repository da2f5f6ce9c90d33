"""On Discord (simcord), no log line at DEBUG carries a secret choice or a block's reason:
not from the bot, not from discord.py's gateway and HTTP logs, not when the database
refuses the vote."""

from __future__ import annotations

import pytest
from discord_world import Server

from bot.app import Core
from tests.secret_logs import all_logs, refuse_votes

pytestmark = pytest.mark.simcord

RANKED = "Farm-9Z>Cabin-3X>Lakehouse-7Q"
REASON = "the-night-shift-QX7 is left out"
TYPED = "Cabin-3X>Farm-9Z"
STORED = ("C>B>A", "B>C")  # the same ballots by option letters, as they are stored


async def test_secret_ballots_by_form_button_and_slash_never_reach_the_log(
    server: Server, core: Core
) -> None:
    alice = server.person("alice", admin=True)
    bob, carol, dan = server.person("bob"), server.person("carol"), server.person("dan")
    await server.coop_with(alice, bob, carol, dan)
    polled = await alice.slash(
        server.channel,
        "poll",
        question="Where should the retreat be?",
        options="Lakehouse-7Q | Cabin-3X | Farm-9Z",
        method="ranked",
        secret="yes",
    )
    proposed = await alice.slash(
        server.channel, "propose", title="Adopt the rota", method="consent", secret="yes"
    )
    poll_card, proposal_card = polled.response.message, proposed.response.message

    with all_logs(core.settings) as logs:
        form = await bob.click(poll_card, label="Rank the options…")
        ranked = await bob.submit_modal(form, {"ballot": RANKED})
        form = await carol.click(proposal_card, label="block")
        blocked = await carol.submit_modal(form, {"reason": REASON})
        typed = await dan.slash(server.channel, "vote", id=1, choice=TYPED)
        await refuse_votes(core)
        refused = await alice.slash(server.channel, "vote", id=1, choice=RANKED)

    assert ranked.ephemeral and "Your vote on #1 is recorded" in ranked.response.content
    assert blocked.ephemeral and "recorded" in blocked.response.content
    assert typed.ephemeral and "recorded" in typed.response.content
    assert refused.ephemeral and "recorded" not in refused.response.content
    confirmed = ranked.response.content.split("recorded:", 1)[1].splitlines()[0].strip(" *")
    assert "Farm-9Z" in confirmed, confirmed
    secrets = (RANKED, TYPED, *STORED, confirmed, REASON, "Farm-9Z>", "Cabin-3X>")
    assert not logs.quoting(*secrets), logs.quoting(*secrets)
    # Logging ran at DEBUG, discord.py's included: the test would see a payload.
    assert {"bot.dispatch", "discord.client"} <= logs.loggers(), logs.loggers()
