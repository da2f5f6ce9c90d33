"""The core tells adapters what it means: answers carry typed intents, the outbox keeps
them, a card is refreshed by reference and a secret vote is recognised by the core."""

from __future__ import annotations

from sqlalchemy import select

from bot.app import Core
from bot.db.models import Coop, OutboxMessage
from bot.intents import CardOpened, CardUpdated, DecisionRef, Say
from bot.invocation import RoomRef
from bot.render.plain import render_plain
from tests.support import invocation, say, setup_coop


async def _coop_id(core: Core) -> int:
    async with core.sessions() as session:
        found = await session.scalar(select(Coop.id))
    assert found is not None
    return found


async def test_answers_carry_card_intents_and_the_outbox_stores_them(core: Core) -> None:
    await setup_coop(core)
    answers = await core.answer(invocation("alice", "!propose Fix the roof"))
    ref = DecisionRef(coop_id=await _coop_id(core), number=1)
    assert [a.intent for a in answers] == [CardOpened(ref=ref, news=True)]
    assert answers[0].delivery is not None and answers[0].delivery.intent == answers[0].intent
    async with core.sessions() as session:
        documents = (await session.scalars(select(OutboxMessage.document))).all()
    assert any(d.get("intent", {}).get("kind") == "card_opened" for d in documents)
    assert all(d.get("intent_version") == 1 for d in documents)

    shown = await core.answer(invocation("bob", "!show 1"))
    # A read: for the asker, about the decision, never a second live card.
    assert [a.intent for a in shown] == [Say(about=ref, read=True)]
    listed = await core.answer(invocation("bob", "!list"))
    assert [a.intent for a in listed] == [Say(read=True)]
    voted = await core.answer(invocation("bob", "!vote 1 yes"))
    assert [a.intent for a in voted] == [Say(about=ref)]  # its cards are stale
    closed = await core.answer(invocation("alice", "!close 1"))
    assert any(a.intent.kind == "card_closed" for a in closed)
    assert not any(isinstance(a.intent, CardUpdated) for a in closed)


async def test_a_card_is_refreshed_by_reference_without_a_command(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Fix the roof")
    await say(core, "bob", "!vote 1 yes")
    ref = DecisionRef(coop_id=await _coop_id(core), number=1)
    card = await core.card(ref)
    assert card is not None and card.choices is not None
    assert card.choices.decision_number == 1
    assert render_plain(card, "!") == await say(core, "carol", "!show 1")
    assert await core.card(DecisionRef(coop_id=ref.coop_id, number=9)) is None
    assert await core.card(DecisionRef(coop_id=ref.coop_id + 1, number=1)) is None


async def test_the_core_says_which_typed_votes_are_on_a_secret_ballot(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Raise dues secret:yes")
    await say(core, "alice", "!propose Fix the roof")
    ref = DecisionRef(coop_id=await _coop_id(core), number=1)
    assert await core.secret_vote(invocation("bob", "!vote 1 yes")) == ref
    assert await core.secret_vote(invocation("bob", "!Vote #1 no reason:fine")) == ref
    assert await core.secret_vote(invocation("bob", "!vote 1 maybe")) == ref  # refused, too
    assert await core.secret_vote(invocation("bob", "!vote 2 yes")) is None  # not secret
    assert await core.secret_vote(invocation("bob", "!show 1")) is None
    assert await core.secret_vote(invocation("bob", "!votes 1 yes")) is None
    elsewhere = RoomRef("console", "unbound")
    assert await core.secret_vote(invocation("bob", "!vote 1 yes", elsewhere)) is None
