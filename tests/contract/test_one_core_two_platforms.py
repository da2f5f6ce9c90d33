"""One co-op bridged across a Matrix room (real Synapse) and a Discord channel (simcord),
both adapters running on ONE core in one process, as `coopbot run` starts them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.db.models import Decision, Identity, Vote
from tests.contract.drivers import until
from tests.contract.drivers.discord import DiscordDriver
from tests.contract.drivers.matrix import MatrixDriver
from tests.discord.discord_world import Server
from tests.matrix.conftest import BotFactory, PersonFactory

pytestmark = [pytest.mark.synapse, pytest.mark.simcord]

CODE = re.compile(r"\b[0-9A-Z]{4}(?:-[0-9A-Z]{4}){3}\b")
# The result as every platform words it (Discord adds Markdown around it).
RESULT = re.compile(r"PASSED \(yes (\d+), no (\d+), abstain (\d+); turnout (\d+)/(\d+)")


async def code_for(driver: DiscordDriver | MatrixDriver, member: str, before: int) -> str:
    shown = await until(
        driver,
        lambda: driver.private_messages(member),
        lambda messages: any(CODE.search(m) for m in messages[before:]),
    )
    return next(match.group(0) for m in shown[before:] if (match := CODE.search(m)))


def results(messages: list[str]) -> list[tuple[str, ...]]:
    return [match.groups() for m in messages if (match := RESULT.search(m.replace("*", "")))]


async def stored_votes(core: Core, number: int) -> dict[int, str]:
    """{member id: choice} of the current votes on decision `number`."""
    async with core.sessions() as session:
        rows = await session.execute(
            select(Vote.member_id, Vote.choice)
            .join(Decision, Decision.id == Vote.decision_id)
            .where(Decision.number == number)
        )
        return {member: str(choice) for member, choice in rows.tuples().all()}


async def identities(core: Core) -> dict[str, int]:
    async with core.sessions() as session:
        rows = await session.execute(select(Identity.identity, Identity.member_id))
        return dict(rows.tuples().all())


async def bridged(
    core: Core,
    people: PersonFactory,
    matrix_bot: BotFactory,
    server: Server,
    adapter: DiscordAdapter,
) -> tuple[DiscordDriver, MatrixDriver]:
    """Alice's co-op set up on Discord, her Matrix room bound to it with a one-time code,
    her Matrix identity linked to her Discord membership and bob admitted (on Matrix); both
    adapters on `core`: one process."""
    discord = DiscordDriver(server, adapter)
    matrix = MatrixDriver(core, people, matrix_bot)
    await discord.setup("alice")
    await discord.send("alice", "coop code")
    bind = await code_for(discord, "alice", 0)
    await matrix.open_room("alice", "bob")
    await matrix.send("alice", f"coop bind {bind}")
    assert "now bound to Riverside Co-op" in (await matrix.room_messages())[-1]
    seen = len(await discord.private_messages("alice"))
    await discord.send("alice", "member link")
    await matrix.send("alice", f"member link {await code_for(discord, 'alice', seen)}")
    assert "linked matrix identity" in (await matrix.room_messages())[-1]
    await matrix.send("alice", "member add @bob")
    assert "joined Riverside Co-op" in (await matrix.room_messages())[-1]
    return discord, matrix


async def closes_once_per_room(
    discord: DiscordDriver, matrix: MatrixDriver, number: int, before: tuple[int, int]
) -> None:
    """The steward closes #number on Discord: both cards end showing the result, without
    controls, and each room has the result as news exactly once (from `before`: the
    number of messages each room had)."""
    await discord.send("alice", f"close {number}")
    await discord.settle()
    await until(matrix, lambda: matrix.card(number), lambda card: "PASSED" in card)
    await matrix.settle()
    await discord.settle()
    on_discord = results((await discord.room_messages())[before[0] :])
    on_matrix = results((await matrix.room_messages())[before[1] :])
    assert on_discord == [("2", "0", "0", "2", "2")], on_discord  # the news, once
    assert on_matrix == on_discord, on_matrix
    # The cards' last edits show it too, and the voting controls are gone.
    assert "PASSED" in await discord.card(number) and await discord.controls(number) == []
    assert "PASSED" in await matrix.card(number) and await matrix.controls(number) == []


async def test_a_bridged_coop_counts_one_person_once_and_both_rooms_show_one_result(
    core: Core,
    people: PersonFactory,
    matrix_bot: BotFactory,
    discord_server: Server,
    discord_adapter: DiscordAdapter,
) -> None:
    # Alice sets the co-op up on Discord, binds her Matrix room with a one-time code,
    # links her Matrix identity to her Discord membership and admits bob there.
    discord, matrix = await bridged(core, people, matrix_bot, discord_server, discord_adapter)

    # A proposal opened on Discord reaches the Matrix room with its native poll.
    await discord.send("alice", "propose Bridge the rooms")
    assert await matrix.controls(1) == ["yes", "no", "abstain"]
    discord_before = len(await discord.room_messages())
    matrix_before = len(await matrix.room_messages())

    # Alice votes on Discord and changes her vote on Matrix; bob votes on Matrix.
    await discord.press("alice", 1, "no")
    await matrix.press("alice", 1, "yes")
    await matrix.send("bob", "vote 1 yes")
    linked = await identities(core)
    alice = linked[f"matrix:{matrix.people['alice'].user_id}"]
    assert alice == linked[f"discord:{discord.people['alice'].id}"]  # one person
    bob = linked[f"matrix:{matrix.people['bob'].user_id}"]
    assert await stored_votes(core, 1) == {alice: "yes", bob: "yes"}  # her last vote

    # The steward closes it on Discord: both rooms show the same result, once each.
    await closes_once_per_room(discord, matrix, 1, (discord_before, matrix_before))
