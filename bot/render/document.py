"""The small document model every reply is built from; adapters render it natively.

Documents are pydantic models so that an announcement can be stored in the outbox as JSON
and rendered later, after a restart, exactly as it was written.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.polls import PollMethod
from bot.domain.proposals import ProposalMethod
from bot.domain.vocabulary import DecisionKind
from bot.invocation import IdentityRef


class _Node(BaseModel):
    model_config = ConfigDict(frozen=True)


class Text(_Node):
    """Plain text. May contain user input: every renderer neutralises mentions and markup."""

    kind: Literal["text"] = "text"
    text: str


class Bold(_Node):
    kind: Literal["bold"] = "bold"
    text: str


class Code(_Node):
    """An identifier or a command example, shown verbatim (monospace where possible).

    A command (`command=True`) is written without its prefix (`vote 7 yes`): announcements
    go to every bound room, so each renderer writes it in its platform's form
    (`!vote 7 yes` on the console and Matrix, `/vote 7 yes` on Discord)."""

    kind: Literal["code"] = "code"
    text: str
    command: bool = False

    def written(self, prefix: str) -> str:
        return prefix + self.text if self.command else self.text


class Mention(_Node):
    """A co-op member. `identities` maps platform → platform user id, e.g.
    {"discord": "1234", "matrix": "@alice:example.org", "console": "alice"}; a renderer pings the
    member only through the identity of its own platform, and falls back to `@display`.

    `notify` says whether the member must act on this message (a reminder to vote, a claim
    going stale): only then is the member notified. Otherwise (a table, a tally, a card, a
    result, a summary) the member is named without a notification. In a Table no member is
    ever notified."""

    kind: Literal["mention"] = "mention"
    member_id: int
    display: str
    identities: dict[str, str] = Field(default_factory=dict)
    notify: bool = True

    def quiet(self) -> Mention:
        """The same member, named without a notification."""
        return self if not self.notify else self.model_copy(update={"notify": False})


Inline = Annotated[Text | Bold | Code | Mention, Field(discriminator="kind")]


class Line(_Node):
    """One line (paragraph) of inline parts; `indent` is a nesting level for console output."""

    kind: Literal["line"] = "line"
    parts: tuple[Inline, ...] = ()
    indent: int = 0


class Bullets(_Node):
    kind: Literal["bullets"] = "bullets"
    items: tuple[Line, ...] = ()


class Table(_Node):
    kind: Literal["table"] = "table"
    header: tuple[str, ...]
    rows: tuple[tuple[Line, ...], ...] = ()


Block = Annotated[Line | Bullets | Table, Field(discriminator="kind")]


class Attachment(_Node):
    """A file sent with the reply (the weekly chart PNG, a CSV export)."""

    # The outbox stores replies as JSON: bytes travel as base64, not as (invalid) UTF-8.
    model_config = ConfigDict(frozen=True, ser_json_bytes="base64", val_json_bytes="base64")

    filename: str
    content_type: str
    data: bytes
    alt: str = ""


class ChoiceOption(_Node):
    key: str  # what `vote` accepts: "yes" or an option letter "A"
    label: str  # what a member sees: "yes" or "Lakehouse"


class Choices(_Node):
    """The voting controls of an open decision (Discord buttons, a Matrix native poll).

    `method` is the decision method (majority, supermajority, consent, single, approval,
    ranked, score); platforms that cannot show a control fall back to the text command."""

    coop_id: int
    decision_number: int
    decision_kind: DecisionKind
    method: ProposalMethod | PollMethod
    question: str
    options: tuple[ChoiceOption, ...]
    secret: bool = False
    closed: bool = False
    # How to vote by text, prefix removed, in the decision method's own form (`vote 7
    # yes|no|abstain`, `vote 3 C>A>B`): what a platform shows where a control cannot go.
    vote_command: str | None = None
    # How to read the decision in full, prefix removed (`show 7`): where a live card cuts
    # a long body, its "read more" points there.
    show_command: str | None = None


ReplyKind = Literal["info", "error", "announcement"]


class Reply(_Node):
    """One message from the bot. `subject` names what the message is about (e.g.
    "decision:3:7" for co-op 3, decision #7), so an adapter can edit an earlier message about
    the same thing.

    Who may read it (every adapter honours both fields, on every path a reply can take):
    - `ephemeral` is a courtesy: show it only to the actor where the platform can do that in
      place (a Discord ephemeral answer); elsewhere it goes to the room. For errors and
      confirmations that are no secret.
    - `private_to` is a promise: the identity ("matrix:@bob:example.org") that alone may read
      it. Where the platform can show it privately in place, it does; otherwise the adapter
      sends it in a direct conversation with that person and tells the room only that it was
      sent privately (`sent_privately`); where it can do neither, it never sends it."""

    kind: ReplyKind = "info"
    blocks: tuple[Block, ...] = ()
    attachments: tuple[Attachment, ...] = ()
    choices: Choices | None = None
    ephemeral: bool = False
    private_to: str | None = None
    subject: str | None = None
    # What the outbox stores in place of this reply, when the reply holds what must never
    # be stored (a secret vote's choice, shown only to its voter). Never serialised itself:
    # a reply loaded from the outbox is the stored one.
    stored_as: Reply | None = Field(default=None, exclude=True)

    def storable(self) -> Reply:
        """The reply as the outbox may store it."""
        return self.stored_as if self.stored_as is not None else self

    @property
    def private(self) -> bool:
        return self.private_to is not None

    @property
    def recipient(self) -> IdentityRef | None:
        """Who alone may read a private reply, typed (None: not private, or unreadable)."""
        return IdentityRef.parse(self.private_to)

    def plain_lines(self) -> list[str]:
        """The reply as plain lines without any escaping (for logs and tests)."""
        out: list[str] = []
        for block in self.blocks:
            if isinstance(block, Line):
                out.append(_plain_line(block))
            elif isinstance(block, Bullets):
                out.extend("- " + _plain_line(item) for item in block.items)
            else:
                out.append(" | ".join(block.header))
                out.extend(" | ".join(_plain_line(c) for c in row) for row in block.rows)
        return out


def _plain_line(line: Line) -> str:
    return "".join(
        f"@{part.display}"
        if isinstance(part, Mention)
        else part.written("!")
        if isinstance(part, Code)
        else part.text
        for part in line.parts
    )


def line(*parts: str | Text | Bold | Code | Mention, indent: int = 0) -> Line:
    """Build a Line; bare strings become Text."""
    return Line(
        parts=tuple(Text(text=p) if isinstance(p, str) else p for p in parts), indent=indent
    )


def command(text: str) -> Code:
    """A command example without its prefix, e.g. command("vote 7 yes")."""
    return Code(text=text, command=True)


def error(message: str, hint: str | None = None) -> Reply:
    """A one- or two-line error reply, shown only to the actor where possible."""
    blocks = [line(message)]
    if hint:
        blocks.append(line(hint))
    return Reply(kind="error", blocks=tuple(blocks), ephemeral=True)


def private(identity: str, *blocks: Block) -> Reply:
    """A reply only `identity` (the actor, as "platform:user") may read: one-time codes."""
    return Reply(blocks=blocks, ephemeral=True, private_to=identity)


def sent_privately() -> Reply:
    """What the room is told instead of a private reply the platform cannot show in place."""
    return Reply(blocks=(line("Sent to you privately, in a direct message"),))
