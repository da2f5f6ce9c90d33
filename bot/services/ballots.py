"""What members cast, as stored: vote rows while a decision is open; for a closed secret
decision, who took part and the anonymous ballots, with the link between them dropped."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, delete, func, select

from bot.db.models import Decision, Participation, SealedBallot, Vote
from bot.domain import polls, proposals
from bot.domain.vocabulary import FINISHED, DecisionKind
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
    if decision.kind == DecisionKind.PROPOSAL:
        return _read(None, 0, choice, ballot)
    return _read(polls.PollMethod(decision.method), len(decision.options), choice, ballot)


def _read(
    method: polls.PollMethod | None, n_options: int, choice: str | None, ballot: object
) -> Cast:
    """`read` for a proposal (`method` None) or a poll of `n_options` by `method`."""
    try:
        if method is None:
            if choice is not None:
                return Cast(choice=proposals.ProposalChoice(choice))
        elif ballot is not None:
            return Cast(ballot=polls.stored_ballot(method, n_options, ballot))
    except ValueError:
        pass
    return Cast(legacy=choice if choice is not None else json.dumps(ballot))


def sealed(decision: Decision) -> bool:
    """Whether the decision's ballots are sealed: a secret decision that closed or was
    withdrawn (sealing happens in the transaction that ends it)."""
    return decision.secret and decision.status in FINISHED


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


async def choice_counts(ctx: Context, decision: Decision) -> dict[str | None, int]:
    """How many current votes have each stored `choice`, counted in SQL (one statement, no
    row loaded). A poll's readable ballots are under None (a row holds a choice or a ballot,
    never both); any other key of a poll is a vote kept unreadable by revision 0004."""
    table = SealedBallot if sealed(decision) else Vote
    rows = await ctx.session.execute(
        select(table.choice, func.count())
        .where(table.decision_id == decision.id)
        .group_by(table.choice)
    )
    return {choice: int(n) for choice, n in rows.tuples().all()}


async def grouped(ctx: Context, decision: Decision) -> list[tuple[Cast, int]]:
    """The current votes as cast, each distinct one once with how many cast it: grouped in
    SQL by the stored text, so Python reads each distinct ballot once. Two texts of the same
    ballot are two groups of the same Cast, which counts the same."""
    if decision.kind == DecisionKind.PROPOSAL:
        return [
            (read(decision, choice, None), n)
            for choice, n in (await choice_counts(ctx, decision)).items()
        ]
    table = SealedBallot if sealed(decision) else Vote
    text = cast(table.ballot, Text)
    rows = await ctx.session.execute(
        select(table.choice, text, func.count())
        .where(table.decision_id == decision.id)
        .group_by(table.choice, text)
    )
    method, n_options = polls.PollMethod(decision.method), len(decision.options)
    found: list[tuple[Cast, int]] = []
    for choice, stored_text, n in rows.tuples().all():
        try:
            ballot = None if stored_text is None else json.loads(stored_text)
        except ValueError:
            ballot = stored_text
        found.append((_read(method, n_options, choice, ballot), int(n)))
    return found


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
