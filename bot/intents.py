"""What the core means by each message it hands an adapter, as types (not strings to parse):
a card opened, updated or closed, a private reply, an announcement, plain talk."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from bot.render.document import Reply

# The form intents are stored in (the outbox document's "intent_version"); rows without
# one are older.
INTENT_VERSION = 1


class _Intent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DecisionRef(_Intent):
    """One decision: co-op `coop_id`, decision #`number`. The one place that spells it as a
    link subject ("decision:3:7", stored with a platform message) and reads it back."""

    coop_id: int
    number: int

    @property
    def subject(self) -> str:
        return f"decision:{self.coop_id}:{self.number}"

    @property
    def card_subject(self) -> str:
        """The link subject of the message a platform edits as the decision's live card,
        where that is not the message votes are cast on (a Matrix notice beside its poll)."""
        return f"live-card:{self.coop_id}:{self.number}"

    @classmethod
    def from_subject(cls, subject: str | None) -> DecisionRef | None:
        parts = (subject or "").split(":")
        if len(parts) < 3 or parts[0] != "decision":
            return None
        try:
            return cls(coop_id=int(parts[1]), number=int(parts[2]))
        except ValueError:
            return None


class Say(_Intent):
    """Plain talk: a reply in the room (or, where `ephemeral`, to the actor only).

    `read` marks the answer to a read command (`show`, `list`, `tally`, `member list`,
    `task list`, `help`): it is for the asker (Discord: ephemeral unless they chose to
    share it; Matrix: a reply to them, in the decision's thread where there is one) and it
    never carries voting controls. Its `about` is then the decision it shows (link to its
    live card), not a decision it changed."""

    kind: Literal["say"] = "say"
    about: DecisionRef | None = None  # a decision it changed (a vote): its cards are stale
    read: bool = False


class PrivateReply(_Intent):
    """Only `to` (an identity, "matrix:@bob:example.org") may read it."""

    kind: Literal["private"] = "private"
    to: str
    about: DecisionRef | None = None


class Announcement(_Intent):
    """News for the room that is not a decision card (a task claimed, a weekly summary)."""

    kind: Literal["announcement"] = "announcement"
    about: DecisionRef | None = None


class CardOpened(_Intent):
    """Post a new card for the decision, with its voting controls. `news` says the
    decision has just opened (not a `show`): platforms with native polls start one.
    `secret_ballot` asks members to vote privately (news of a secret decision)."""

    kind: Literal["card_opened"] = "card_opened"
    ref: DecisionRef
    news: bool = False
    secret_ballot: bool = False


class CardUpdated(_Intent):
    """The decision's card changed: edit the posted cards (post one where none is)."""

    kind: Literal["card_updated"] = "card_updated"
    ref: DecisionRef
    news: bool = False
    secret_ballot: bool = False


class CardClosed(_Intent):
    """The decision closed: cards show the result and lose their controls, native polls
    end, and the result is posted as news too."""

    kind: Literal["card_closed"] = "card_closed"
    ref: DecisionRef
    news: bool = False


Intent = Annotated[
    Say | PrivateReply | Announcement | CardOpened | CardUpdated | CardClosed,
    Field(discriminator="kind"),
]
CARD_INTENTS = (CardOpened, CardUpdated, CardClosed)


class StoredReply(_Intent):
    """A reply and the intent it was stored with."""

    reply: Reply
    intent: Intent


def intent_for(reply: Reply, *, opens_card: bool = False, read: bool = False) -> Intent:
    """The intent of `reply`, from its typed fields; `opens_card` when the command that
    produced it shows a decision afresh (`Command.opens_card`: propose, poll; an adapter
    only sees CardOpened; after any other command a card updates the posted ones), `read`
    when it only read (`Command.reads`: its answer is for the asker, never a second live card).
    """
    ref = DecisionRef.from_subject(reply.subject) if reply.kind != "error" else None
    if reply.private_to is not None:
        return PrivateReply(to=reply.private_to, about=ref)
    if read and reply.kind != "error":
        return Say(about=ref, read=True)
    choices = reply.choices
    if choices is not None and ref is not None and not reply.ephemeral:
        news = reply.kind == "announcement"
        if choices.closed:
            return CardClosed(ref=ref, news=news)
        ballot = news and choices.secret
        if opens_card:
            return CardOpened(ref=ref, news=news, secret_ballot=ballot)
        return CardUpdated(ref=ref, news=news, secret_ballot=ballot)
    if reply.kind == "announcement":
        return Announcement(about=ref)
    return Say(about=ref)


def thread_news(intent: Intent) -> DecisionRef | None:
    """The decision whose thread this news belongs in (a reminder, its result), if any:
    where the co-op keeps a thread per decision, it goes there and the room keeps a line."""
    if isinstance(intent, Announcement):
        return intent.about
    if isinstance(intent, CardClosed) and intent.news:
        return intent.ref
    return None


def is_card(intent: Intent) -> bool:
    return isinstance(intent, CARD_INTENTS)


def store(reply: Reply, intent: Intent) -> dict[str, Any]:
    """The outbox document of a reply and its intent: the reply's own fields, with the
    intent and the form's version (`INTENT_VERSION`) beside them, so that a reader that
    knows only replies (an older bot) still reads the reply."""
    document = reply.model_dump(mode="json")
    document[_INTENT_KEY] = _INTENT_ADAPTER.dump_python(intent, mode="json")
    document[_VERSION_KEY] = INTENT_VERSION
    return document


def load(document: dict[str, Any]) -> StoredReply:
    """A stored reply; a row written before intents were stored (a bare reply) gets the
    intent its reply implies."""
    fields = {k: v for k, v in document.items() if k not in (_INTENT_KEY, _VERSION_KEY)}
    reply = Reply.model_validate(fields)
    if document.get(_VERSION_KEY) == INTENT_VERSION and _INTENT_KEY in document:
        return StoredReply(
            reply=reply, intent=_INTENT_ADAPTER.validate_python(document[_INTENT_KEY])
        )
    return StoredReply(reply=reply, intent=intent_for(reply))


_INTENT_KEY = "intent"
_VERSION_KEY = "intent_version"
_INTENT_ADAPTER: TypeAdapter[Intent] = TypeAdapter(Intent)
