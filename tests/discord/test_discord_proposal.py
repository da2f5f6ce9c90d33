"""Stories of a co-op deciding things on Discord, through slash commands and buttons."""

from __future__ import annotations

from datetime import timedelta

import pytest
from discord_world import TOKEN, Server, button_labels, card_text

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.clock import ManualClock
from bot.config import DiscordSettings

pytestmark = pytest.mark.simcord


async def test_only_someone_with_manage_server_can_set_up_a_coop(server: Server) -> None:
    bob = server.person("bob")
    alice = server.person("alice", admin=True)

    refused = await bob.slash(server.channel, "coop setup", name="Bob's Co-op")
    assert refused.ephemeral
    assert "room admin" in refused.response.content

    done = await alice.slash(server.channel, "coop setup", name="Riverside Co-op")
    assert not done.ephemeral
    assert "Co-op Riverside Co-op set up" in done.response.content
    assert f"<@{alice.id}>" in done.response.content

    listing = await bob.slash(server.channel, "member list")
    assert "alice" in listing.response.content


async def test_three_members_decide_a_proposal_with_buttons(
    server: Server, core: Core, adapter: DiscordAdapter, clock: ManualClock
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    carol = server.person("carol")
    await server.coop_with(alice, bob, carol)

    opened = await alice.slash(server.channel, "propose", title="Buy a 3D printer", closes="3d")
    assert not opened.ephemeral
    card = opened.response.message
    assert "Proposal #1 opened" in card_text(card)
    assert button_labels(card) == ["yes", "no", "abstain"]

    bobs = await bob.click(card, label="yes")
    assert bobs.ephemeral
    assert "Your vote on #1 is recorded: **yes**" in bobs.response.content
    card = server.message(card.id)
    assert "yes 1 · no 0 · abstain 0" in card_text(card)

    carols = await carol.click(card, label="no")
    assert carols.ephemeral
    await alice.click(card, label="yes")
    card = server.message(card.id)
    assert "yes 2 · no 1 · abstain 0" in card_text(card)
    assert "turnout 3/3" in card_text(card)

    # Carol changes her mind: the last vote counts.
    changed = await carol.click(card, label="abstain")
    assert "changed" in changed.response.content
    assert "yes 2 · no 0 · abstain 1" in card_text(server.message(card.id))

    clock.advance(timedelta(days=3, minutes=1))
    assert await core.run_due_work() >= 1
    assert await adapter.deliver_pending() >= 1
    await server.env.settle()

    card = server.message(card.id)
    assert "PASSED" in card_text(card)
    assert button_labels(card) == []  # a closed decision takes no more votes
    news = server.channel.last_message
    assert news.id != card.id and "PASSED" in card_text(news)


async def test_a_steward_closes_a_proposal_early_and_the_card_shows_the_result(
    server: Server,
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    opened = await bob.slash(server.channel, "propose", title="Repaint the sign")
    card = opened.response.message
    extended = await alice.slash(server.channel, "extend", id=1, duration="2d")
    assert "extended" in extended.response.content
    # The card shows it, under its title (shown once, as the embed's title).
    assert "Repaint the sign\nopen, closes" in card_text(server.message(card.id))
    await bob.click(card, label="no")

    closed = await alice.slash(server.channel, "close", id=1)

    assert not closed.ephemeral
    assert "REJECTED" in card_text(closed.response.message)
    card = server.message(card.id)
    assert "REJECTED" in card_text(card)
    assert button_labels(card) == []


async def test_a_block_asks_for_the_reason_first(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    opened = await alice.slash(
        server.channel, "propose", title="Adopt the kitchen rota", method="consent"
    )
    card = opened.response.message
    assert button_labels(card) == ["yes", "no", "abstain", "block"]

    form = await bob.click(card, label="block")
    assert form.modal is not None
    voted = await bob.submit_modal(form, {"reason": "it leaves out the night shift"})

    assert voted.ephemeral
    assert "Your vote on #1 is recorded: **block**" in voted.response.content
    assert "block 1" in card_text(server.message(card.id))


async def test_someone_who_is_not_a_member_is_refused_privately(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    dan = server.person("dan")  # in the server, but not admitted to the co-op
    card = (await alice.slash(server.channel, "propose", title="Buy a kettle")).response.message

    proposing = await dan.slash(server.channel, "propose", title="Free snacks")
    clicking = await dan.click(card, label="yes")

    for refused in (proposing, clicking):
        assert refused.ephemeral
        assert "member" in refused.response.content
    # Nothing was counted: the card was never edited.
    assert "Proposal #1 opened" in card_text(server.message(card.id))
    listing = await dan.slash(server.channel, "list", state="all")
    assert "Free snacks" not in listing.response.content
    assert "Buy a kettle" in listing.response.content


async def test_a_slow_answer_is_deferred_and_still_reaches_everyone(
    server: Server, core: Core
) -> None:
    # A core slower than Discord's 3 s window: the adapter acknowledges first, then answers.
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    impatient = DiscordAdapter(DiscordSettings(token=TOKEN), core=core, defer_after=0)
    await server.env.restart_bot(impatient.client)

    opened = await bob.slash(server.channel, "propose", title="Buy a kettle")
    card = server.channel.history()[-1]
    assert "Proposal #1 opened" in card_text(card)
    assert button_labels(card) == ["yes", "no", "abstain"]
    assert opened.ephemeral and opened.response.content == "Done."  # the card itself is public

    voted = await alice.slash(server.channel, "vote", id=1, choice="yes")

    deferrals = [
        r.json
        for r in server.env.http_requests
        if isinstance(r.json, dict) and r.json.get("type") == 5
    ]
    assert len(deferrals) == 2  # both were acknowledged before the core answered
    assert voted.ephemeral
    assert "Your vote on #1 is recorded: **yes**" in voted.response.content
    assert "yes 1" in card_text(server.message(card.id))
