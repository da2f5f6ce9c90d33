"""The weekly summary on Discord arrives with its chart as a file."""

from __future__ import annotations

from datetime import timedelta

import pytest
from discord_world import Server

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.clock import ManualClock

pytestmark = pytest.mark.simcord


async def test_the_weekly_summary_carries_its_chart_as_a_png_file(
    server: Server, clock: ManualClock
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    await alice.slash(server.channel, "task add", title="Fix the gate", points=3)
    await bob.slash(server.channel, "task claim", id=1)
    await bob.slash(server.channel, "task done", id=1)
    await bob.slash(server.channel, "log", hours="4", note="painted the sign")
    clock.advance(timedelta(days=7))

    posted = await alice.slash(server.channel, "summary")

    assert not posted.ephemeral
    messages = [posted.response, *posted.followups]
    assert any("Week" in m.content for m in messages)
    files = [a for m in messages for a in m.attachments]
    assert [a.filename for a in files if a.filename.endswith(".png")]
    assert all(len(m.content) <= 2000 for m in messages)


async def test_the_scheduled_summary_is_delivered_to_the_channel_with_its_chart(
    server: Server, clock: ManualClock, core: Core, adapter: DiscordAdapter
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    await bob.slash(server.channel, "log", hours="3", note="fixed the gate")
    await core.run_due_work()  # the co-op's first summary gets its time: next Monday 09:00

    clock.advance(timedelta(days=7, minutes=1))
    await core.run_due_work()
    delivered = await adapter.deliver_pending()
    await server.env.settle()

    assert delivered >= 1
    posted = [
        m
        for m in server.channel.history()
        if any(a.filename.endswith(".png") for a in m.attachments)
    ]
    assert posted, "the summary with its chart reached the channel"
    assert "Week" in posted[-1].content
    assert await adapter.deliver_pending() == 0
