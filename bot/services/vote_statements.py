"""The statement that stores a vote (an upsert returning the turnout with it; on PostgreSQL
its audit row too), built once per dialect and decision kind by the object that owns it."""

from __future__ import annotations

import typing

from sqlalchemy import (
    ColumnElement,
    Executable,
    Table,
    Text,
    bindparam,
    case,
    func,
    insert,
    literal_column,
    select,
)

from bot.db import upsert
from bot.db.models import AuditEvent, Vote
from bot.domain import proposals
from bot.domain.vocabulary import DecisionKind


def _readable_vote(kind: str) -> ColumnElement[bool]:
    """A vote row `_readable` counts: a proposal's known choice, a poll's ballot."""
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


def store_vote_statement(dialect: str, kind: str) -> Executable:
    """The vote upsert returning (changes, the other members' readable votes); on
    PostgreSQL with the vote's audit row written by the same statement (a data-modifying
    CTE), returning a third column: 1, the audit rows written."""
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
    # The other members' readable votes, as `turnout` counts them: every readable vote on
    # the decision, read from the (decision_id, choice) index alone, less the voter's own
    # (one row by the unique index). `member_id != …` in the count would fetch each vote's
    # row to read its member: 4,900 row reads per vote on a 10,000-member co-op.
    readable = _readable_vote(kind)
    on_decision = Vote.decision_id == bindparam("decision_id")
    every = select(func.count()).select_from(Vote).where(on_decision, readable)
    # Read by (decision_id, member_id) only, so that the plan takes the unique index.
    own = select(case((readable, 1), else_=0)).where(
        on_decision, Vote.member_id == bindparam("member_id")
    )
    others = every.scalar_subquery() - func.coalesce(own.scalar_subquery(), 0)
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
        return stored.returning(votes.c.changes, others)
    vote = stored.returning(votes.c.changes).cte("vote")
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
    return select(vote.c.changes, others, audited).select_from(vote)
