"""Feeling native on Discord: members are named without pings unless they must act."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import discord
import pytest
import simcord
from discord_world import Server, button_labels, card_text
from sqlalchemy import func, select

from adapters.discord import DiscordAdapter
from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Base

pytestmark = pytest.mark.simcord


def allowed_users(env: simcord.Env, since: int) -> list[set[int]]:
    """The users each message the bot sent since request `since` allowed to be pinged."""
    sent = [r.json for r in env.http_requests[since:] if isinstance(r.json, dict)]
    bodies: list[dict[str, Any]] = [body.get("data", body) for body in sent]
    return [
        {int(uid) for uid in body["allowed_mentions"].get("users", [])}
        for body in bodies
        if "allowed_mentions" in body
    ]


def pinged(server: Server, message: discord.Message) -> set[int]:
    """Whom simcord's Discord notified of `message` (not merely named in it)."""
    stored = server.env.backend.get_message(message.channel.id, message.id)
    return set(stored.ping_user_ids)


async def test_a_tally_names_every_contributor_and_notifies_nobody(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    await alice.slash(server.channel, "log", hours="2", note="cleaning")
    await bob.slash(server.channel, "log", hours="3", note="painting")
    before = len(server.env.http_requests)

    tally = await alice.slash(server.channel, "tally", period="all")

    message = tally.response.message
    assert f"<@{alice.id}>" in message.content and f"<@{bob.id}>" in message.content
    assert pinged(server, message) == set()
    allowed = allowed_users(server.env, before)
    assert allowed and all(users == set() for users in allowed)


async def test_a_reminder_notifies_exactly_the_members_who_have_not_voted(
    server: Server, core: Core, adapter: DiscordAdapter, clock: ManualClock
) -> None:
    # Also what Discord must never do (test_discord_safety): ping a crowd from a title.
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    carol = server.person("carol")
    await server.coop_with(alice, bob, carol)
    opened = await bob.slash(
        server.channel, "propose", title="Party for @everyone on Friday", closes="3d"
    )
    await bob.click(opened.response.message, label="yes")
    before = len(server.env.http_requests)

    clock.advance(timedelta(days=2, minutes=1))
    await core.run_due_work()
    assert await adapter.deliver_pending() >= 1
    await server.env.settle()

    reminder = server.channel.last_message
    assert reminder is not None and reminder.content.startswith("Reminder:")
    assert "Party for @\u200beveryone" in reminder.content
    assert not reminder.mention_everyone
    assert sorted(m.id for m in reminder.mentions) == sorted([alice.id, carol.id])
    assert pinged(server, reminder) == {alice.id, carol.id}
    allowing = [users for users in allowed_users(server.env, before) if users]
    assert allowing == [{alice.id, carol.id}]


async def test_a_card_names_who_has_not_voted_without_notifying_them(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    before = len(server.env.http_requests)

    opened = await bob.slash(server.channel, "propose", title="Paint the door")
    await bob.click(opened.response.message, label="yes")

    assert f"<@{alice.id}>" in card_text(server.message(opened.response.message.id))
    assert pinged(server, opened.response.message) == set()
    assert all(users == set() for users in allowed_users(server.env, before))


async def test_a_read_by_one_member_is_not_visible_to_another(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    await bob.slash(server.channel, "propose", title="Paint the door")
    posted = len(list(server.channel.history()))

    for command, options in (("list", {}), ("tally", {}), ("member list", {}), ("help", {})):
        read = await alice.slash(server.channel, command, **options)
        assert read.ephemeral, command
    assert len(list(server.channel.history())) == posted

    shared = await alice.slash(server.channel, "list", public=True)

    assert not shared.ephemeral
    assert "#1" in shared.response.content and "Paint the door" in shared.response.content
    assert len(list(server.channel.history())) == posted + 1


async def test_show_links_to_the_live_card_and_carries_no_controls(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    card = (await bob.slash(server.channel, "propose", title="Paint the door")).response.message
    posted = len(list(server.channel.history()))

    shown = await alice.slash(server.channel, "show", id=1)

    assert shown.ephemeral
    message = shown.response.message
    assert button_labels(message) == []
    link = f"https://discord.com/channels/{server.guild.id}/{server.channel.id}/{card.id}"
    assert link in card_text(message)
    assert len(list(server.channel.history())) == posted
    assert button_labels(server.message(card.id)) == ["yes", "no", "abstain"]


def card_edits(env: simcord.Env, card_id: int, since: int = 0) -> int:
    """How many times the bot edited message `card_id` (PATCH requests), from request `since`."""
    return sum(
        1
        for r in env.http_requests[since:]
        if r.method == "PATCH" and r.path.endswith(f"/messages/{card_id}")
    )


BURST = 100


async def test_a_burst_of_votes_costs_a_bounded_number_of_card_edits(
    server: Server, adapter: DiscordAdapter, clock: ManualClock
) -> None:
    alice = server.person("alice", admin=True)
    voters = [server.person(f"voter{n}") for n in range(BURST)]
    await server.coop_with(alice, *voters)
    card = (await alice.slash(server.channel, "propose", title="Paint the door")).response.message
    before = len(server.env.http_requests)

    for voter in voters:
        await voter.click(card, label="yes")
    clock.advance(timedelta(seconds=5))
    await adapter.live.flush()
    await server.env.settle()

    edits = card_edits(server.env, card.id, before)
    assert 1 <= edits <= 10, edits
    assert f"yes {BURST} · no 0" in card_text(server.message(card.id))
    assert f"turnout {BURST}/{BURST + 1}" in card_text(server.message(card.id))
    print(f"{BURST} votes cost {edits} card edits")

    closed = await alice.slash(server.channel, "close", id=1)
    assert "PASSED" in card_text(closed.response.message)
    final = server.message(card.id)
    assert "PASSED" in card_text(final) and button_labels(final) == []
    assert len([m for m in server.channel.history() if m.embeds]) == 2  # the card, the news


async def test_a_secret_card_shows_its_turnout_and_no_choice(server: Server) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    opened = await alice.slash(server.channel, "propose", title="Raise dues", secret="yes")
    card = opened.response.message

    await bob.click(card, label="no")

    shown = card_text(server.message(card.id))
    assert "turnout 1/2" in shown
    assert "no 1" not in shown and "yes 0" not in shown
    assert shown.count("Raise dues") == 1  # the title, once


async def test_a_long_body_is_cut_on_the_card_with_a_read_more_never_split(
    server: Server,
) -> None:
    alice = server.person("alice", admin=True)
    await server.coop_with(alice)
    posted = len(list(server.channel.history()))
    body = " ".join(f"w{n}" for n in range(800))  # about 3,900 characters

    opened = await alice.slash(server.channel, "propose", title="Long one", body=body)

    assert len(list(server.channel.history())) == posted + 1  # one card, nothing after it
    shown = card_text(opened.response.message)
    assert "w0 " in shown and "w799" not in shown
    assert shown.rstrip().endswith("read more: `/show 1`")
    full = await alice.slash(server.channel, "show", id=1)
    assert full.ephemeral
    everything = card_text(full.response.message) + "".join(f.content for f in full.followups)
    assert "w799" in everything


async def stored_rows(core: Core) -> dict[str, int]:
    """How many rows every table holds: a refused command changes none of them."""
    async with core.sessions() as session:
        return {
            table.name: int(await session.scalar(select(func.count()).select_from(table)) or 0)
            for table in Base.metadata.sorted_tables
        }


async def test_every_bound_is_checked_by_us_with_our_words(server: Server, core: Core) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    card = (
        await alice.slash(server.channel, "propose", title="Paint", method="consent")
    ).response.message
    await alice.slash(server.channel, "task add", title="Sweep")
    posted = len(list(server.channel.history()))
    before = await stored_rows(core)

    refusals = [
        # Text past its bound (Discord carries no max_length, so the value reaches us).
        await alice.slash(server.channel, "propose", title="T" * 201),
        await alice.slash(server.channel, "propose", title="Long", body="b" * 4001),
        await alice.slash(server.channel, "log", hours="2", note="n" * 501),
        await alice.slash(
            server.channel,
            "poll",
            question="Where?",
            options=" | ".join(f"place {n}" for n in range(21)),
        ),
        # Numbers out of range (Discord carries no min/max, so the value reaches us).
        await alice.slash(server.channel, "vote", id=0, choice="yes"),
        await alice.slash(server.channel, "vote", id=10**9 + 7, choice="yes"),
        await alice.slash(server.channel, "task claim", id=-3),
        await alice.slash(server.channel, "show", id=2**40),
        await alice.slash(server.channel, "member list", page=-1),
        await alice.slash(server.channel, "coop settings", max_claims=2_000_000),
        await alice.slash(server.channel, "task add", title="Mop", points=10**12),
    ]
    # The block form carries no max_length either: a long reason reaches `vote` too.
    form = await bob.click(card, label="block")
    refusals.append(await bob.submit_modal(form, {"reason": "r" * 501}))

    for refused in refusals:
        assert refused.ephemeral
        text = refused.response.content
        assert any(words in text for words in ("limit is", "at most", "number")), text
        assert "`" in text, text  # how to write it right
    assert len(list(server.channel.history())) == posted
    assert await stored_rows(core) == before


async def test_the_close_lands_in_the_decisions_thread_and_in_the_channel_once(
    server: Server, core: Core, adapter: DiscordAdapter, clock: ManualClock
) -> None:
    alice = server.person("alice", admin=True)
    bob = server.person("bob")
    await server.coop_with(alice, bob)
    changed = await alice.slash(server.channel, "coop settings", changes="threads:on")
    assert "threads" in changed.response.content
    card = (
        await bob.slash(server.channel, "propose", title="Paint the door", closes="3d")
    ).response.message
    [thread] = server.channel.threads
    assert thread.id == card.id and thread.name == "#1 Paint the door"
    await bob.click(card, label="yes")

    clock.advance(timedelta(days=2, minutes=1))
    await core.run_due_work()
    await adapter.deliver_pending()
    await server.env.settle()
    [reminder] = [m for m in thread.history() if m.content.startswith("Reminder:")]
    assert pinged(server, reminder) == {alice.id}
    room_line = server.channel.last_message
    assert room_line is not None and "more in its thread" in room_line.content
    assert pinged(server, room_line) == set()
    posted = len(server.channel.history())

    clock.advance(timedelta(days=1))
    await core.run_due_work()
    await adapter.deliver_pending()
    await server.env.settle()

    new = server.channel.history()[posted:]
    assert len(new) == 1 and "PASSED" in new[0].content and "thread" in new[0].content
    assert any("PASSED" in card_text(m) for m in thread.history() if m.embeds)
    assert "PASSED" in card_text(server.message(card.id))


async def test_a_votes_choices_are_offered_from_the_decisions_method(server: Server) -> None:
    alice = server.person("alice", admin=True)
    await server.coop_with(alice)
    await alice.slash(server.channel, "propose", title="Adopt the rota", method="consent")
    await alice.slash(
        server.channel,
        "poll",
        question="Where?",
        options="Lakehouse | Cabin | City",
        method="ranked",
    )

    proposal = await alice.autocomplete(server.channel, "vote", "choice", "", id=1)
    ranked = await alice.autocomplete(server.channel, "vote", "choice", "C>", id=2)
    cabin = await alice.autocomplete(server.channel, "vote", "choice", "cab", id=2)
    decisions = await alice.autocomplete(server.channel, "vote", "id", "rota")

    assert [c["value"] for c in proposal] == ["yes", "no", "abstain", "block"]
    assert [c["value"] for c in ranked] == ["C>A", "C>B"]
    assert ranked[0]["name"] == "C>A — City then Lakehouse"
    assert [(c["name"], c["value"]) for c in cabin] == [("B — Cabin", "B")]
    assert decisions == [{"name": "#1 Adopt the rota", "value": 1}]
