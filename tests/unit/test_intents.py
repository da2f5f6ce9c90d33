"""What the core means by a reply, as a type: cards, private replies, announcements; and the
versioned form the outbox stores (rows written before it stay readable)."""

from __future__ import annotations

from bot import intents
from bot.commands.tree import build_command_tree
from bot.intents import (
    Announcement,
    CardClosed,
    CardOpened,
    CardUpdated,
    DecisionRef,
    PrivateReply,
    Say,
    intent_for,
)
from bot.render.document import Bold, ChoiceOption, Choices, Reply, command, error, line

REF = DecisionRef(coop_id=1, number=7)


def card(*, kind: str = "announcement", closed: bool = False, secret: bool = False) -> Reply:
    choices = Choices(
        coop_id=1,
        decision_number=7,
        decision_kind="proposal",
        method="majority",
        question="Pay rise",
        options=tuple(ChoiceOption(key=k, label=k) for k in ("yes", "no", "abstain")),
        secret=secret,
        closed=closed,
    )
    return Reply(
        kind="announcement" if kind == "announcement" else "info",
        blocks=(line(Bold(text="Proposal #7 opened")), line("vote: ", command("vote 7 yes"))),
        choices=choices,
        subject=REF.subject,
    )


def test_a_decision_is_named_by_a_typed_reference_spelled_in_one_place() -> None:
    assert REF.subject == "decision:1:7"
    assert DecisionRef.from_subject("decision:1:7") == REF
    for other in (None, "", "task:1:7", "decision:x:7", "decision:1", "secret-ballot:7"):
        assert DecisionRef.from_subject(other) is None


def test_a_card_opens_updates_and_closes_by_intent_not_by_command_name() -> None:
    assert intent_for(card(), opens_card=True) == CardOpened(ref=REF, news=True)
    assert intent_for(card(kind="info"), opens_card=True) == CardOpened(ref=REF)  # not news
    assert intent_for(card()) == CardUpdated(ref=REF, news=True)
    assert intent_for(card(closed=True), opens_card=True) == CardClosed(ref=REF, news=True)


def test_a_read_is_for_its_asker_and_never_a_card() -> None:
    assert intent_for(card(kind="info"), read=True) == Say(about=REF, read=True)
    assert intent_for(Reply(blocks=(line("Decisions (open)"),)), read=True) == Say(read=True)
    refused = Reply(kind="error", blocks=(line("No decision #9"),), ephemeral=True)
    assert intent_for(refused, read=True) == Say()


def test_which_commands_read_open_cards_or_name_a_decisions_choices_is_declared_once() -> None:
    tree = build_command_tree()
    reads = {c.name for c in tree if c.reads}
    assert reads == {"help", "show", "list", "tally", "member list", "task list"}
    assert {c.name for c in tree if c.opens_card} == {"propose", "poll"}
    choosing = [(c.name, p.name) for c in tree for p in c.params if p.decision_choice]
    assert choosing == [("vote", "choice")]


def test_only_the_news_of_an_open_secret_decision_asks_for_a_private_ballot() -> None:
    assert intent_for(card(secret=True), opens_card=True) == CardOpened(
        ref=REF, news=True, secret_ballot=True
    )
    assert intent_for(card(secret=True, kind="info")) == CardUpdated(ref=REF)  # a `show`
    assert intent_for(card(secret=True, closed=True)) == CardClosed(ref=REF, news=True)


def test_private_ephemeral_and_plain_replies_say_which_decision_they_touched() -> None:
    private = Reply(blocks=(line("code"),), private_to="matrix:@bob:x", subject=REF.subject)
    assert intent_for(private) == PrivateReply(to="matrix:@bob:x", about=REF)
    vote = Reply(blocks=(line("Vote recorded"),), ephemeral=True, subject=REF.subject)
    assert intent_for(vote) == Say(about=REF)
    assert intent_for(card(kind="info").model_copy(update={"ephemeral": True})) == Say(about=REF)
    assert intent_for(Reply(kind="announcement", blocks=(line("Task #2 claimed"),))) == (
        Announcement()
    )
    refused = error("no such decision").model_copy(update={"subject": REF.subject})
    assert intent_for(refused) == Say()  # an error changed nothing


def test_the_outbox_stores_reply_and_intent_versioned_and_reads_older_rows() -> None:
    reply = card(secret=True)
    meant = CardOpened(ref=REF, news=True, secret_ballot=True)
    stored = intents.store(reply, meant)
    assert stored["intent_version"] == 1 and stored["intent"]["kind"] == "card_opened"
    back = intents.load(stored)
    assert back.reply == reply and back.intent == meant
    # A reader that knows only replies (an older bot) still reads the reply.
    assert Reply.model_validate(stored) == reply
    # A row queued before intents were stored is a bare reply: its intent is implied.
    older = intents.load(reply.model_dump(mode="json"))
    assert older.reply == reply and older.intent == CardUpdated(
        ref=REF, news=True, secret_ballot=True
    )
