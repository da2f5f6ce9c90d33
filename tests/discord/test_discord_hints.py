"""On Discord every hint names the slash command (`/vote 1 yes`), never the text prefix."""

from __future__ import annotations

from datetime import timedelta

import pytest
from discord_world import Server, card_text

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.clock import ManualClock

pytestmark = pytest.mark.simcord


async def test_a_card_and_a_wrong_vote_point_at_the_slash_command(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)

    opened = await alice.slash(server.channel, "propose", title="Buy a 3D printer", closes="3d")
    assert "vote: `/vote 1 yes|no|abstain`" in card_text(opened.response.message)

    wrong = await bob.slash(server.channel, "vote", id=1, choice="maybe")
    assert wrong.ephemeral
    assert wrong.response.content == (
        "\\#1 uses method majority: choose yes, no or abstain\nfor example `/vote 1 yes`"
    )

    unknown = await bob.slash(server.channel, "vote", id=9, choice="yes")
    assert unknown.ephemeral
    assert unknown.response.content.endswith("see them with `/list all`")


async def test_task_and_help_replies_name_slash_commands(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)

    added = await bob.slash(server.channel, "task add", title="Fix the gate", points=3)
    assert "claim it: `/task claim 1`" in added.response.content

    shown = await bob.slash(server.channel, "help")
    assert "type `/help <command>` for details" in shown.response.content
    assert "`/vote <id> <choice> [reason:]`" in shown.response.content
    assert "`!" not in shown.response.content


async def test_a_bound_error_names_the_slash_command(server: Server) -> None:
    alice = server.person("alice", admin=True)
    await server.coop_with(alice)

    refused = await alice.slash(server.channel, "log", hours="30")

    assert refused.ephemeral
    assert "`/log 2.5" in refused.response.content


async def test_a_reminder_names_the_slash_command(
    server: Server, core: Core, adapter: DiscordAdapter, clock: ManualClock
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    await alice.slash(server.channel, "propose", title="Buy a 3D printer", closes="2d")

    clock.advance(timedelta(days=1, hours=1))
    await core.run_due_work()
    await adapter.deliver_pending()
    await server.env.settle()

    reminder = server.channel.last_message
    assert reminder.content.startswith("Reminder:")
    assert "`/vote 1 yes|no|abstain`" in reminder.content
