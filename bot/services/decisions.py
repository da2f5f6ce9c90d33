"""Proposals and polls: creating, voting, counting, opening, closing, extending, withdrawing."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.orm import aliased, noload
from sqlalchemy.orm.attributes import set_committed_value

from bot import write_watch
from bot.db.models import (
    Coop,
    Decision,
    DecisionOption,
    Member,
    Membership,
    SealedBallot,
    Vote,
)
from bot.domain import polls, proposals
from bot.domain.limits import BODY_MAX, NOTE_MAX, REASON_MAX, TITLE_MAX, check_text
from bot.domain.timeparse import format_local, later, parse_duration, parse_when
from bot.domain.vocabulary import FINISHED, LIVE, DecisionKind, DecisionStatus, Role
from bot.errors import UserError
from bot.services import ballots
from bot.services.ballots import Cast
from bot.services.context import Context
from bot.services.members import covers, membership_tick
from bot.services.vote_statements import VoteStatements

DEFAULT_VOTING_TIME = timedelta(days=7)
MIN_VOTING_TIME = timedelta(seconds=10)
LIST_MAX = 50  # `list` shows the most recent decisions; `show <id>` reaches any of them


@dataclass(frozen=True)
class Turnout:
    """How many have voted and what quorum needs: all a vote's acknowledgement, a reminder
    and the weekly summary show, counted without reading any ballot."""

    eligible: int
    turnout: int
    needed: int

    @property
    def votes_to_quorum(self) -> int:
        return max(0, self.needed - self.turnout)


@dataclass(frozen=True)
class Count(Turnout):
    """A decision's count at one moment (or its final count once closed)."""

    proposal: proposals.ProposalCount | None = None
    poll: polls.PollResult | None = None
    no_quorum: bool = False
    unreadable: int = 0  # stored votes (from before revision 0004) that count for nothing


def rule_classes(ctx: Context) -> dict[str, proposals.RuleClass]:
    return {
        name: proposals.rule_class_from_config(name, rc.method, rc.threshold, rc.quorum)
        for name, rc in ctx.settings.rule_classes.items()
    }


async def next_number(ctx: Context, coop: Coop, column: str) -> int:
    """Allocate the next per-co-op number atomically (a row lock on PostgreSQL; SQLite
    transactions are serialised), so concurrent creations never share a number."""
    col = getattr(Coop, column)
    number = await ctx.session.scalar(
        update(Coop).where(Coop.id == coop.id).values({col: col + 1}).returning(col)
    )
    assert number is not None
    return int(number) - 1


def _schedule(ctx: Context, opens: str | None, closes: str | None) -> tuple[datetime, datetime]:
    now = ctx.clock.now()
    tz = ctx.config.timezone
    opens_at = now if opens is None else parse_when(opens, tz, now, date_means="start")
    if opens is not None and opens_at <= now:
        raise UserError(
            f"opens:{opens} is in the past",
            "give a later time, e.g. `opens:1d` or `opens:2026-12-01`",
        )
    if closes is None:
        # A co-op whose shortest voting time is longer than a week gets that by default.
        closes_at = opens_at + max(DEFAULT_VOTING_TIME, ctx.config.min_voting_time)
    else:
        # A duration for closes: counts from the opening, so `opens:1d closes:3d` votes 3 days.
        try:
            closes_at = opens_at + parse_duration(closes)
        except UserError:
            closes_at = parse_when(closes, tz, now, date_means="end")
    if closes_at <= now:
        raise UserError(
            f"closes:{closes} is in the past",
            "give a later time, e.g. `closes:3d` or `closes:2026-12-01`",
        )
    if closes_at - opens_at < MIN_VOTING_TIME:
        raise UserError(
            "closes: must come after opens: (at least 10 seconds of voting)",
            "for example `opens:1d closes:3d`",
        )
    return opens_at, closes_at


@dataclass(frozen=True)
class BelowDefaults:
    """What a steward set below the co-op's defaults, and why (stored for the card)."""

    by: Member
    reason: str
    below: list[proposals.BelowDefault]


def _below_defaults(
    author: Member, below: list[proposals.BelowDefault], reason: str | None
) -> BelowDefaults | None:
    """SPEC §4 "Who may set what": a member's options may only make the co-op's defaults
    stricter; a steward may go below them, saying why (`reason:`), and the card shows it."""
    if not below:
        if reason:
            raise UserError(
                "reason: explains a vote set below the co-op's defaults; this one isn't",
                "leave out reason: (put the reasoning in body: or in the room)",
            )
        return None
    if author.role != Role.STEWARD:
        raise below[0].refusal()
    if not reason:
        raise below[0].needs_reason()
    return BelowDefaults(author, check_text("reason", reason, REASON_MAX), below)


def _voting(closes: str | None, opens_at: datetime, closes_at: datetime) -> tuple[str, timedelta]:
    """The voting time a decision gets, with the option that set it (for the error)."""
    return (f"closes:{closes}" if closes else "closes:", closes_at - opens_at)


def _author(ctx: Context, opens: str | None) -> Member:
    """The member opening a decision; scheduling one for later (`opens:`) is for stewards."""
    author = ctx.require_actor()
    if opens is not None and author.role != Role.STEWARD:
        raise UserError(
            "Only stewards can schedule a vote with opens:", "leave out opens: to open it now"
        )
    return author


async def create_proposal(
    ctx: Context,
    title: str,
    body: str | None,
    method: str | None,
    rule_class: str | None,
    quorum: str | None,
    threshold: str | None,
    opens: str | None,
    closes: str | None,
    secret: bool,
    reason: str | None = None,
) -> Decision:
    coop = ctx.require_coop()
    author = _author(ctx, opens)
    title = check_text("title", title, TITLE_MAX)
    body_text = check_text("body", body, BODY_MAX) if body else ""
    classes = rule_classes(ctx)
    cls = None
    if rule_class is not None:
        cls = classes.get(rule_class)
        if cls is None:
            known = ", ".join(sorted(classes)) or "none are configured"
            raise UserError(f"there is no rule class `{rule_class}`", f"classes: {known}")
    quorum_value = proposals.parse_quorum(quorum) if quorum else None
    threshold_value = proposals.parse_threshold(threshold) if threshold else None
    rules = proposals.apply_rule_class(
        cls,
        proposals.parse_method(method) if method else None,
        threshold_value,
        quorum_value,
        default_quorum=ctx.config.quorum,
    )
    opens_at, closes_at = _schedule(ctx, opens, closes)
    # A rule class's own quorum and threshold are floors for everyone (apply_rule_class);
    # the co-op's quorum and shortest voting time are floors for members.
    class_quorum = cls is not None and cls.quorum is not None
    exception = _below_defaults(
        author,
        proposals.below_defaults(
            quorum=(
                None if quorum_value is None or class_quorum else (f"quorum:{quorum}", quorum_value)
            ),
            default_quorum=ctx.config.quorum,
            voting=_voting(closes, opens_at, closes_at),
            min_voting_time=ctx.config.min_voting_time,
        ),
        reason,
    )
    return await _create(
        ctx,
        coop,
        author,
        DecisionKind.PROPOSAL,
        title,
        body_text,
        str(rules.method),
        rules.threshold if rules.method is proposals.ProposalMethod.SUPERMAJORITY else None,
        rules.quorum,
        rules.rule_class,
        secret,
        opens_at,
        closes_at,
        [],
        exception,
    )


async def create_poll(
    ctx: Context,
    question: str,
    options: Sequence[str],
    method: str | None,
    quorum: str | None,
    opens: str | None,
    closes: str | None,
    secret: bool,
    reason: str | None = None,
) -> Decision:
    coop = ctx.require_coop()
    author = _author(ctx, opens)
    question = check_text("question", question, TITLE_MAX)
    poll_method = polls.parse_poll_method(method) if method else polls.PollMethod.SINGLE
    quorum_value = proposals.parse_quorum(quorum) if quorum else ctx.config.quorum
    opens_at, closes_at = _schedule(ctx, opens, closes)
    exception = _below_defaults(
        author,
        proposals.below_defaults(
            quorum=None if quorum is None else (f"quorum:{quorum}", quorum_value),
            default_quorum=ctx.config.quorum,
            voting=_voting(closes, opens_at, closes_at),
            min_voting_time=ctx.config.min_voting_time,
        ),
        reason,
    )
    return await _create(
        ctx,
        coop,
        author,
        DecisionKind.POLL,
        question,
        "",
        str(poll_method),
        None,
        quorum_value,
        None,
        secret,
        opens_at,
        closes_at,
        list(options),
        exception,
    )


async def _create(
    ctx: Context,
    coop: Coop,
    author: Member,
    kind: str,
    title: str,
    body: str,
    method: str,
    threshold: Fraction | None,
    quorum: Fraction,
    rule_class: str | None,
    secret: bool,
    opens_at: datetime,
    closes_at: datetime,
    options: list[str],
    exception: BelowDefaults | None = None,
) -> Decision:
    now = ctx.clock.now()
    decision = Decision(
        coop_id=coop.id,
        number=await next_number(ctx, coop, "next_decision_number"),
        kind=kind,
        title=title,
        body=body,
        method=method,
        # Stored as an exact fraction ("3/4", "33/50"): `count` reads it back with Fraction,
        # which can't read a percentage.
        threshold=str(threshold) if threshold is not None else None,
        quorum=str(quorum),
        rule_class=rule_class,
        secret=secret,
        status=DecisionStatus.SCHEDULED,
        author_id=author.id,
        created_at=now,
        opens_at=opens_at,
        closes_at=closes_at,
    )
    if exception is not None:
        decision.lowered_by_id = exception.by.id
        decision.lowered_reason = exception.reason
        decision.lowered = [[b.rule, b.given, b.default] for b in exception.below]
    ctx.session.add(decision)
    await ctx.session.flush()
    await write_watch.due_changed(ctx.session)
    for position, label in enumerate(options):
        ctx.session.add(DecisionOption(decision_id=decision.id, position=position, label=label))
    detail: dict[str, Any] = {"title": title, "method": method}
    if exception is not None:
        detail["below_defaults"] = decision.lowered
        detail["reason"] = exception.reason
    ctx.audit(f"{kind}.create", f"decision:{decision.number}", **detail)
    if opens_at <= now:
        await open_decision(ctx, decision)
    await ctx.session.flush()
    await ctx.session.refresh(decision, ["options"])
    return decision


async def open_decision(ctx: Context, decision: Decision) -> bool:
    """scheduled → open, fixing who is eligible: the members at this tick of the co-op's
    membership clock (SPEC §4). Returns False if it was not scheduled (already opened by
    another job or process)."""
    now = ctx.clock.now()
    seq = await membership_tick(ctx, decision.coop_id)
    changed = await ctx.session.execute(
        update(Decision)
        .where(Decision.id == decision.id, Decision.status == DecisionStatus.SCHEDULED)
        .values(status=DecisionStatus.OPEN, opened_at=now, opened_seq=seq)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return False
    await write_watch.due_changed(ctx.session)
    eligible = int(
        await ctx.session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.coop_id == decision.coop_id, covers(seq))
        )
        or 0
    )
    decision.status = DecisionStatus.OPEN
    decision.opened_at = now
    decision.opened_seq = seq
    decision.eligible_count = eligible
    ctx.audit("decision.open", f"decision:{decision.number}", eligible=eligible)
    return True


async def get_decision(ctx: Context, number: int, *, lock: bool = False) -> Decision:
    """Decision #`number` of this co-op. `lock` holds its row until the transaction ends
    (PostgreSQL; SQLite transactions are serialised anyway), so a vote and a close of the
    same decision never interleave: a vote lands before the count or is refused after it."""
    coop = ctx.require_coop()
    query = (
        select(Decision)
        .where(Decision.coop_id == coop.id, Decision.number == number)
        # A proposal has no options: they are read for a poll only (_load_options).
        .options(noload(Decision.options))
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    decision = await ctx.session.scalar(query)
    if decision is None:
        raise _no_decision(ctx, number)
    await _load_options(ctx, decision)
    return decision


async def _load_options(ctx: Context, decision: Decision) -> None:
    """A poll's options, read after a query that left them out (`noload`): loaded
    explicitly, as a refresh would apply that query's `noload` again."""
    if decision.kind != DecisionKind.POLL:
        return
    options = await ctx.session.scalars(
        select(DecisionOption)
        .where(DecisionOption.decision_id == decision.id)
        .order_by(DecisionOption.position)
    )
    set_committed_value(decision, "options", list(options))


def _no_decision(ctx: Context, number: int) -> UserError:
    coop = ctx.require_coop()
    return UserError(
        f"There is no decision #{number} in {coop.name}",
        f"see them with `{ctx.prefix}list all`",
    )


async def current_votes(ctx: Context, decision: Decision) -> list[Cast]:
    """The current votes as cast (a closed secret decision's sealed ballots)."""
    return await ballots.current(ctx, decision)


def count(decision: Decision, votes: Sequence[Cast]) -> Count:
    """Count current votes under the decision's method (SPEC §4), from what was cast.

    Eligibility is fixed when voting opened: a member removed since keeps the
    vote they cast, and `eligible` does not shrink, so removing someone can't change a
    running count or its quorum. Members admitted later are not in it at all."""
    return count_grouped(decision, [(vote, 1) for vote in votes])


def count_grouped(decision: Decision, groups: Sequence[tuple[Cast, int]]) -> Count:
    """`count` of the votes given once per distinct cast with how many cast it."""
    quorum = Fraction(decision.quorum)
    eligible = decision.eligible_count
    unreadable = sum(n for v, n in groups if not v.readable)
    if decision.kind == DecisionKind.PROPOSAL:
        method = proposals.ProposalMethod(decision.method)
        tally: dict[proposals.ProposalChoice, int] = {}
        for vote, n in groups:
            if vote.choice is not None:
                tally[vote.choice] = tally.get(vote.choice, 0) + n
        result = proposals.count_tally(
            method,
            Fraction(decision.threshold) if decision.threshold else proposals.DEFAULT_THRESHOLD,
            quorum,
            eligible,
            tally,
        )
        return Count(
            eligible,
            result.turnout,
            result.needed,
            proposal=result,
            no_quorum=result.outcome is proposals.Outcome.NO_QUORUM,
            unreadable=unreadable,
        )
    poll_method = polls.PollMethod(decision.method)
    cast = [(v.ballot, n) for v, n in groups if v.ballot is not None]
    result_poll = polls.count_weighted(poll_method, len(decision.options), cast)
    verdict = polls.quorum_verdict(quorum, eligible, result_poll.ballots)
    return Count(
        eligible,
        result_poll.ballots,
        verdict.needed,
        poll=result_poll,
        no_quorum=not verdict.met,
        unreadable=unreadable,
    )


async def tally(ctx: Context, decision: Decision) -> Count:
    """The decision's count now (its final count once closed), counted from its votes
    grouped in SQL: no vote row is loaded."""
    if decision.kind == DecisionKind.POLL and decision.method == polls.PollMethod.RANKED:
        counted = await _ranked_tally(ctx, decision)
        if counted is not None:
            return counted
    return count_grouped(decision, await ballots.grouped(ctx, decision))


async def _ranked_tally(ctx: Context, decision: Decision) -> Count | None:
    """`tally` of a ranked poll from one row: its distinct stored rankings, each with how
    many cast it, aggregated in SQL into one JSON array `[[ranking, n], …]` that Python
    decodes in one call; the runoff runs on (positions, count) pairs. None when a stored
    ballot is not JSON (a hand-edited row): the caller counts row by row then."""
    table = SealedBallot if ballots.sealed(decision) else Vote
    per_ballot = (
        select(cast(table.ballot, Text).label("ballot"), func.count().label("n"))
        .where(table.decision_id == decision.id, table.ballot.is_not(None))
        .group_by(cast(table.ballot, Text))
        .subquery()
    )
    pair = literal("[") + per_ballot.c.ballot + literal(",") + cast(per_ballot.c.n, Text) + "]"
    legacy = (
        select(func.count())
        .select_from(table)
        .where(table.decision_id == decision.id, table.ballot.is_(None))
        .scalar_subquery()
    )
    row = (
        await ctx.session.execute(
            select(func.aggregate_strings(pair, ","), legacy).select_from(per_ballot)
        )
    ).one()
    try:
        pairs = json.loads(f"[{row[0] or ''}]")
    except ValueError:
        return None
    result, unreadable = polls.count_ranked_stored(
        len(decision.options), ((data, n) for data, n in pairs)
    )
    unreadable += int(row[1] or 0)
    verdict = polls.quorum_verdict(
        Fraction(decision.quorum), decision.eligible_count, result.ballots
    )
    return Count(
        decision.eligible_count,
        result.ballots,
        verdict.needed,
        poll=result,
        no_quorum=not verdict.met,
        unreadable=unreadable,
    )


def turnout_of(decision: Decision, voted: int) -> Turnout:
    """The turnout of `decision` with `voted` readable votes, and what quorum needs."""
    eligible = decision.eligible_count
    return Turnout(eligible, voted, proposals.votes_needed(Fraction(decision.quorum), eligible))


def turnout(decision: Decision) -> Turnout:
    """Turnout and quorum now, from the decision's kept count of readable votes
    (`votes_cast`, as read with it): no vote is read."""
    return turnout_of(decision, decision.votes_cast)


def turnouts(found: Sequence[Decision]) -> dict[int, Turnout]:
    """`turnout` of several open decisions (by decision id), from their kept counts."""
    return {d.id: turnout(d) for d in found}


# The non-voter statements take the decision as bound parameters: each is built once and
# reused, so a `show` pays neither building nor keying a statement of three subqueries.
_COOP = bindparam("waiting_coop_id", type_=Integer)
_DECISION = bindparam("waiting_decision_id", type_=Integer)
_SEQ: BindParameter[int | None] = bindparam("waiting_seq", type_=BigInteger)
_ELIGIBLE = bindparam("waiting_eligible", type_=Integer)


def _params(decision: Decision) -> dict[str, int | None]:
    return {
        "waiting_coop_id": decision.coop_id,
        "waiting_decision_id": decision.id,
        "waiting_seq": decision.opened_seq,
        "waiting_eligible": decision.eligible_count,
    }


def _voted() -> Select[int]:
    return select(Vote.member_id).where(Vote.decision_id == _DECISION)


def _waiting_members() -> Select[Member]:
    """The eligible active members without a vote, by name: walked in the order of the
    members' name index, so the first page stops early."""
    eligible = select(Membership.id).where(Membership.member_id == Member.id, covers(_SEQ)).exists()
    return (
        select(Member)
        .where(
            Member.coop_id == _COOP,
            Member.active == true(),
            eligible,
            Member.id.not_in(_voted()),
        )
        .order_by(Member.name)
    )


def _waiting_count() -> ColumnElement[int]:
    """How many eligible active members have not voted, without reading every eligible
    member: the eligible count fixed at the opening (`eligible_count`, the stretches
    covering it), less the members who voted (every voter was eligible: the vote checks
    it), less the eligible who have left since without voting (found from the stretches
    that ended after the opening, `ix_memberships_coop_left`: as many as members left since,
    not as many as members). What counting the eligible active non-voters gives."""
    stretch, current = aliased(Membership), aliased(Membership)
    # A stretch ended after the opening covers it when it began before (`covers`). `+ 0`
    # keeps the planners off the index of when stretches began (every stretch begun
    # before: all the members) for the one of when they ended (the few ended since).
    departed_since = and_(
        stretch.coop_id == _COOP,
        stretch.left_seq > _SEQ,
        stretch.joined_seq + literal_column("0") < _SEQ,
        ~select(current.id)
        .where(current.member_id == stretch.member_id, current.left_seq.is_(None))
        .exists(),
        stretch.member_id.not_in(_voted()),
    )
    departed = select(func.count()).select_from(stretch).where(departed_since)
    voted = select(func.count()).select_from(Vote).where(Vote.decision_id == _DECISION)
    return _ELIGIBLE - voted.scalar_subquery() - departed.scalar_subquery()


@functools.cache
def _non_voters_statement(limit: int | None) -> Select[Member]:
    query = _waiting_members()
    return query if limit is None else query.limit(limit)


@functools.cache
def _count_statement() -> Select[int]:
    return select(_waiting_count())


@functools.cache
def _waiting_statement(limit: int) -> Select[Member, int]:
    return _waiting_members().add_columns(_waiting_count()).limit(limit)


async def non_voters(
    ctx: Context, decision: Decision, limit: int | None = None
) -> Sequence[Member]:
    """The eligible active members without a vote, by name; with `limit`, only the first."""
    if decision.opened_seq is None:  # not opened: nobody was a member at its opening
        return []
    return (await ctx.session.scalars(_non_voters_statement(limit), _params(decision))).all()


async def count_non_voters(ctx: Context, decision: Decision) -> int:
    """How many eligible active members have not voted, counted in SQL."""
    if decision.opened_seq is None:
        return 0
    return int(await ctx.session.scalar(_count_statement(), _params(decision)) or 0)


async def waiting(ctx: Context, decision: Decision, limit: int) -> tuple[Sequence[Member], int]:
    """The first `limit` eligible active members without a vote (by name) and how many
    there are in all, in one statement."""
    if decision.opened_seq is None:
        return [], 0
    rows = (await ctx.session.execute(_waiting_statement(limit), _params(decision))).all()
    return [member for member, _ in rows], (int(rows[0][1]) if rows else 0)


async def block_reasons(ctx: Context, decision: Decision) -> Sequence[tuple[Member, str]]:
    """Who blocks a consent proposal and why, so the group can address it; nothing for a
    secret ballot, whose choices are never shown."""
    if decision.secret or decision.method != proposals.ProposalMethod.CONSENT:
        return []
    rows = await ctx.session.execute(
        select(Member, Vote.reason)
        .join(Vote, Vote.member_id == Member.id)
        .where(Vote.decision_id == decision.id, Vote.choice == str(proposals.ProposalChoice.BLOCK))
        .order_by(Vote.cast_at, Vote.id)
    )
    return [(member, reason) for member, reason in rows.tuples().all()]


@dataclass(frozen=True)
class VoteResult:
    decision: Decision
    changed: bool
    cast: Cast  # what was cast, as it is stored
    turnout: Turnout  # as `turnout` counts it with this vote, read in the same statement


def _check_open_for_votes(ctx: Context, decision: Decision) -> None:
    if decision.status == DecisionStatus.OPEN and ctx.clock.now() < decision.closes_at:
        return  # the co-op's settings (its time zone) are read for a refusal only
    number, tz = decision.number, ctx.config.timezone
    if decision.status == DecisionStatus.SCHEDULED:
        raise UserError(
            f"#{number} is not open yet; voting opens {format_local(decision.opens_at, tz)} "
            f"({tz.key})",
            f"see it with `{ctx.prefix}show {number}`",
        )
    if decision.status != DecisionStatus.OPEN:
        raise UserError(
            f"#{number} is {decision.status}; its votes can no longer change",
            f"see the result with `{ctx.prefix}show {number}`",
        )
    if ctx.clock.now() >= decision.closes_at:
        # The deadline counts, not the moment the scheduler gets round to closing it.
        raise UserError(
            f"Voting on #{number} ended {format_local(decision.closes_at, tz)} ({tz.key}); "
            "the result is being counted",
            f"see it with `{ctx.prefix}show {number}`",
        )


# Built once, its values bound at each vote: the decision locked for the vote, and the
# voter's membership stretch that covers its opening (eligibility), in one statement.
_FOR_VOTE = (
    select(Decision, Membership.id)
    .outerjoin(
        Membership,
        (Membership.member_id == bindparam("member_id")) & covers(Decision.opened_seq),
    )
    .where(Decision.coop_id == bindparam("coop_id"), Decision.number == bindparam("number"))
    .limit(1)
    # A proposal has no options: they are read for a poll only.
    .options(noload(Decision.options))
    .with_for_update(of=Decision)
    .execution_options(populate_existing=True)
)


async def _for_vote(ctx: Context, number: int, member: Member) -> tuple[Decision, bool]:
    """Decision #`number` locked for a vote (as get_decision) and whether `member` may vote
    on it, in one statement; a poll's options then in a second. A vote through the
    dispatcher has them already (`ctx.vote_read`, read and locked with the context)."""
    coop = ctx.require_coop()
    read = ctx.vote_read
    if read is not None and read[0] == number:
        # Read with the co-op and the actor (SQLite: the write lock is held since BEGIN).
        found, eligible = read[1], read[2]
    else:
        params = {"member_id": member.id, "coop_id": coop.id, "number": number}
        row = (await ctx.session.execute(_FOR_VOTE, params)).first()
        found, eligible = (row[0], row[1] is not None) if row is not None else (None, False)
    if found is None:
        raise _no_decision(ctx, number)
    await _load_options(ctx, found)
    return found, eligible


async def _store_vote(
    ctx: Context, decision: Decision, member: Member, cast_: Cast, reason: str
) -> tuple[bool, int]:
    """Write `member`'s current vote: a new row, or (the row they cast before) the new
    choice with one more change, with the decision's count of readable votes (`votes_cast`:
    on PostgreSQL in the statement, on SQLite by its triggers), and audit it (on PostgreSQL
    in that same statement). Returns whether it was a change and the turnout with it (as
    `turnout` counts: the count as updated; SQLite: the other members' readable votes, read
    in the same statement, and this one). Atomic on both databases: two votes of one member
    at once are a cast and a change, never two rows or a lost change; the decision's row
    lock (`_for_vote`) orders the votes on it, so the count holds every vote committed
    before."""
    stored_choice, stored_ballot = ballots.stored(cast_)
    dialect = ctx.session.get_bind().dialect.name
    statements = ctx.vote_statements or VoteStatements()
    statement = statements.store_vote(dialect, decision.kind)
    params: dict[str, Any] = {
        "decision_id": decision.id,
        "member_id": member.id,
        "choice": stored_choice,
        "ballot": stored_ballot,
        "reason": reason,
        "cast_at": ctx.clock.now(),
        "readable": 1 if cast_.readable else 0,
    }
    # The audit log never holds a secret choice (SPEC §4): it outlives the sealing.
    detail: dict[str, Any] = {} if decision.secret else {"choice": cast_.letters()}
    subject = f"decision:{decision.number}"
    if dialect == "postgresql":
        row = ctx.audit_row("vote", subject, detail)
        params.update({f"audit_{name}": value for name, value in row.items()})
        changes, counted, audited = (await ctx.session.execute(statement, params)).one()
        assert audited == 1
    else:
        changes, others = (await ctx.session.execute(statement, params)).one()
        counted = int(others) + params["readable"]  # the count as its trigger keeps it
        await ctx.audit_now("vote.change" if changes else "vote.cast", subject, **detail)
    # As stored (not a change to flush): a later read of the decision's count sees it.
    set_committed_value(decision, "votes_cast", int(counted))
    return bool(changes), int(counted)


async def cast_vote(ctx: Context, number: int, choice_text: str, reason: str | None) -> VoteResult:
    coop = ctx.require_coop()
    member = ctx.require_actor()
    decision, eligible = await _for_vote(ctx, number, member)
    _check_open_for_votes(ctx, decision)
    if not eligible:
        raise UserError(
            f"You joined {coop.name} after #{number} opened, so you can't vote on it",
            "you can vote on every decision that opens from now on",
        )
    reason_text = check_text("reason", reason, NOTE_MAX) if reason else ""
    if decision.kind == DecisionKind.PROPOSAL:
        choice = proposals.parse_proposal_choice(
            proposals.ProposalMethod(decision.method), choice_text, number, prefix=ctx.prefix
        )
        if choice is proposals.ProposalChoice.BLOCK and not reason_text:
            raise UserError(
                "A block needs a reason, so the group can address it",
                f'for example `{ctx.prefix}vote {number} block reason:"it breaks our lease"`',
            )
        cast = Cast(choice=choice)
    else:
        labels = [o.label for o in decision.options]
        cast = Cast(
            ballot=polls.parse_ballot(
                polls.PollMethod(decision.method), labels, choice_text, number, prefix=ctx.prefix
            )
        )
    changed, voted = await _store_vote(ctx, decision, member, cast, reason_text)
    return VoteResult(decision, changed, cast, turnout_of(decision, voted))


async def close_decision(ctx: Context, decision: Decision, *, early: bool = False) -> Count | None:
    """open → closed with its outcome. Returns None when it was not open (another job or
    process closed it first), so the close is announced once."""
    # Re-read under a row lock: a vote in flight either commits before this count or
    # sees the decision closed.
    await ctx.session.refresh(decision, with_for_update=True)
    await _load_options(ctx, decision)
    if decision.status != DecisionStatus.OPEN:
        return None
    if not early and decision.closes_at > ctx.clock.now():
        return None  # extended after the scheduler found it due: it closes later
    result = await tally(ctx, decision)
    outcome = outcome_text(decision, result)
    now = ctx.clock.now()
    changed = await ctx.session.execute(
        update(Decision)
        .where(Decision.id == decision.id, Decision.status == DecisionStatus.OPEN)
        .values(
            status=DecisionStatus.CLOSED,
            closed_at=now,
            outcome=outcome,
            result=result_record(result),
        )
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    await write_watch.due_changed(ctx.session)
    decision.status, decision.closed_at, decision.outcome = DecisionStatus.CLOSED, now, outcome
    if decision.secret:
        await ballots.seal(ctx, decision)
    ctx.audit("decision.close", f"decision:{decision.number}", outcome=outcome, early=early)
    return result


OUTCOME_MAX = 200  # the width of decisions.outcome; long option names are cut to fit


def outcome_text(decision: Decision, result: Count) -> str:
    """The short outcome stored with a closed decision: `passed`, `winner: Cabin`, …"""
    text = _outcome(decision, result)
    return text if len(text) <= OUTCOME_MAX else text[: OUTCOME_MAX - 1] + "…"


def _outcome(decision: Decision, result: Count) -> str:
    if result.no_quorum:
        return "no quorum"
    if result.proposal is not None:
        return str(result.proposal.outcome)
    assert result.poll is not None
    labels = [o.label for o in decision.options]
    winners = result.poll.winners
    if not winners:
        return "no votes"
    if len(winners) > 1:
        names = [labels[i] for i in winners]
        return "tie: " + ", ".join(names[:-1]) + f" and {names[-1]}"
    return f"winner: {labels[winners[0]]}"


def result_record(result: Count) -> dict[str, Any]:
    record: dict[str, Any] = {
        "eligible": result.eligible,
        "turnout": result.turnout,
        "needed": result.needed,
    }
    if result.proposal is not None:
        p = result.proposal
        record.update(yes=p.yes, no=p.no, abstain=p.abstain, block=p.block)
    if result.poll is not None:
        record.update(totals=list(result.poll.totals), winners=list(result.poll.winners))
    return record


async def extend(ctx: Context, number: int, duration: str) -> Decision:
    decision = await get_decision(ctx, number, lock=True)
    if decision.status not in LIVE:
        raise UserError(
            f"#{number} is {decision.status}; only an open or scheduled vote can be extended",
            f"see it with `{ctx.prefix}show {number}`",
        )
    closes_at = later(
        decision.closes_at,
        parse_duration(duration),
        ctx.clock.now(),
        what=f"#{number}'s deadline",
        hint="extend it by less, or close it and propose again later",
    )
    if closes_at <= ctx.clock.now():
        tz = ctx.config.timezone
        raise UserError(
            f"#{number} would then close {format_local(closes_at, tz)} ({tz.key}), "
            "which is already past",
            f"extend it further, for example `{ctx.prefix}extend {number} 2d`",
        )
    decision.closes_at = closes_at
    decision.reminded_at = None
    await write_watch.due_changed(ctx.session)
    ctx.audit("decision.extend", f"decision:{number}", by=duration)
    return decision


async def withdraw(ctx: Context, number: int) -> Decision:
    member = ctx.require_actor()
    decision = await get_decision(ctx, number, lock=True)
    if member.role != Role.STEWARD and decision.author_id != member.id:
        raise UserError(f"Only the author of #{number} or a steward can withdraw it")
    changed = await ctx.session.execute(
        update(Decision)
        .where(Decision.id == decision.id, Decision.status.in_(LIVE))
        .values(status=DecisionStatus.WITHDRAWN, closed_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise UserError(
            f"#{number} is {decision.status}; it can no longer be withdrawn",
            f"see it with `{ctx.prefix}show {number}`",
        )
    await write_watch.due_changed(ctx.session)
    decision.status = DecisionStatus.WITHDRAWN
    if decision.secret:
        await ballots.seal(ctx, decision)
    ctx.audit("decision.withdraw", f"decision:{number}")
    return decision


async def list_decisions(ctx: Context, which: str) -> Sequence[Decision]:
    coop = ctx.require_coop()
    query = select(Decision).where(Decision.coop_id == coop.id)
    if which == "open":
        query = query.where(Decision.status.in_(LIVE))
    elif which == "closed":
        query = query.where(Decision.status.in_(FINISHED))
    return (await ctx.session.scalars(query.order_by(Decision.number.desc()).limit(LIST_MAX))).all()
