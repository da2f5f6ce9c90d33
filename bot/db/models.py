"""SQLAlchemy 2.x declarative models: every table of the bot, each row owned by one co-op."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bot.db.types import MethodColumn, StrEnumColumn, UTCDateTime
from bot.domain.polls import PollMethod
from bot.domain.proposals import ProposalMethod
from bot.domain.vocabulary import DecisionKind, DecisionStatus, Role, TaskStatus

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
    }


class Coop(Base):
    __tablename__ = "coops"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    # Overrides of the configured defaults (timezone, quorum, summary_cron, …).
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    next_decision_number: Mapped[int] = mapped_column(default=1)
    next_task_number: Mapped[int] = mapped_column(default=1)
    next_summary_at: Mapped[datetime | None]
    # The co-op's membership clock: every join, leave and opening of a vote takes the next
    # value (under the co-op's row lock), so "a member when voting opened" is a comparison
    # of these numbers, exact even when they happen in the same instant.
    membership_seq: Mapped[int] = mapped_column(BigInteger, server_default="0")


class RoomBinding(Base):
    __tablename__ = "room_bindings"
    __table_args__ = (UniqueConstraint("platform", "room_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    room_id: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]
    # What the platform's roles may do to the registry through this binding (`coop sync`):
    # "off", "members" (role holders join and leave) or "stewards" (and the steward role
    # makes stewards). Only a steward changes it.
    role_sync: Mapped[str] = mapped_column(String(10), default="off", server_default="off")


class OneTimeCode(Base):
    """A code for `coop bind` (kind "bind") or `member link` (kind "link"), stored as a
    hash only: whoever reads the database cannot redeem it."""

    __tablename__ = "one_time_codes"
    __table_args__ = (Index("ix_one_time_codes_coop_expires", "coop_id", "expires_at"),)

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"))
    kind: Mapped[str] = mapped_column(String(10))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class CodeAttempts(Base):
    """Wrong codes counted per scope ("identity:<identity>", "coop:<id>", "room:<key>"), so
    that guessing slows down; the failed attempts themselves are in the audit log."""

    __tablename__ = "code_attempts"

    scope: Mapped[str] = mapped_column(String(320), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (Index("ix_members_coop_active_name", "coop_id", "active", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(StrEnumColumn(Role, 10))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]

    identities: Mapped[list[Identity]] = relationship(
        back_populates="member", lazy="selectin", order_by="Identity.id"
    )


class Identity(Base):
    """A platform identity ("discord:123", "matrix:@a:b", "console:bob") of one member."""

    __tablename__ = "identities"
    __table_args__ = (UniqueConstraint("coop_id", "identity"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    identity: Mapped[str] = mapped_column(String(300))
    # The binding whose role sync admitted this identity; only that binding's sync may
    # change or remove it. None: a person admitted it (setup, `member add`, a link).
    source_binding_id: Mapped[int | None] = mapped_column(
        ForeignKey("room_bindings.id"), index=True
    )

    member: Mapped[Member] = relationship(back_populates="identities")

    @property
    def platform(self) -> str:
        return self.identity.split(":", 1)[0]

    @property
    def user_id(self) -> str:
        return self.identity.split(":", 1)[1]


class Decision(Base):
    """A proposal or a poll; numbered per co-op together."""

    __tablename__ = "decisions"
    __table_args__ = (
        UniqueConstraint("coop_id", "number"),
        Index("ix_decisions_due", "status", "closes_at"),
        Index("ix_decisions_coop_status_closed", "coop_id", "status", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"))
    number: Mapped[int]
    kind: Mapped[DecisionKind] = mapped_column(StrEnumColumn(DecisionKind, 10))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    method: Mapped[ProposalMethod | PollMethod] = mapped_column(MethodColumn(20))
    threshold: Mapped[str | None] = mapped_column(String(20))  # exact fraction "2/3"
    quorum: Mapped[str] = mapped_column(String(20))  # exact fraction of eligible "1/2"
    rule_class: Mapped[str | None] = mapped_column(String(50))
    secret: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[DecisionStatus] = mapped_column(StrEnumColumn(DecisionStatus, 12))
    outcome: Mapped[str | None] = mapped_column(String(200))
    result: Mapped[dict[str, Any] | None]
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]
    opens_at: Mapped[datetime]
    closes_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    eligible_count: Mapped[int] = mapped_column(default=0)
    # The readable votes cast (its sealed ballots once sealed): what `turnout` counts, kept
    # in the transaction that writes votes: on PostgreSQL by the vote's statement
    # (bot/services/vote_statements), on SQLite by triggers on votes and sealed_ballots
    # (revision 0010: a table rebuilt on SQLite needs them created again).
    votes_cast: Mapped[int] = mapped_column(default=0, server_default="0")
    # The co-op's membership_seq when voting opened: the eligible are the members whose
    # membership (a Membership row) covered it.
    opened_seq: Mapped[int | None] = mapped_column(BigInteger)
    reminded_at: Mapped[datetime | None]
    # A steward may set a vote below the co-op's defaults (a lower quorum, a shorter voting
    # time); the card then says who and why. `lowered` lists what was set below what, as it
    # read then: [["quorum", "0%", "50%"], ["voting time", "10 s", "1 h"]].
    lowered_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    lowered_reason: Mapped[str | None] = mapped_column(String(500))
    lowered: Mapped[list[list[str]] | None] = mapped_column(JSON)

    options: Mapped[list[DecisionOption]] = relationship(
        lazy="selectin", order_by="DecisionOption.position"
    )


class DecisionOption(Base):
    __tablename__ = "decision_options"
    __table_args__ = (UniqueConstraint("decision_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    position: Mapped[int]
    label: Mapped[str] = mapped_column(String(200))


class Membership(Base):
    """One stretch of a member's membership, on the co-op's membership clock: from
    `joined_seq` until `left_seq` (None: still a member). A member removed and restored has
    two. The eligible of a decision are the members with a stretch covering its opened_seq
    (SPEC §4), so eligibility costs one row per join, not one per member per decision."""

    __tablename__ = "memberships"
    __table_args__ = (
        Index("ix_memberships_coop_joined", "coop_id", "joined_seq", "left_seq", "member_id"),
        Index("ix_memberships_member_joined", "member_id", "joined_seq"),
        # The stretches ended after a moment (the members who left since a vote opened).
        Index("ix_memberships_coop_left", "coop_id", "left_seq"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    joined_seq: Mapped[int] = mapped_column(BigInteger)
    left_seq: Mapped[int | None] = mapped_column(BigInteger)


# A vote holds exactly one of: a proposal's choice (`yes`, `no`, `abstain`, `block`) or a
# poll's ballot as option positions (polls.Ballot.stored). A poll row whose text, stored
# before revision 0004, could not be read keeps that text in `choice` and no ballot.
_ONE_CHOICE = "(choice IS NULL) <> (ballot IS NULL)"


class Vote(Base):
    """A member's current vote on a decision; changing a vote updates this row. The rows of
    a secret decision are deleted when it closes (see SealedBallot and Participation)."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("decision_id", "member_id"),
        CheckConstraint(_ONE_CHOICE, name="one_choice"),
        # Counting a decision's votes by choice reads this index alone (no vote row).
        Index("ix_votes_decision_choice", "decision_id", "choice"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    choice: Mapped[str | None] = mapped_column(String(500))
    # none_as_null: a missing ballot is SQL NULL (for the check), not the JSON value null.
    ballot: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))
    reason: Mapped[str] = mapped_column(Text, default="")
    cast_at: Mapped[datetime]
    changes: Mapped[int] = mapped_column(default=0)


class SealedBallot(Base):
    """One anonymous choice of a closed (or withdrawn) secret decision: no voter, no time,
    no id that follows the order of voting. `position` numbers a decision's sealed ballots
    in the order of their content, and they are written in that order."""

    __tablename__ = "sealed_ballots"
    __table_args__ = (CheckConstraint(_ONE_CHOICE, name="one_choice"),)

    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), primary_key=True)
    position: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    choice: Mapped[str | None] = mapped_column(String(500))
    ballot: Mapped[list[Any] | None] = mapped_column(JSON(none_as_null=True))


class Participation(Base):
    """Who voted on a closed (or withdrawn) secret decision, and when they last voted;
    never how (SPEC §4)."""

    __tablename__ = "participations"

    decision_id: Mapped[int] = mapped_column(ForeignKey("decisions.id"), primary_key=True)
    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id"), primary_key=True, autoincrement=False
    )
    voted_at: Mapped[datetime]


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("coop_id", "number"),
        Index("ix_tasks_holder_status", "holder_id", "status"),
        Index("ix_tasks_coop_status_number", "coop_id", "status", "number"),
        Index("ix_tasks_coop_status_done", "coop_id", "status", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"))
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    points: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal(1))
    due_at: Mapped[datetime | None]
    from_decision: Mapped[int | None]  # the decision number it came from
    status: Mapped[TaskStatus] = mapped_column(StrEnumColumn(TaskStatus, 12))
    holder_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    claimed_at: Mapped[datetime | None]
    claim_reminded_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    created_by: Mapped[int] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]


class Contribution(Base):
    """One append-only ledger entry: hours logged, task points earned or kudos received."""

    __tablename__ = "contributions"
    __table_args__ = (
        # Covers a tally's scan of a period: the sums need no row lookups.
        Index("ix_contributions_coop_at", "coop_id", "created_at", "member_id", "kind", "amount"),
        Index("ix_contributions_coop_member_at", "coop_id", "member_id", "created_at"),
        Index("ix_contributions_giver_at", "giver_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    kind: Mapped[str] = mapped_column(String(10))  # hours | points | kudos
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    note: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(50))
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id"))
    giver_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime]


class ContributionMonth(Base):
    """The ledger summed per member and calendar month (UTC), in cents per kind: written in
    the transaction of every entry, so a tally over many months reads these rows and only
    the partial months at its ends from the ledger itself."""

    __tablename__ = "contribution_months"
    __table_args__ = (
        # A tally over many months reads its months' rows from this index alone.
        Index(
            "ix_contribution_months_covering",
            "coop_id",
            "month",
            "member_id",
            "hours_cents",
            "points_cents",
            "kudos_cents",
        ),
    )

    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"), primary_key=True)
    month: Mapped[int] = mapped_column(Integer, primary_key=True)  # 202611 for November 2026
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), primary_key=True)
    hours_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    points_cents: Mapped[int] = mapped_column(BigInteger, default=0)
    kudos_cents: Mapped[int] = mapped_column(BigInteger, default=0)


class SyncChange(Base):
    """A membership change role sync made through one binding, numbered per co-op so that a
    steward can undo it (`coop undo <number>`). An undone change is `held`: that binding's
    sync leaves the identity alone until the platform shows something else for it than it
    showed when the change was made (`platform_role`; None: the identity held no role)."""

    __tablename__ = "sync_changes"
    __table_args__ = (
        UniqueConstraint("coop_id", "number"),
        Index("ix_sync_changes_held", "binding_id", "held"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"))
    number: Mapped[int]
    binding_id: Mapped[int] = mapped_column(ForeignKey("room_bindings.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    identity: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(10))  # add | remove | role
    role_before: Mapped[Role | None] = mapped_column(StrEnumColumn(Role, 10))
    role_after: Mapped[Role | None] = mapped_column(StrEnumColumn(Role, 10))
    platform_role: Mapped[Role | None] = mapped_column(StrEnumColumn(Role, 10))
    at: Mapped[datetime]
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    held: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_coop_at", "coop_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"), index=True)
    at: Mapped[datetime]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    actor_identity: Mapped[str | None] = mapped_column(String(300))
    message_id: Mapped[str | None] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(100), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class OutboxMessage(Base):
    """An announcement, written in the transaction of the change it announces."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    coop_id: Mapped[int] = mapped_column(ForeignKey("coops.id"))
    created_at: Mapped[datetime]
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    document: Mapped[dict[str, Any]]


class OutboxDelivery(Base):
    """One outbox message to one room. An announcement goes to every bound room; the
    answer to a command that changed state (`reply_to` set) goes to the command's room
    and, when private, only to `recipient`."""

    __tablename__ = "outbox_deliveries"
    __table_args__ = (
        UniqueConstraint("outbox_id", "platform", "room_id"),
        Index("ix_outbox_pending", "platform", "delivered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    platform: Mapped[str] = mapped_column(String(20))
    room_id: Mapped[str] = mapped_column(String(255))
    delivered_at: Mapped[datetime | None]
    platform_message_id: Mapped[str | None] = mapped_column(String(255))
    # Sends so far (counted when leased, so a sender that dies mid-send counts too).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A sender leases a delivery before sending, so two bot processes never both send it;
    # the holder renews its short lease while it sends.
    leased_until: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    # Random per row: the Discord nonce and Matrix transaction id of every send of it,
    # so a resend after a crash is recognised by the platform.
    send_key: Mapped[str | None] = mapped_column(String(32))
    next_attempt_at: Mapped[datetime | None]  # back-off after a failed send
    dead_at: Mapped[datetime | None]  # given up: only a steward's retry sends it again
    last_error: Mapped[str | None] = mapped_column(String(300))
    recipient: Mapped[str | None] = mapped_column(String(255))  # platform user id
    reply_to: Mapped[str | None] = mapped_column(String(255))  # platform message id


class HandledMessage(Base):
    """Platform messages already handled: a redelivered message is not run twice. Pruned
    after `message_retention_days` (a platform redelivers within minutes, not weeks)."""

    __tablename__ = "handled_messages"
    __table_args__ = (Index("ix_handled_messages_handled_at", "handled_at"),)

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    handled_at: Mapped[datetime]


class PlatformMessage(Base):
    """Which platform message (embed, native poll) is about which subject."""

    __tablename__ = "platform_messages"
    __table_args__ = (Index("ix_platform_messages_subject", "platform", "subject"),)

    platform: Mapped[str] = mapped_column(String(20), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    room_id: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(100))
