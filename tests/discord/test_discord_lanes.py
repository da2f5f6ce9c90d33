"""A member's commands are handled in the order they were sent, other members' meanwhile
(issue 11), through discord.py's real interaction handling on simcord."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import pytest
import simcord
from discord_world import TOKEN, Server, card_text
from sqlalchemy import select

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.config import DiscordSettings
from bot.db.models import Task, Vote
from bot.invocation import Invocation
from bot.ports import Answer

pytestmark = pytest.mark.simcord


class HeldCore:
    """The real core, except that a command whose text contains `held` waits for
    `release()` before the core sees it: the test decides when it is handled, by a
    condition (simcord knows the wait is the test's, so its settling does not wait for it)."""

    def __init__(self, core: Core, env: simcord.Env, held: str) -> None:
        self._core = core
        self._env = env
        self._held = held
        self._released = asyncio.Event()
        self.seen: list[str] = []  # command texts in the order the core got them

    def release(self) -> None:
        self._released.set()

    async def answer(self, invocation: Invocation) -> Sequence[Answer]:
        if self._held in invocation.text and not self._released.is_set():
            await self._env.external_wait(self._released.wait(), reason="held by the test")
        self.seen.append(invocation.text)
        return await self._core.answer(invocation)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)


async def task_titles(core: Core) -> list[str]:
    async with core.sessions() as session:
        return list((await session.scalars(select(Task.title).order_by(Task.id))).all())


def posted_index(server: Server, words: str) -> int:
    contents = [m.content for m in server.channel.history()]
    found = [n for n, content in enumerate(contents) if words in content]
    assert found, (words, contents)
    return found[0]


async def held_adapter(server: Server, core: Core, held: str) -> tuple[DiscordAdapter, HeldCore]:
    """The bot restarted on a core that holds commands containing `held`. It defers only
    because a command waits behind the member's earlier one, never because of the clock
    (the held command takes as long as the test wants)."""
    holding = HeldCore(core, server.env, held)
    adapter = DiscordAdapter(
        DiscordSettings(token=TOKEN), core=holding, clock=core.clock, defer_after=3600
    )
    await server.env.restart_bot(adapter.client)
    return adapter, holding


async def test_a_members_commands_keep_their_order_while_another_members_run(
    server: Server, core: Core
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    adapter, held = await held_adapter(server, core, "First job")

    first = await alice.slash(server.channel, "task add", title="First job")
    second = await alice.slash(server.channel, "task add", title="Second job")
    other = await bob.slash(server.channel, "task add", title="Bob's job")

    # Bob was answered while alice's first command was still held: members run at once.
    assert other.response is not None and "Task 1 added" in other.response.content
    assert not first.acknowledged
    # Alice's second waits behind her first, acknowledged at once (Discord's 3 s).
    assert second.deferred
    assert not any("Second job" in text for text in held.seen)
    assert await task_titles(core) == ["Bob's job"]
    assert adapter.turns.lanes.queued((str(server.channel.id), str(alice.id)))

    held.release()
    await server.env.settle()

    alices = [text for text in held.seen if "First job" in text or "Second job" in text]
    assert len(alices) == 2 and "First job" in alices[0] and "Second job" in alices[1]
    assert await task_titles(core) == ["Bob's job", "First job", "Second job"]
    assert first.response is not None and "Task 2 added" in first.response.content
    # The second was deferred, so its public answer went to the channel after the first.
    assert posted_index(server, "Task 2 added") < posted_index(server, "Task 3 added")
    assert not adapter.turns.lanes.queued((str(server.channel.id), str(alice.id)))


async def test_a_click_after_a_typed_vote_is_the_vote_that_counts(
    server: Server, core: Core
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    card = (await alice.slash(server.channel, "propose", title="Paint")).response.message
    adapter, held = await held_adapter(server, core, "vote 1 yes")

    typed = await bob.slash(server.channel, "vote", id=1, choice="yes")
    clicked = await bob.click(card, label="no")  # changed his mind: the click is his vote
    own = await alice.click(card, label="abstain")

    assert not typed.acknowledged and clicked.deferred
    assert own.response is not None and "recorded" in own.response.content
    held.release()
    await server.env.settle()

    async with core.sessions() as session:
        choices = sorted((await session.scalars(select(Vote.choice))).all(), key=str)
    assert choices == ["abstain", "no"]
    assert "yes 0 · no 1" in card_text(server.message(card.id))
    assert not adapter.turns.lanes.queued((str(server.channel.id), str(bob.id)))
