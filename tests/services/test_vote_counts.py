"""Counting in SQL gives exactly the count of the votes read one by one (random ballots,
legacy rows, sealed ballots), and a vote's work does not grow with the votes already cast."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, insert, select, update
from sqlalchemy import text as sql_text

from bot import write_watch
from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.engine import is_sqlite, make_engine
from bot.db.migrate import upgrade
from bot.db.models import Coop, Decision, DecisionOption, Member, Membership, Vote
from bot.domain import polls, proposals
from bot.domain.limits import SCORE_MAX, SCORE_MIN
from bot.services import ballots, decisions
from bot.services.context import Context
from tests.support import listening, recount_votes_cast, say, setup_coop

VOTERS = 30


@dataclass(frozen=True)
class Case:
    kind: str  # proposal | poll
    method: str
    options: int
    quorum: str
    secret: bool
    votes: tuple[tuple[str | None, Any], ...]  # stored (choice, ballot), one per voter


@st.composite
def _ballot(draw: st.DrawFn, method: polls.PollMethod, n: int) -> polls.Ballot:
    if method is polls.PollMethod.SINGLE:
        return polls.Ballot(method, (draw(st.integers(0, n - 1)),))
    if method is polls.PollMethod.APPROVAL:
        picks = draw(st.sets(st.integers(0, n - 1), min_size=1))
        return polls.Ballot(method, tuple(sorted(picks)))
    if method is polls.PollMethod.RANKED:
        order = draw(st.permutations(range(n)))
        return polls.Ballot(method, tuple(order[: draw(st.integers(1, n))]))
    picks = sorted(draw(st.sets(st.integers(0, n - 1), min_size=1)))
    scores = [draw(st.integers(SCORE_MIN, SCORE_MAX)) for _ in picks]
    return polls.Ballot(method, tuple(picks), tuple(scores))


@st.composite
def cases(draw: st.DrawFn) -> Case:
    kind = draw(st.sampled_from(["proposal", "poll"]))
    secret = draw(st.booleans())
    quorum = draw(st.sampled_from(["0", "1/2", "1/3", "2/3", "1"]))
    size = draw(st.integers(0, VOTERS))
    votes: list[tuple[str | None, Any]] = []
    if kind == "proposal":
        method = draw(st.sampled_from(list(proposals.ProposalMethod)))
        allowed = [str(c) for c in proposals.choices_for(method)]
        for _ in range(size):
            # A legacy row (revision 0004 kept what it could not read) counts for nothing.
            choice = draw(st.one_of(st.sampled_from(allowed), st.sampled_from(["maybe", "Y"])))
            votes.append((choice, None))
        return Case(kind, str(method), 0, quorum, secret, tuple(votes))
    poll_method = draw(st.sampled_from(list(polls.PollMethod)))
    # Few options make identical ballots (groups) likely; many make them unlikely.
    n = draw(st.sampled_from([2, 3, 5, 10]))
    for _ in range(size):
        if draw(st.integers(0, 9)) == 0:
            votes.append(("A>B", None))  # a legacy row: its text, no ballot
        else:
            votes.append((None, draw(_ballot(poll_method, n)).stored()))
    return Case(kind, str(poll_method), n, quorum, secret, tuple(votes))


async def _ensure_members(core: Core) -> tuple[int, list[int]]:
    """The co-op's id and VOTERS member ids (made once per database)."""
    async with core.sessions() as session, session.begin():
        coop = await session.scalar(select(Coop))
        if coop is None:
            raise AssertionError("no co-op")
        ids = list(
            (
                await session.scalars(
                    select(Member.id).where(Member.name.like("voter%")).order_by(Member.id)
                )
            ).all()
        )
        if not ids:
            await session.execute(
                insert(Member),
                [
                    {
                        "coop_id": coop.id,
                        "name": f"voter{i:03}",
                        "role": "member",
                        "active": True,
                        "joined_at": datetime(2026, 1, 1, tzinfo=UTC),
                    }
                    for i in range(VOTERS)
                ],
            )
            ids = list(
                (
                    await session.scalars(
                        select(Member.id).where(Member.name.like("voter%")).order_by(Member.id)
                    )
                ).all()
            )
        return coop.id, ids


async def _decision(core: Core, coop_id: int, members: list[int], case: Case) -> int:
    now = core.clock.now()
    async with core.sessions() as session, session.begin():
        number = int(
            await session.scalar(
                update(Coop)
                .where(Coop.id == coop_id)
                .values(next_decision_number=Coop.next_decision_number + 1)
                .returning(Coop.next_decision_number)
            )
            or 0
        )
        decision = Decision(
            coop_id=coop_id,
            number=number,
            kind=case.kind,
            title="counted",
            method=case.method,
            quorum=case.quorum,
            secret=case.secret,
            status="open",
            author_id=members[0],
            created_at=now,
            opens_at=now,
            opened_at=now,
            closes_at=now + timedelta(days=7),
            eligible_count=len(members),
        )
        session.add(decision)
        await session.flush()
        await write_watch.due_changed(session)  # as decisions.create says
        session.add_all(
            DecisionOption(decision_id=decision.id, position=i, label=f"option {i}")
            for i in range(case.options)
        )
        if case.votes:
            await session.execute(
                insert(Vote),
                [
                    {
                        "decision_id": decision.id,
                        "member_id": m,
                        "choice": choice,
                        "ballot": ballot,
                        "reason": "",
                        "cast_at": now,
                    }
                    for m, (choice, ballot) in zip(members, case.votes, strict=False)
                ],
            )
            await recount_votes_cast(session, decision.id, case.kind)
        return decision.id


async def _counts(core: Core, decision_id: int) -> tuple[Any, ...]:
    """(the count of the votes read one by one, `tally`, `turnout`, `turnouts`)."""
    async with core.sessions() as session, session.begin():
        ctx = Context(session=session, clock=core.clock, settings=core.settings)
        found = await session.get(Decision, decision_id)
        assert found is not None
        await session.refresh(found, ["options"])
        one_by_one = decisions.count(found, await ballots.current(ctx, found))
        if found.status == "open":
            turnout = decisions.turnout(found)
            many = decisions.turnouts([found])[found.id]
        else:
            turnout = many = None
        return one_by_one, await decisions.tally(ctx, found), turnout, many


def _same_turnout(count: decisions.Count, turnout: decisions.Turnout | None) -> None:
    assert turnout is not None
    assert (turnout.eligible, turnout.turnout, turnout.needed) == (
        count.eligible,
        count.turnout,
        count.needed,
    )
    assert turnout.votes_to_quorum == count.votes_to_quorum


async def _run(url: str, case: Case) -> None:
    if not is_sqlite(url):
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
    core = await create_core(load_settings(None, database_url=url), ManualClock())
    try:
        if not await core.messages_about("console", "setup-done"):
            await setup_coop(core, members=())
            await core.link_message("console", "local", "setup", "setup-done")
        coop_id, members = await _ensure_members(core)
        decision_id = await _decision(core, coop_id, members, case)
        one_by_one, counted, turnout, many = await _counts(core, decision_id)
        assert counted == one_by_one
        _same_turnout(one_by_one, turnout)
        _same_turnout(one_by_one, many)
        async with core.sessions() as session, session.begin():
            found = await session.get(Decision, decision_id)
            assert found is not None
            coop = await session.get(Coop, coop_id)
            ctx = Context(session=session, clock=core.clock, settings=core.settings, coop=coop)
            closed = await decisions.close_decision(ctx, found, early=True)
        assert closed == one_by_one
        if case.secret:
            # Sealed: counted from the sealed ballots, grouped, the same as one by one.
            sealed, counted, _, _ = await _counts(core, decision_id)
            assert counted == sealed == one_by_one
    finally:
        await core.close()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
def test_counting_in_sql_gives_the_count_of_every_vote_read(database_url: str, case: Case) -> None:
    asyncio.run(_run(database_url, case))


class Watch:
    """Statements sent and rows fetched (the async adapters fetch every row of a result on
    execute, into `_rows`), counted with before/after_cursor_execute."""

    def __init__(self, core: Core) -> None:
        self.statements = 0
        self.rows = 0

        def before(*_: object) -> None:
            self.statements += 1

        def after(conn: object, cursor: Any, *_: object) -> None:
            self.rows += len(getattr(cursor, "_rows", ()) or ())

        for engine in core.engines:  # on SQLite, the writer thread's too
            event.listen(engine, "before_cursor_execute", before)
            event.listen(engine, "after_cursor_execute", after)

    async def say(self, core: Core, user: str, text: str) -> tuple[int, int, str]:
        statements, rows = self.statements, self.rows
        reply = await say(core, user, text)
        return self.statements - statements, self.rows - rows, reply


async def _with_votes(core: Core, number: int, votes: int, choice: str | None) -> None:
    """`votes` more eligible members of #`number` who cast `choice` (or a ballot)."""
    async with core.sessions() as session, session.begin():
        found = await session.scalar(select(Decision).where(Decision.number == number))
        assert found is not None
        now = core.clock.now()
        start = int(await session.scalar(select(Member.id).order_by(Member.id.desc())) or 0)
        await session.execute(
            insert(Member),
            [
                {
                    "coop_id": found.coop_id,
                    "name": f"d{number}v{i:04}",
                    "role": "member",
                    # Removed since, so later decisions don't count them; they keep this vote.
                    "active": False,
                    "joined_at": now,
                }
                for i in range(votes)
            ],
        )
        ids = list((await session.scalars(select(Member.id).where(Member.id > start))).all())
        assert found.opened_seq is not None
        await session.execute(
            insert(Membership),
            [
                {
                    "coop_id": found.coop_id,
                    "member_id": m,
                    "joined_seq": found.opened_seq - 1,
                    "left_seq": found.opened_seq + 1,
                }
                for m in ids
            ],
        )
        await session.execute(
            insert(Vote),
            [
                {
                    "decision_id": found.id,
                    "member_id": m,
                    "choice": choice,
                    "ballot": None if choice is not None else [i % 3, (i + 1) % 3],
                    "reason": "",
                    "cast_at": now,
                }
                for i, m in enumerate(ids)
            ],
        )
        await recount_votes_cast(session, found.id, found.kind)
        found.eligible_count += len(ids)


async def test_a_vote_does_the_same_work_after_10_or_500_votes(core: Core) -> None:
    await setup_coop(core)
    watch = Watch(core)
    work: dict[str, list[tuple[int, int]]] = {}
    for votes in (10, 500):
        for opening, choice, first, second in (
            ("!propose Paint the shed", "yes", "yes", "no"),
            ('!poll Where? options:"Lake | Cabin | City" method:ranked', None, "B>A", "C"),
        ):
            await say(core, "alice", opening)
            async with core.sessions() as session:
                number = int(
                    await session.scalar(select(Decision.number).order_by(Decision.id.desc())) or 0
                )
            await _with_votes(core, number, votes, choice)
            for voter, text in (("bob", first), ("bob", second), ("carol", first)):
                statements, rows, reply = await watch.say(core, voter, f"!vote {number} {text}")
                assert f"Your vote on #{number} is" in reply, reply
                assert f"turnout {votes + 1 + (voter == 'carol')}/{votes + 3}" in reply, reply
                work.setdefault(f"{opening[:6]} {voter} {text}", []).append((statements, rows))
    for key, (small, large) in work.items():
        assert small == large, (key, small, large)


async def _plan(core: Core, statement: str, params: Any) -> list[str]:
    """The plan's lines for `statement` (not run), on either database."""
    async with core.engine.connect() as connection:
        if core.engine.dialect.name == "sqlite":
            plan = await connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)
            return [str(row[-1]) for row in plan.all()]
        # Discouraged, so that the plan shows the index a large table would be read by.
        await connection.exec_driver_sql("SET enable_seqscan = off")
        plan = await connection.exec_driver_sql(f"EXPLAIN {statement}", params)
        return [str(row[0]).strip() for row in plan.all()]


async def test_a_votes_turnout_is_counted_from_the_index_without_reading_each_vote(
    core: Core,
) -> None:
    """The turnout a vote returns counts the decision's votes from the (decision_id, choice)
    index alone: a filter on the voter would read each vote's row (4,900 of them per vote on
    the bench's 10,000-member co-op, most of a vote's time on SQLite)."""
    await setup_coop(core)
    await say(core, "alice", "!propose Paint the shed")
    await say(core, "alice", '!poll Where? options:"Lake | Cabin | City" method:ranked')
    await _with_votes(core, 1, 300, "yes")
    await _with_votes(core, 2, 300, None)
    async with core.sessions() as session, session.begin():
        await session.execute(sql_text("ANALYZE"))  # as a database in use has statistics
    sent: list[tuple[str, Any]] = []

    def record(_conn: object, _cursor: object, statement: str, params: Any, *_: object) -> None:
        if "INSERT INTO votes" in statement:
            sent.append((statement, params))

    with listening(core, "before_cursor_execute", record):
        assert "turnout 301/303" in await say(core, "bob", "!vote 1 yes")
        assert "turnout 301/303" in await say(core, "bob", "!vote 2 B>A")
        assert "turnout 301/303" in await say(core, "bob", "!vote 2 C")  # a change
    assert len(sent) == 3
    for statement, params in sent:
        plan = await _plan(core, statement, params)
        on_votes = [step for step in plan if re.search(r"\b(SEARCH|SCAN|on) votes\b", step)]
        assert on_votes, plan
        if core.engine.dialect.name == "sqlite":
            # The count by the index alone; the voter's own row by the unique index.
            read_rows = [
                step
                for step in on_votes
                if "COVERING INDEX" not in step and "member_id=?" not in step
            ]
        else:
            # The plan's lines after each scan of votes until the next node: a Filter there
            # is a condition checked on each vote's row.
            read_rows = [
                step for step in plan if step.startswith("Filter:") and "member_id" in step
            ]
        assert read_rows == [], "\n".join(plan)
