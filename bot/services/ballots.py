"""What members cast, as stored: vote rows while a decision is open; for a closed secret
decision, who took part and the anonymous ballots, with the link between them dropped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select

from bot.db.models import Decision, Participation, SealedBallot, Vote
from bot.domain import polls, proposals
from bot.services.context import Context


@dataclass(frozen=True)
class Cast:
    """One current vote as it was cast: a proposal's `choice` or a poll's `ballot`. Neither
    is set for a row stored before revision 0004 that could not be read (`legacy` keeps its
    text): it counts for no option, and the count says so."""

    choice: proposals.ProposalChoice | None = None
    ballot: polls.Ballot | None = None
    legacy: str | None = None

    @property
    def readable(self) -> bool:
        return self.choice is not None or self.ballot is not None

    def letters(self) -> str:
        """What the member would type to cast it again: `yes`, `C>A>B`, `A=5,C=0`."""
        if self.choice is not None:
            return str(self.choice)
        if self.ballot is not None:
            return self.ballot.text()
        return self.legacy or ""


def stored(cast: Cast) -> tuple[str | None, list[Any] | None]:
    """The (choice, ballot) columns of a vote or sealed ballot holding `cast`."""
    if cast.choice is not None:
        return str(cast.choice), None
    if cast.ballot is not None:
        return None, cast.ballot.stored()
    return cast.legacy, None


def read(decision: Decision, choice: str | None, ballot: object) -> Cast:
    """A stored vote, read back from its structure (never by parsing what a member typed)."""
    try:
        if decision.kind == "proposal":
            if choice is not None:
                return Cast(choice=proposals.ProposalChoice(choice))
        elif ballot is not None:
            method = polls.PollMethod(decision.method)
            return Cast(ballot=polls.stored_ballot(method, len(decision.options), ballot))
    except ValueError:
        pass
    return Cast(legacy=choice if choice is not None else json.dumps(ballot))


def sealed(decision: Decision) -> bool:
    """Whether the decision's ballots are sealed: a secret decision that closed or was
    withdrawn (sealing happens in the transaction that ends it)."""
    return decision.secret and decision.status in ("closed", "withdrawn")


async def current(ctx: Context, decision: Decision) -> list[Cast]:
    """The decision's current votes (its sealed ballots, once sealed)."""
    if sealed(decision):
        rows = await ctx.session.execute(
            select(SealedBallot.choice, SealedBallot.ballot)
            .where(SealedBallot.decision_id == decision.id)
            .order_by(SealedBallot.position)
        )
    else:
        rows = await ctx.session.execute(
            select(Vote.choice, Vote.ballot)
            .where(Vote.decision_id == decision.id)
            .order_by(Vote.id)
        )
    return [read(decision, choice, ballot) for choice, ballot in rows.tuples().all()]


async def participants(ctx: Context, decision: Decision) -> Sequence[tuple[int, datetime]]:
    """(member id, when they last voted) of everyone who voted, by member id."""
    if sealed(decision):
        rows = await ctx.session.execute(
            select(Participation.member_id, Participation.voted_at)
            .where(Participation.decision_id == decision.id)
            .order_by(Participation.member_id)
        )
    else:
        rows = await ctx.session.execute(
            select(Vote.member_id, Vote.cast_at)
            .where(Vote.decision_id == decision.id)
            .order_by(Vote.member_id)
        )
    return rows.tuples().all()


def _content(row: tuple[str | None, list[Any] | None]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


async def seal(ctx: Context, decision: Decision) -> int:
    """Keep who took part and the anonymous ballots of a secret decision, and delete its
    vote rows (with their reasons, which could tell), in the caller's transaction: the one
    that records the result. Ballots are written in the order of their content and
    participants in the order of their member id, so neither order tells who cast what.
    Returns how many ballots were sealed."""
    votes = (
        await ctx.session.execute(
            select(Vote.member_id, Vote.cast_at, Vote.choice, Vote.ballot).where(
                Vote.decision_id == decision.id
            )
        )
    ).all()
    already = await ctx.session.scalar(
        select(func.count())
        .select_from(SealedBallot)
        .where(SealedBallot.decision_id == decision.id)
    )
    if already:
        raise RuntimeError(f"decision {decision.id} is sealed already")
    for member_id, voted_at in sorted((v.member_id, v.cast_at) for v in votes):
        ctx.session.add(
            Participation(decision_id=decision.id, member_id=member_id, voted_at=voted_at)
        )
    ballots = sorted(((v.choice, v.ballot) for v in votes), key=_content)
    # The unit of work inserts one table's new rows in the order they were added.
    ctx.session.add_all(
        SealedBallot(decision_id=decision.id, position=position, choice=choice, ballot=ballot)
        for position, (choice, ballot) in enumerate(ballots)
    )
    await ctx.session.flush()
    await ctx.session.execute(
        delete(Vote)
        .where(Vote.decision_id == decision.id)
        .execution_options(synchronize_session=False)
    )
    return len(ballots)
