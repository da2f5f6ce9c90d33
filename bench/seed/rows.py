"""The base rows of a seeded co-op (co-op, room, members, decisions with options and votes,
tasks, the ledger), generated deterministically and streamed in the loader's encoding."""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from bench.seed.plan import (
    COOP_ID,
    COOP_NAME,
    HISTORY,
    NOW,
    RANKED_OPTIONS,
    ROOM_ID,
    ROOM_PLATFORM,
    STEWARDS,
    VOTES_PER_CLOSED,
    Plan,
    member_name,
)
from bot.domain import polls, proposals

Row = tuple[Any, ...]
START = (NOW - HISTORY).replace(tzinfo=None)  # naive UTC, as the database stores it
END = NOW.replace(tzinfo=None)
SEED = 20261116
CLOCK_ORIGIN = START - timedelta(days=800)  # before the co-op was created


@dataclass(frozen=True)
class Codec:
    """How one database takes a datetime, a decimal, JSON and a boolean in bulk."""

    dt: Callable[[datetime | None], Any]
    num: Callable[[Decimal], Any]
    json: Callable[[Any], Any]
    flag: Callable[[bool], Any]


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: Iterator[Row]


def clock_seq(at: datetime, tick: int) -> int:
    """A value of the co-op's membership clock (coops.membership_seq) for an instant of the
    seeded history: four per microsecond, so that at one instant a leave (tick 1) sorts
    before an opening (tick 2) and a join (tick 0) before both, as `eligible_at` counts."""
    return int((at - CLOCK_ORIGIN).total_seconds() * 1_000_000) * 4 + tick


def _spread(i: int, n: int, start: datetime, end: datetime, rng: random.Random) -> datetime:
    """The i-th of n instants spread evenly (with jitter, still ascending) over [start, end)."""
    span = (end - start).total_seconds()
    return start + timedelta(seconds=span * (i + rng.random()) / n)


class Seeder:
    """Generates the rows of one plan; `tables()` yields them in foreign-key order."""

    def __init__(self, plan: Plan, codec: Codec) -> None:
        self.plan = plan
        self.c = codec
        self.rng = random.Random(SEED)
        self.active = range(0, plan.removed_from)  # members active all year
        removed = plan.members - plan.removed_from
        self.removed_at = sorted(
            _spread(i, removed, START, END - timedelta(days=2), self.rng) for i in range(removed)
        )
        self.next_option_id = 1
        self.next_vote_id = 1

    def tables(self) -> Iterator[Table]:
        c = self.c
        created = START - timedelta(days=401)
        yield Table(
            "coops",
            ("id", "name", "created_at", "settings", "next_decision_number", "next_task_number"),
            iter([(COOP_ID, COOP_NAME, c.dt(created), c.json({}), 1, 1)]),
        )
        yield Table(
            "room_bindings",
            ("id", "coop_id", "platform", "room_id", "created_at", "role_sync"),
            iter([(1, COOP_ID, ROOM_PLATFORM, ROOM_ID, c.dt(created), "off")]),
        )
        yield Table(
            "members",
            ("id", "coop_id", "name", "role", "active", "joined_at", "removed_at"),
            self._members(created),
        )
        yield Table(
            "memberships",
            ("id", "coop_id", "member_id", "joined_seq", "left_seq"),
            self._memberships(created),
        )
        options: list[Row] = []
        votes: list[Row] = []
        yield Table(
            "decisions",
            (
                "id",
                "coop_id",
                "number",
                "kind",
                "title",
                "body",
                "method",
                "threshold",
                "quorum",
                "rule_class",
                "secret",
                "status",
                "outcome",
                "result",
                "author_id",
                "created_at",
                "opens_at",
                "closes_at",
                "opened_at",
                "closed_at",
                "eligible_count",
                "reminded_at",
                "opened_seq",
            ),
            self._decisions(options, votes),
        )
        yield Table("decision_options", ("id", "decision_id", "position", "label"), iter(options))
        yield Table(
            "votes",
            ("id", "decision_id", "member_id", "choice", "ballot", "reason", "cast_at", "changes"),
            iter(votes),
        )
        done: list[tuple[datetime, int, int, Decimal, str]] = []
        yield Table(
            "tasks",
            (
                "id",
                "coop_id",
                "number",
                "title",
                "points",
                "due_at",
                "from_decision",
                "status",
                "holder_id",
                "claimed_at",
                "claim_reminded_at",
                "done_at",
                "created_by",
                "created_at",
            ),
            self._tasks(done),
        )
        yield Table(
            "contributions",
            (
                "id",
                "coop_id",
                "member_id",
                "kind",
                "amount",
                "note",
                "category",
                "task_id",
                "giver_id",
                "created_at",
            ),
            self._contributions(done),
        )

    # Members ----------------------------------------------------------------------------
    def _members(self, created: datetime) -> Iterator[Row]:
        c, plan = self.c, self.plan
        for i in range(plan.members):
            joined = created + timedelta(minutes=1 + i * 30)  # all before the year began
            removed_at = None
            if i >= plan.removed_from:
                removed_at = self.removed_at[i - plan.removed_from]
            role = "steward" if i < STEWARDS else "member"
            yield (
                i + 1,
                COOP_ID,
                member_name(i),
                role,
                c.flag(removed_at is None),
                c.dt(joined),
                c.dt(removed_at),
            )

    def _memberships(self, created: datetime) -> Iterator[Row]:
        """One stretch per member: from joining, until removal for those removed."""
        plan = self.plan
        for i in range(plan.members):
            joined = created + timedelta(minutes=1 + i * 30)
            left = None
            if i >= plan.removed_from:
                left = clock_seq(self.removed_at[i - plan.removed_from], 1)
            yield (i + 1, COOP_ID, i + 1, clock_seq(joined, 0), left)

    def eligible_at(self, instant: datetime) -> int:
        """Members active when a decision opened at `instant`."""
        return self.plan.members - bisect.bisect_right(self.removed_at, instant)

    # Decisions --------------------------------------------------------------------------
    def _decisions(self, options: list[Row], votes: list[Row]) -> Iterator[Row]:
        plan, rng = self.plan, self.rng
        for number in range(1, plan.historical + 1):
            created = _spread(number - 1, plan.historical, START, END - timedelta(days=8), rng)
            yield self._historical(number, created, options, votes)
        for k, role in enumerate(plan.fixtures):
            yield self._fixture(plan.historical + 1 + k, role, options, votes)

    def _historical(
        self, number: int, created: datetime, options: list[Row], votes: list[Row]
    ) -> Row:
        rng = self.rng
        roll = rng.random()
        if roll < 0.7:
            kind = "proposal"
            method = rng.choice(["majority", "majority", "supermajority", "consent"])
            n_options = 0
        else:
            kind = "poll"
            method = rng.choice(["single", "approval", "ranked", "score"])
            n_options = rng.randint(2, 5)
        secret = rng.random() < 0.1
        withdrawn = rng.random() < 0.03
        quorum = "0" if rng.random() < 0.7 else "1/2"
        closes = created + timedelta(days=7)
        eligible = self.eligible_at(created)
        voters = rng.sample(self.active, VOTES_PER_CLOSED)
        choices = self._cast(number, kind, method, n_options, voters, created, votes)
        self._options(number, n_options, options)
        if withdrawn:
            status, outcome, result, closed = "withdrawn", None, None, created + timedelta(days=1)
        else:
            status, closed = "closed", closes
            outcome, result = _count(kind, method, n_options, quorum, eligible, choices)
        return self._decision_row(
            number,
            kind,
            method,
            quorum,
            secret,
            status,
            outcome,
            result,
            created,
            created,
            closes,
            created,
            closed,
            eligible,
        )

    def _fixture(self, number: int, role: str, options: list[Row], votes: list[Row]) -> Row:
        plan, rng = self.plan, self.rng
        created = END - timedelta(days=1)
        closes = END + timedelta(days=3)
        kind, method, secret, n_options = "proposal", "majority", False, 0
        share = 0.1
        if role == "show":
            share = -1.0  # every even index, below
        elif role == "close_proposal":
            share = 0.6
        elif role == "close_ranked":
            kind, method, n_options, share = "poll", "ranked", RANKED_OPTIONS, 1.0
        elif role == "consent":
            method = "consent"
        elif role == "secret_proposal":
            secret = True
        elif role in ("approval", "score"):
            kind, method, n_options = "poll", role, 4
        elif role == "secret_single":
            kind, method, n_options, secret = "poll", "single", 4, True
        elif role == "scheduled_proposal":
            share = 0.0
        elif role == "scheduled_poll":
            kind, method, n_options, share = "poll", "approval", 3, 0.0
        self._options(number, n_options, options)
        if role.startswith("scheduled"):
            opens = END + timedelta(days=2)
            return self._decision_row(
                number, kind, method, "1/2", secret, "scheduled", None, None,
                END - timedelta(hours=1), opens, opens + timedelta(days=7), None, None, 0,
            )  # fmt: skip
        if share < 0:
            voters = [i for i in self.active if plan.show_voted(i)]
        else:
            voters = [i for i in self.active if rng.random() < share]
        self._cast(number, kind, method, n_options, voters, created, votes, consent_block=True)
        # eligible_count of an open decision is derived from the membership stretches
        return self._decision_row(
            number, kind, method, "1/2", secret, "open", None, None,
            created, created, closes, created, None, 0,
        )  # fmt: skip

    def _decision_row(
        self,
        number: int,
        kind: str,
        method: str,
        quorum: str,
        secret: bool,
        status: str,
        outcome: str | None,
        result: dict[str, Any] | None,
        created: datetime,
        opens: datetime,
        closes: datetime,
        opened: datetime | None,
        closed: datetime | None,
        eligible: int,
    ) -> Row:
        c = self.c
        author = self.rng.randrange(self.plan.removed_from) + 1
        return (
            number,
            COOP_ID,
            number,
            kind,
            f"{kind.title()} {number}: {method} question",
            "Seeded for the benchmark." if kind == "proposal" else "",
            method,
            "2/3" if method == "supermajority" else None,
            quorum,
            None,
            c.flag(secret),
            status,
            outcome,
            c.json(result) if result is not None else None,
            author,
            c.dt(created),
            c.dt(opens),
            c.dt(closes),
            c.dt(opened),
            c.dt(closed),
            eligible,
            None,
            None if opened is None else clock_seq(opened, 2),
        )

    def _options(self, decision_id: int, n_options: int, options: list[Row]) -> None:
        for position in range(n_options):
            options.append((self.next_option_id, decision_id, position, f"Option {position + 1}"))
            self.next_option_id += 1

    def _cast(
        self,
        decision_id: int,
        kind: str,
        method: str,
        n_options: int,
        voters: list[int],
        opened: datetime,
        votes: list[Row],
        *,
        consent_block: bool = False,
    ) -> list[Any]:
        """Append the voters' ballots; return them as the domain counts them."""
        rng, c = self.rng, self.c
        cast: list[Any] = []
        blocked = False
        for member in voters:
            reason = ""
            if kind == "proposal":
                pick = rng.choice(["yes", "yes", "no", "abstain"])
                if method == "consent" and consent_block and not blocked:
                    pick, reason, blocked = "block", "It breaks our lease", True
                choice = proposals.ProposalChoice(pick)
                cast.append(choice)
                word, stored = str(choice), None  # a proposal's choice word
            else:
                ballot = _ballot(rng, polls.PollMethod(method), n_options)
                cast.append(ballot)
                word, stored = None, c.json(ballot.stored())  # a poll's option positions
            at = opened + timedelta(seconds=rng.randrange(1, 6 * 24 * 3600))
            votes.append(
                (self.next_vote_id, decision_id, member + 1, word, stored, reason,
                 c.dt(min(at, END)), 0)
            )  # fmt: skip
            self.next_vote_id += 1
        return cast

    # Tasks and the ledger ---------------------------------------------------------------
    def _tasks(self, done: list[tuple[datetime, int, int, Decimal, str]]) -> Iterator[Row]:
        plan, rng, c = self.plan, self.rng, self.c
        for number in range(1, plan.tasks + 1):
            status = plan.task_status(number)
            points = Decimal(rng.choice([1, 1, 2, 3, 5]))
            title = f"Task {number}"
            created = _spread(number - 1, plan.tasks, START, END - timedelta(days=10), rng)
            holder = claimed = done_at = None
            if status == "claimed":
                holder = plan.claim_holder(number) + 1
                claimed = END - timedelta(hours=rng.randrange(1, 5 * 24))
            elif status == "done":
                holder = rng.randrange(plan.removed_from) + 1
                claimed = created + timedelta(hours=rng.randrange(1, 48))
                done_at = claimed + timedelta(hours=rng.randrange(1, 72))
                done.append((done_at, number, holder, points, title))
            yield (
                number,
                COOP_ID,
                number,
                title,
                c.num(points),
                None,
                None,
                status,
                holder,
                c.dt(claimed),
                None,
                c.dt(done_at),
                rng.randrange(STEWARDS) + 1,
                c.dt(created),
            )
        done.sort()

    def _contributions(self, done: list[tuple[datetime, int, int, Decimal, str]]) -> Iterator[Row]:
        """Hours and kudos spread evenly over the year, merged in time order with the
        points of the done tasks; ids ascend with time as they would in real use."""
        plan, rng, c = self.plan, self.rng, self.c
        others = plan.contributions - len(done)
        categories = [None, None, "admin", "garden", "code"]
        hours = [c.num(Decimal(h) / 2) for h in range(1, 17)]
        kudos = [c.num(Decimal(k)) for k in (1, 1, 2, 3)]
        entry_id, pending = 1, 0
        active = plan.removed_from
        for i in range(others):
            at = _spread(i, others, START, END - timedelta(minutes=1), rng)
            while pending < len(done) and done[pending][0] <= at:
                done_at, task, holder, points, title = done[pending]
                note = f"task {task}: {title}"
                yield (entry_id, COOP_ID, holder, "points", c.num(points), note, None, task, None,
                       c.dt(done_at))  # fmt: skip
                entry_id, pending = entry_id + 1, pending + 1
            member = rng.randrange(active) + 1
            if rng.random() < 0.15:
                giver = rng.randrange(active - 1) + 1
                giver += giver >= member
                yield (entry_id, COOP_ID, member, "kudos", rng.choice(kudos), "thanks", None,
                       None, giver, c.dt(at))  # fmt: skip
            else:
                yield (entry_id, COOP_ID, member, "hours", rng.choice(hours), "work",
                       rng.choice(categories), None, None, c.dt(at))  # fmt: skip
            entry_id += 1
        for done_at, task, holder, points, title in done[pending:]:
            yield (entry_id, COOP_ID, holder, "points", c.num(points), f"task {task}: {title}",
                   None, task, None, c.dt(done_at))  # fmt: skip
            entry_id += 1


def _ballot(rng: random.Random, method: polls.PollMethod, n: int) -> polls.Ballot:
    if method is polls.PollMethod.SINGLE:
        return polls.Ballot(method, (rng.randrange(n),))
    if method is polls.PollMethod.APPROVAL:
        return polls.Ballot(method, tuple(sorted(rng.sample(range(n), rng.randint(1, n)))))
    if method is polls.PollMethod.RANKED:
        return polls.Ballot(method, tuple(rng.sample(range(n), rng.randint(min(3, n), n))))
    picks = tuple(range(n))
    return polls.Ballot(method, picks, tuple(rng.randint(0, 5) for _ in picks))


def _count(
    kind: str, method: str, n_options: int, quorum: str, eligible: int, cast: list[Any]
) -> tuple[str, dict[str, Any]]:
    """The outcome and result a close would have stored (bot.services.decisions.close)."""
    needed = proposals.votes_needed(Fraction(quorum), eligible)
    record: dict[str, Any] = {"eligible": eligible, "turnout": len(cast), "needed": needed}
    if kind == "proposal":
        p = proposals.count_proposal(
            proposals.ProposalMethod(method),
            Fraction(2, 3) if method == "supermajority" else proposals.DEFAULT_THRESHOLD,
            Fraction(quorum),
            eligible,
            cast,
        )
        record.update(yes=p.yes, no=p.no, abstain=p.abstain, block=p.block)
        return str(p.outcome), record
    result = polls.count_poll(polls.PollMethod(method), n_options, cast)
    record.update(totals=list(result.totals), winners=list(result.winners))
    if len(cast) < needed:
        return "no quorum", record
    labels = [f"Option {k + 1}" for k in range(n_options)]
    if not result.winners:
        return "no votes", record
    if len(result.winners) > 1:
        names = [labels[i] for i in result.winners]
        return "tie: " + ", ".join(names[:-1]) + f" and {names[-1]}", record
    return f"winner: {labels[result.winners[0]]}", record
