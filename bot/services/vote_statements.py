"""The statement that stores a vote: an upsert returning the turnout with it; on PostgreSQL
with the decision's count of readable votes (`decisions.votes_cast`) and its audit row in
the same statement (SQLite's count is kept by triggers). Built once per dialect and
decision kind by the object that owns it."""

from __future__ import annotations

import typing

from sqlalchemy import (
    ColumnElement,
    Executable,
    Integer,
    Table,
    Text,
    Update,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    select,
    update,
)

from bot.db import upsert
from bot.db.models import AuditEvent, Decision, Vote
from bot.domain import proposals
from bot.domain.vocabulary import DecisionKind


def readable_vote(kind: str) -> ColumnElement[bool]:
    """A vote row the turnout counts (and `decisions.votes_cast` keeps counted): a
    proposal's known choice, a poll's ballot."""
    if kind == DecisionKind.PROPOSAL:
        # The choices as literals in the statement's text: a bound list is an "expanding"
        # parameter, whose SQL SQLAlchemy renders again at every execution.
        known = [literal_column(f"'{choice}'", Text()) for choice in proposals.ProposalChoice]
        return Vote.choice.in_(known)
    return Vote.choice.is_(None)


class VoteStatements:
    """`_store_vote`'s statement by (dialect, decision kind), each built once by its owner
    (the dispatcher, through `Context.vote_statements`); values bound per vote."""

    def __init__(self) -> None:
        self._built: dict[tuple[str, str], Executable] = {}

    def store_vote(self, dialect: str, kind: str) -> Executable:
        key = (dialect, kind)
        statement = self._built.get(key)
        if statement is None:
            statement = self._built[key] = store_vote_statement(dialect, kind)
        return statement


AUDIT_COLUMNS = (
    "coop_id",
    "at",
    "actor_id",
    "actor_identity",
    "message_id",
    "action",
    "subject",
    "detail",
)


def _own_readable(kind: str) -> ColumnElement[int]:
    """1 if the voter's stored vote on the decision is readable, else 0 (0 without one):
    read by (decision_id, member_id) only, so that the plan takes the unique index."""
    own = select(case((readable_vote(kind), 1), else_=0)).where(
        Vote.decision_id == bindparam("decision_id"), Vote.member_id == bindparam("member_id")
    )
    return func.coalesce(own.scalar_subquery(), 0)


def _counted(kind: str) -> Update:
    """PostgreSQL: the decision's `votes_cast` with this vote (bound `readable`: 1 if what is
    cast is a readable vote, else 0) in place of the voter's stored one, updated and
    returned; a CTE of the vote's statement, whose snapshot (read after the decision's row
    lock, taken by the vote's read) holds the voter's row as it was before the upsert. The
    update itself waits for the row lock too and adds to the latest committed count, so the
    value is exact: every vote committed before, and this one. (SQLite keeps the count by
    the triggers of revision 0010.)"""
    decisions = typing.cast(Table, Decision.__table__)
    return (
        update(decisions)
        .where(decisions.c.id == bindparam("decision_id"))
        .values(
            votes_cast=decisions.c.votes_cast
            + bindparam("readable", type_=Integer())
            - _own_readable(kind)
        )
        .returning(decisions.c.votes_cast)
    )


def store_vote_statement(dialect: str, kind: str) -> Executable:
    """The vote upsert. On SQLite returning (changes, the other members' readable votes);
    the decision's `votes_cast` is kept by revision 0010's triggers. On PostgreSQL with the
    decision's count (`_counted`) and the vote's audit row written by the same statement
    (data-modifying CTEs), returning (changes, the decision's `votes_cast` with this vote:
    the turnout, 1: the audit rows written); bound `readable` and the `audit_…` values."""
    # The tables, not the mapped classes: plain statements the session runs as they are.
    votes = Vote.__table__
    statement = upsert.insert(dialect, votes).values(
        decision_id=bindparam("decision_id"),
        member_id=bindparam("member_id"),
        choice=bindparam("choice", type_=Vote.choice.type),
        ballot=bindparam("ballot", type_=Vote.ballot.type),
        reason=bindparam("reason", type_=Vote.reason.type),
        cast_at=bindparam("cast_at", type_=Vote.cast_at.type),
        changes=0,
    )
    stored = statement.on_conflict_do_update(
        index_elements=["decision_id", "member_id"],
        set_={
            "choice": statement.excluded.choice,
            "ballot": statement.excluded.ballot,
            "reason": statement.excluded.reason,
            "cast_at": statement.excluded.cast_at,
            "changes": votes.c.changes + 1,
        },
    )
    if dialect != "postgresql":
        # The other members' readable votes, as `turnout` counts them: every readable vote
        # on the decision, read from the (decision_id, choice) index alone, less the
        # voter's own. `member_id != …` in the count would fetch each vote's row to read
        # its member: 4,900 row reads per vote on a 10,000-member co-op.
        every = (
            select(func.count())
            .select_from(Vote)
            .where(Vote.decision_id == bindparam("decision_id"), readable_vote(kind))
        )
        return stored.returning(votes.c.changes, every.scalar_subquery() - _own_readable(kind))
    vote = stored.returning(votes.c.changes).cte("vote")
    counted = _counted(kind).cte("counted")
    audit_table = typing.cast(Table, AuditEvent.__table__)
    audit_values = [
        case((vote.c.changes > 0, "vote.change"), else_="vote.cast")
        if name == "action"
        else bindparam(f"audit_{name}", type_=audit_table.c[name].type)
        for name in AUDIT_COLUMNS
    ]
    audit = (
        insert(audit_table)
        .from_select(list(AUDIT_COLUMNS), select(*audit_values).select_from(vote))
        .returning(audit_table.c.id)
        .cte("audit")
    )
    audited = select(func.count()).select_from(audit).scalar_subquery()
    # Each a scalar subquery of a one-row CTE (the vote's CTE first in the statement's text).
    changes = select(vote.c.changes).scalar_subquery()
    turnout = select(counted.c.votes_cast).scalar_subquery()
    return select(changes, turnout, audited)
