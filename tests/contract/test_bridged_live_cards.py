"""One live card per decision in each room of a bridged co-op: a Discord channel (simcord)
and a Matrix room (real Synapse) bound to one co-op, both adapters on ONE core in one
process. A vote cast on either platform edits the card in both rooms; the close shows the
result on each card, and as news once per room. With refreshes coming from everywhere, the
latest state wins: two refreshes crossing, or a refresh crossing the close, never leave a
card on older content (on Discord, a refresh crossing the close: test_discord_card_turns)."""

from __future__ import annotations

import asyncio
import re
from typing import Any, cast

import pytest
import simcord

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.intents import CardUpdated, DecisionRef
from bot.ports import CoreAPI
from bot.render.document import Reply
from tests.contract.drivers import until
from tests.contract.drivers.discord import DiscordDriver
from tests.contract.drivers.matrix import MatrixDriver
from tests.contract.test_one_core_two_platforms import bridged, closes_once_per_room
from tests.discord.discord_world import Server
from tests.matrix.conftest import BotFactory, PersonFactory
from tests.matrix.matrix_people import reply_to
from tests.matrix.matrix_story import coop_room, sentinel, stored_votes
from tests.matrix.test_matrix_live_card import edits

pytestmark = [pytest.mark.synapse, pytest.mark.simcord]


def counts(card: str) -> tuple[int, int, int, int] | None:
    """(yes, no, abstain, turnout) as a card shows them (either platform's wording)."""
    plain = card.replace("*", "")
    tally = re.search(r"yes (\d+) · no (\d+) · abstain (\d+)", plain)
    turnout = re.search(r"turnout (\d+)/\d+", plain)
    if tally is None or turnout is None:
        return None
    yes, no, abstain = (int(n) for n in tally.groups())
    return yes, no, abstain, int(turnout.group(1))


async def shows(driver: DiscordDriver | MatrixDriver, number: int, wanted: tuple[int, ...]) -> str:
    """The card of #number once it shows `wanted` (yes, no, abstain, turnout)."""
    if isinstance(driver, DiscordDriver):
        await driver.settle()
    return await until(driver, lambda: driver.card(number), lambda card: counts(card) == wanted)


async def votes_on_both_cards(
    on: DiscordDriver | MatrixDriver,
    member: str,
    other: DiscordDriver | MatrixDriver,
    wanted: tuple[int, int, int, int],
) -> None:
    """`member` votes yes on #1 on `on`'s platform: the card there and the card on the
    `other` platform both come to show `wanted` (yes, no, abstain, turnout)."""
    await on.press(member, 1, "yes")
    await shows(on, 1, wanted)
    await shows(other, 1, wanted)


async def test_a_decision_opened_on_discord_has_a_matrix_live_card_that_discord_votes_edit(
    core: Core,
    people: PersonFactory,
    matrix_bot: BotFactory,
    discord_server: Server,
    discord_adapter: DiscordAdapter,
) -> None:
    discord, matrix = await bridged(core, people, matrix_bot, discord_server, discord_adapter)
    await discord.send("alice", "propose Bridge the rooms")
    assert await matrix.controls(1) == ["yes", "no", "abstain"]
    await until(matrix, lambda: matrix.card(1), lambda card: "Bridge the rooms" in card)
    await matrix.settle()
    before = (len(await discord.room_messages()), len(await matrix.room_messages()))

    # A vote on Discord edits the Matrix card (its count and turnout) ...
    await votes_on_both_cards(discord, "alice", matrix, (1, 0, 0, 1))
    # ... and one on Matrix edits the Discord card.
    await votes_on_both_cards(matrix, "bob", discord, (2, 0, 0, 2))

    await closes_once_per_room(discord, matrix, 1, before)


async def test_a_decision_opened_on_matrix_has_its_discord_card_edited_by_matrix_votes(
    core: Core,
    people: PersonFactory,
    matrix_bot: BotFactory,
    discord_server: Server,
    discord_adapter: DiscordAdapter,
) -> None:
    discord, matrix = await bridged(core, people, matrix_bot, discord_server, discord_adapter)
    await matrix.send("alice", "propose Bridge the rooms")
    await discord.settle()
    assert "Bridge the rooms" in await discord.card(1)
    await matrix.settle()
    before = (len(await discord.room_messages()), len(await matrix.room_messages()))

    # A vote on Matrix edits the Discord card ...
    await votes_on_both_cards(matrix, "bob", discord, (1, 0, 0, 1))
    # ... and one on Discord edits the Matrix card.
    await votes_on_both_cards(discord, "alice", matrix, (2, 0, 0, 2))

    await closes_once_per_room(discord, matrix, 1, before)


class SlowCardReads:
    """The real core, except that once `armed`, reading a decision's card (a live-card
    refresh) waits for the test's `gate` after it has read: the test decides what happens
    between the read and the edit."""

    def __init__(self, core: Core, env: simcord.Env | None = None) -> None:
        self._core = core
        self._env = env
        self.armed = False
        self.failing = False  # the next read fails (the database went away a moment)
        self.read = asyncio.Event()
        self.gate = asyncio.Event()

    async def card(self, ref: DecisionRef) -> Reply | None:
        if self.failing:
            self.failing = False
            raise ConnectionError("the database went away a moment")
        card = await self._core.card(ref)
        if self.armed:
            self.armed = False
            self.read.set()
            if self._env is None:
                await self.gate.wait()
            else:
                await self._env.external_wait(self.gate.wait(), reason="held by the test")
        return card

    def __getattr__(self, name: str) -> Any:
        return getattr(self._core, name)


async def test_a_matrix_card_refreshed_twice_at_once_ends_on_the_later_votes(
    core: Core, people: PersonFactory, matrix_bot: BotFactory
) -> None:
    alice, bob, carol = [await people(n) for n in ("alice", "bob", "carol")]
    slow = SlowCardReads(core)
    bot = await matrix_bot(cast(CoreAPI, slow), clock=core.clock)
    coop = await coop_room(alice, [bob, carol], bot.user_id)
    card = await coop.run(alice, "!propose Paint the door")

    # Bob's vote refreshes the card: its refresh has read the card (bob's vote alone) and
    # waits; carol votes meanwhile, and her vote's refresh goes its way.
    slow.armed = True
    await bob.say(coop.room_id, "!vote 1 yes")
    await asyncio.wait_for(slow.read.wait(), 60)
    asked = await carol.say(coop.room_id, "!vote 1 no")
    assert bot.adapter is not None
    send_lock = bot.adapter._running.outgoing.send_lock
    deadline = asyncio.get_running_loop().time() + 60
    # Until carol's answer is out (her refresh made), or her vote is in while bob's
    # refresh holds the sending (hers then waits for it).
    while not carol.find(coop.room_id, reply_to(asked, bot.user_id)):
        held = send_lock.locked() and len(await stored_votes(core, 1)) == 2
        if held:
            break
        assert asyncio.get_running_loop().time() < deadline, "carol's vote was not handled"
        await carol.sync(timeout_ms=100)
    slow.gate.set()
    await sentinel(alice, coop.room_id, bot.user_id)
    await sentinel(carol, coop.room_id, bot.user_id)

    shown = await edits(alice, coop.room_id, card["event_id"], bot.user_id)
    assert "yes 1 · no 1" in shown[-1], shown  # the last edit: both votes


async def test_a_late_card_update_edits_the_matrix_card_to_the_decision_as_it_stands(
    core: Core, people: PersonFactory, matrix_bot: BotFactory
) -> None:
    alice, bob = await people("alice"), await people("bob")
    bot = await matrix_bot(core, clock=core.clock)
    coop = await coop_room(alice, [bob], bot.user_id)
    card = await coop.run(alice, "!propose Paint the door")
    door = DecisionRef(coop_id=1, number=1)
    earlier = await core.card(door)  # no vote yet
    assert earlier is not None
    await coop.run(bob, "!vote 1 yes")

    # News of the card stored before bob's vote (say, from the outbox) goes out after it.
    assert bot.adapter is not None
    update = CardUpdated(ref=door, news=True)
    await bot.adapter.send_reply(core, coop.room_id, earlier, "late-update", intent=update)
    await sentinel(alice, coop.room_id, bot.user_id)

    shown = await edits(alice, coop.room_id, card["event_id"], bot.user_id)
    assert "yes 1 · no 0" in shown[-1], shown  # not the count it was stored with


async def test_a_refresh_that_failed_is_made_at_a_later_tick(
    core: Core, discord_server: Server, discord_adapter: DiscordAdapter
) -> None:
    slow = SlowCardReads(core, discord_server.env)
    discord_adapter.attach(slow)  # type: ignore[arg-type]
    slow.live_cards.join(discord_adapter.live)  # attached after `ready`, which joins it
    discord = DiscordDriver(discord_server, discord_adapter)
    await discord.setup("alice", "bob")
    await discord.send("alice", "propose Bridge the rooms")

    slow.failing = True  # the refresh after bob's vote fails
    await discord.press("bob", 1, "yes")
    assert counts(await discord.card(1)) is None  # not shown yet
    slow.failing = True  # and so does the one at the adapter's next tick
    await discord.env.advance_time(2.5)
    assert counts(await discord.card(1)) is None

    await discord.env.advance_time(2.5)  # the tick after: the refresh is made
    await discord.settle()
    assert counts(await discord.card(1)) == (1, 0, 0, 1)
