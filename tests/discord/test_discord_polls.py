"""A ranked poll on Discord: members rank the options in a form behind the card's button."""

from __future__ import annotations

import pytest
from discord_world import Server, button_labels, card_text

pytestmark = pytest.mark.simcord


async def test_a_ranked_poll_is_decided_by_instant_runoff(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    carol = server.person("carol")
    dan = server.person("dan")
    await server.coop_with(alice, bob, carol, dan)

    opened = await alice.slash(
        server.channel,
        "poll",
        question="Where should the retreat be?",
        options="Lakehouse | Cabin | City",
        method="ranked",
    )
    card = opened.response.message
    assert "A: Lakehouse" in card_text(card)
    assert button_labels(card) == ["Rank the options…"]

    for member, ballot in ((alice, "A>B>C"), (bob, "B>A"), (carol, "C>A>B"), (dan, "A>C")):
        form = await member.click(card, label="Rank the options…")
        assert form.modal is not None
        voted = await member.submit_modal(form, {"ballot": ballot})
        assert voted.ephemeral
        assert "Your vote on #1 is recorded" in voted.response.content

    closed = await alice.slash(server.channel, "close", id=1)

    result = card_text(closed.response.message)
    assert "winner: Lakehouse" in result
    assert "round 1: Lakehouse 2 · Cabin 1 · City 1" in result
    assert "round 2: Lakehouse 3 · Cabin 1" in result
    assert button_labels(server.message(card.id)) == []


async def test_an_approval_poll_takes_a_multiple_choice_select(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    opened = await alice.slash(
        server.channel,
        "poll",
        question="Which snacks?",
        options="Apples | Bread | Cheese",
        method="approval",
    )
    card = opened.response.message

    voted = await bob.select(card, ["A", "C"])

    assert voted.ephemeral
    assert "Your vote on #1 is recorded" in voted.response.content
    assert "Apples 1 · Bread 0 · Cheese 1" in card_text(server.message(card.id))
