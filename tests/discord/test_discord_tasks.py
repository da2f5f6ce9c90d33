"""The task board on Discord: `/task add`, `/task claim`, `/task done`, `/task list`."""

from __future__ import annotations

import pytest
from discord_world import Server

from bot.app import Core

pytestmark = pytest.mark.simcord


async def test_bob_claims_and_finishes_a_task_while_carol_is_told_it_is_taken(
    server: Server,
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    carol = server.person("carol")
    await server.coop_with(alice, bob, carol)

    added = await alice.slash(server.channel, "task add", title="Fix the gate", points=3)
    assert "Task 1 added" in added.response.content

    claimed = await bob.slash(server.channel, "task claim", id=1)
    assert not claimed.ephemeral
    assert f"Task 1 claimed** by <@{bob.id}>" in claimed.response.content

    taken = await carol.slash(server.channel, "task claim", id=1)
    assert taken.ephemeral
    assert "bob" in taken.response.content

    done = await bob.slash(server.channel, "task done", id=1)
    assert "Task 1 done" in done.response.content

    board = await carol.slash(server.channel, "task list", state="all")
    assert "Fix the gate" in board.response.content
    assert "done" in board.response.content


async def test_task_and_decision_numbers_are_offered_while_typing(
    server: Server, core: Core
) -> None:
    if not hasattr(core, "suggest"):
        pytest.skip("the core offers no suggest(room, kind, prefix) yet")
    alice = server.person("alice", admin=True)
    await server.coop_with(alice)
    await alice.slash(server.channel, "task add", title="Fix the gate")
    await alice.slash(server.channel, "propose", title="Buy a kettle")

    tasks = await alice.autocomplete(server.channel, "task claim", "id", "")
    decisions = await alice.autocomplete(server.channel, "vote", "id", "")

    assert tasks == [{"name": "#1 Fix the gate", "value": 1}]
    assert decisions == [{"name": "#1 Buy a kettle", "value": 1}]


async def test_periods_are_offered_while_typing(server: Server) -> None:
    alice = server.person("alice", admin=True)

    named = await alice.autocomplete(server.channel, "tally", "period", "m")
    explicit = await alice.autocomplete(server.channel, "tally", "period", "2026-W47")

    assert [choice["value"] for choice in named] == ["month"]
    assert [choice["value"] for choice in explicit] == ["2026-W47"]


async def test_a_value_that_is_not_a_number_is_refused_privately(server: Server) -> None:
    alice = server.person("alice", admin=True)
    await server.coop_with(alice)

    refused = await alice.slash(server.channel, "log", hours="lots", note="cleaning")

    assert refused.ephemeral
    assert "must be a number like 2.5, not `lots`" in refused.response.content
    assert "`/log" in refused.response.content
    tally = await alice.slash(server.channel, "tally", period="all")
    assert "cleaning" not in tally.response.content
