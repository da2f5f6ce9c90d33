"""The common vote (a bound room, an active member eligible for an open proposal, a choice
its method takes) in few round trips, without the ORM; any other case is left to the full
path (`FastVote.vote` returns None before anything is written)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Executable, and_, bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from bot.clock import Clock
from bot.commands.args import VoteArgs
from bot.db.handled import handled_insert
from bot.db.models import (
    Coop,
    Decision,
    HandledMessage,
    Identity,
    Member,
    Membership,
    RoomBinding,
)
from bot.db.types import UTCDateTime
from bot.domain import proposals
from bot.domain.limits import NOTE_MAX, check_text
from bot.domain.vocabulary import DecisionKind, DecisionStatus
from bot.errors import UserError
from bot.invocation import Invocation
from bot.outgoing import Answer
from bot.render import decisions as render
from bot.render.document import Reply
from bot.services import decisions
from bot.services.ballots import Cast
from bot.services.context import AUDIT_INSERT
from bot.services.members import covers
from bot.services.outbox import store_answers
from bot.services.vote_statements import store_vote_statement

if TYPE_CHECKING:
    from bot.db.writer_thread import WriterThread

# What `FastVote.vote` found: the replies (or stored answers), or DUPLICATE.
DUPLICATE: list[Reply] = []


@dataclass(frozen=True)
class _Read:
    """The row `FastVote._read` returns."""

    coop_id: int
    actor_id: int
    decision_id: int
    method: str
    secret: bool
    quorum: str
    eligible_count: int


class FastVote:
    """Runs the common vote through plain Core statements, each built once for its dialect
    (no ORM but the stored answer's, no session per step). On SQLite the whole transaction
    is one call to the writer thread (bot.db.writer_thread): BEGIN IMMEDIATE, the dedupe
    insert, one read (co-op, member, decision, eligibility), the vote returning its
    turnout, the audit and the stored answer. On PostgreSQL the read with the dedupe insert
    as a data-modifying CTE (the decision locked), then the vote with its audit and the
    decision's count of readable votes updated (the turnout): two statements, as the full
    path."""

    def __init__(
        self, engine: AsyncEngine, clock: Clock, owner: str, writer: WriterThread | None
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._owner = owner
        self._writer = writer
        dialect = engine.dialect.name
        self._read_statement = _read_statement(postgres=dialect == "postgresql")
        self._handled = handled_insert(dialect)
        self._store = store_vote_statement(dialect, DecisionKind.PROPOSAL)
        self._audit = AUDIT_INSERT  # the audit row a vote writes on the full path too

    @classmethod
    def on(
        cls, engine: AsyncEngine, clock: Clock, owner: str, writer: WriterThread | None
    ) -> FastVote | None:
        """The fast vote on `engine`; None on SQLite without a writer thread (an in-memory
        database): every vote takes the full path there."""
        if engine.dialect.name == "sqlite" and writer is None:
            return None
        return cls(engine, clock, owner, writer)

    async def vote(
        self, inv: Invocation, args: VoteArgs, prefix: str, *, store: bool
    ) -> list[Reply] | list[Answer] | None:
        """The replies to the vote `inv` (DUPLICATE: its message was handled before), or
        None when it is not the common case: nothing was kept then (rolled back)."""
        now = self._clock.now()
        params: dict[str, Any] = {
            "platform": inv.room.platform,
            "room_id": inv.room.room_id,
            "message_id": inv.message_id,
            "handled_at": now,
            "identity": inv.actor.identity,
            "number": args.id,
            "now": now,
        }
        if self._writer is not None:
            vote = functools.partial(self._vote_sqlite, inv, args, prefix, params, store)
            return await self._writer.run(vote)
        async with self._engine.connect() as conn, conn.begin() as transaction:
            found = _found((await conn.execute(self._read_statement, params)).first())
            if found is DUPLICATE:
                return DUPLICATE
            cast_ = _cast(found, args, prefix) if isinstance(found, _Read) else None
            if not isinstance(found, _Read) or cast_ is None:
                await transaction.rollback()  # the dedupe insert too: the full path runs
                return None
            values, audit = _rows(inv, found, cast_, args.reason or "", now, args.id)
            values.update({f"audit_{name}": value for name, value in audit.items()})
            # The turnout is the decision's count of readable votes as the statement
            # updated it (the decision row locked by the read).
            changes, counted, audited = (await conn.execute(self._store, values)).one()
            assert audited == 1
            reply = _reply(inv, found, args.id, cast_, bool(changes), int(counted))
            if not store:
                return [reply]
            return [await conn.run_sync(self._answer, inv, found, reply)]

    def _vote_sqlite(
        self,
        inv: Invocation,
        args: VoteArgs,
        prefix: str,
        params: dict[str, Any],
        store: bool,
        conn: Connection,
    ) -> list[Reply] | list[Answer] | None:
        """`vote` on SQLite, in the writer thread's transaction on `conn`."""
        if conn.execute(self._handled, params).rowcount != 1:
            return DUPLICATE
        found = _found(conn.execute(self._read_statement, params).first(), sqlite=True)
        cast_ = _cast(found, args, prefix) if isinstance(found, _Read) else None
        if not isinstance(found, _Read) or cast_ is None:
            conn.rollback()  # the dedupe insert too: the full path runs
            return None
        values, audit = _rows(inv, found, cast_, args.reason or "", params["now"], args.id)
        changes, counted = conn.execute(self._store, values).one()
        audit["action"] = "vote.change" if changes else "vote.cast"
        conn.execute(self._audit, audit)
        reply = _reply(inv, found, args.id, cast_, bool(changes), int(counted) + 1)
        if not store:
            return [reply]
        return [self._answer(conn, inv, found, reply)]

    def _answer(self, conn: Connection, inv: Invocation, found: _Read, reply: Reply) -> Answer:
        """`reply` stored in the vote's transaction on `conn`, leased by this process (as
        `outbox.acknowledge` stores a command's answers)."""
        stored = store_answers(
            Session(bind=conn),
            self._clock,
            found.coop_id,
            inv.room,
            inv.actor.user_id,
            inv.message_id,
            [reply],
            self._owner,
        )
        return Answer(reply, stored[0])


def _found(row: Sequence[Any] | None, *, sqlite: bool = False) -> _Read | list[Reply] | None:
    """The vote's co-op, member and decision from the read's `row` when it is the common
    case; DUPLICATE (PostgreSQL, whose read holds the dedupe insert); else None."""
    if row is None:
        return None
    if not sqlite and not row[9]:
        return DUPLICATE
    if not row[7] or row[8] is None:
        return None  # not an open proposal before its deadline, or not eligible
    return _Read(
        coop_id=row[0],
        actor_id=row[1],
        decision_id=row[2],
        method=str(row[3]),
        secret=bool(row[4]),
        quorum=row[5],
        eligible_count=row[6],
    )


def _rows(
    inv: Invocation, found: _Read, cast_: Cast, reason: str, now: datetime, number: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The vote's values and its audit row's (as decisions.cast_vote writes them; the
    audit's action is the vote statement's to say: a cast or a change)."""
    assert cast_.choice is not None
    # The audit log never holds a secret choice (SPEC §4): it outlives the sealing.
    detail = {} if found.secret else {"choice": cast_.letters()}
    values: dict[str, Any] = {
        "decision_id": found.decision_id,
        "member_id": found.actor_id,
        "choice": str(cast_.choice),
        "ballot": None,
        "reason": reason,
        "cast_at": now,
        "readable": 1,  # a proposal's known choice (PostgreSQL: the decision's count)
    }
    audit: dict[str, Any] = {
        "coop_id": found.coop_id,
        "at": now,
        "actor_id": found.actor_id,
        "actor_identity": inv.actor.identity,
        "message_id": inv.message_id,
        "subject": f"decision:{number}",
        "detail": detail,
    }
    return values, audit


def _reply(
    inv: Invocation, found: _Read, number: int, cast_: Cast, changed: bool, voted: int
) -> Reply:
    """The vote's acknowledgement, as the vote handler renders it."""
    decision = Decision(
        id=found.decision_id,
        coop_id=found.coop_id,
        number=number,
        kind=DecisionKind.PROPOSAL,
        method=proposals.ProposalMethod(found.method),
        secret=found.secret,
        quorum=found.quorum,
        eligible_count=found.eligible_count,
    )
    turnout = decisions.turnout_of(decision, voted)
    # A secret choice is shown only where the room can't see the reply.
    shown = not found.secret or inv.answered_privately
    return render.vote_recorded(decision, cast_, changed, turnout, shown=shown)


def _cast(found: _Read, args: VoteArgs, prefix: str) -> Cast | None:
    """What the member cast, or None when the full path must answer (it refuses)."""
    try:
        reason = check_text("reason", args.reason, NOTE_MAX) if args.reason else ""
        choice = proposals.parse_proposal_choice(
            proposals.ProposalMethod(found.method), args.choice, args.id, prefix=prefix
        )
    except UserError:
        return None
    if choice is proposals.ProposalChoice.BLOCK and not reason:
        return None
    if reason != (args.reason or ""):
        return None
    return Cast(choice=choice)


def _read_statement(*, postgres: bool) -> Executable:
    """From the room's binding to its co-op, the active member :identity is in it, and
    decision #:number: (co-op, member, decision, its method, secret, quorum and eligible
    count, whether it is an open proposal before its deadline, the voter's stretch
    covering its opening). On PostgreSQL the decision is locked for the vote and the
    dedupe insert is a data-modifying CTE: a tenth column, 1 when the message is new."""
    open_proposal = and_(
        Decision.kind == DecisionKind.PROPOSAL,
        Decision.status == DecisionStatus.OPEN,
        Decision.closes_at > bindparam("now", type_=UTCDateTime()),
    )
    columns: list[Any] = [
        Coop.id,
        Member.id,
        Decision.id,
        Decision.method,
        Decision.secret,
        Decision.quorum,
        Decision.eligible_count,
        open_proposal,
        Membership.id,
    ]
    if postgres:
        handled = handled_insert("postgresql").returning(HandledMessage.message_id)
        fresh = handled.cte("handled")
        columns.append(select(func.count()).select_from(fresh).scalar_subquery())
    statement = (
        select(*columns)
        .select_from(RoomBinding)
        .join(Coop, Coop.id == RoomBinding.coop_id)
        .join(
            Identity,
            (Identity.coop_id == Coop.id) & (Identity.identity == bindparam("identity")),
        )
        .join(Member, (Member.id == Identity.member_id) & Member.active)
        .join(Decision, (Decision.coop_id == Coop.id) & (Decision.number == bindparam("number")))
        .outerjoin(Membership, (Membership.member_id == Member.id) & covers(Decision.opened_seq))
        .where(
            RoomBinding.platform == bindparam("platform"),
            RoomBinding.room_id == bindparam("room_id"),
        )
        .limit(1)
    )
    return statement.with_for_update(of=Decision) if postgres else statement
