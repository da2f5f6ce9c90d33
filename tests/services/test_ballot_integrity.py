"""What a member casts in a poll is what is stored, shown to them, exported and counted,
whatever the options' own text looks like (letters, numbers, separators, case, unicode)."""

from __future__ import annotations

import asyncio
import csv
import io
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.engine import is_sqlite, make_engine
from bot.db.migrate import upgrade
from bot.db.models import Decision, Member, SealedBallot, Vote
from bot.domain import polls
from bot.domain.limits import OPTION_MAX, OPTIONS_MAX, SCORE_MAX, SCORE_MIN
from bot.invocation import CAP_ATTACHMENTS, CAP_EPHEMERAL
from bot.render.document import Bold, Line, Text
from bot.services.exports import export_csv
from tests.support import invocation, say, setup_coop

VOTERS = ("alice", "bob", "carol", "dan")
PRIVATE = frozenset({CAP_ATTACHMENTS, CAP_EPHEMERAL})

# Option texts that look like what a voter types: letters, numbers, separators, case.
_TRICKY = [
    *"ABCDEFGHIJKLMNOPQRST", *"abct", "1", "2", "0", "10", "5", "A,C", "a,c", "C>A", "B>A",
    "c > a", "A=5", "B=3,C=0", "A,B", "B , A", "=", ",", ">", "A=", ">A", "Ä", "ä", "ß", "SS",
    "İ", "ﬁ", "ǅ", "Å", "Å", "🗳️", "日本", "١٢", "Lakehouse", "LAKEHOUSE", "x" * OPTION_MAX,
]  # fmt: skip
_free = st.text(
    st.characters(
        blacklist_categories=("Cc", "Cs", "Zl", "Zp"),
        blacklist_characters='|"\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069',
    ),
    min_size=1,
    max_size=OPTION_MAX,
).map(str.strip)
_option = st.one_of(st.sampled_from(_TRICKY), _free)


def _distinct(options: list[str]) -> bool:
    keys = [o.casefold() for o in options]
    return all(options) and len(set(keys)) == len(keys)


@dataclass(frozen=True)
class Case:
    method: polls.PollMethod
    options: tuple[str, ...]
    ballots: tuple[polls.Ballot, ...]  # one per voter, in VOTERS order
    secret: bool
    styles: tuple[str, ...] = ()  # how each voter writes the ballot (see typed)


STYLES = ("letters", "lower", "spaced", "reversed")


def typed(ballot: polls.Ballot, style: str) -> str:
    """The ballot as a member might type it: `A,C`, `a,c`, `A , C`, or (where order does not
    matter) `C,A`."""
    text = ballot.text()
    if style == "lower":
        return text.lower()
    if style == "spaced":
        return text.replace(",", " , ").replace(">", " > ").replace("=", " = ")
    if style == "reversed" and ballot.method is not polls.PollMethod.RANKED:
        return ",".join(reversed(text.split(",")))
    return text


@st.composite
def cases(draw: st.DrawFn) -> Case:
    method = draw(st.sampled_from(list(polls.PollMethod)))
    options = draw(
        st.lists(_option, min_size=2, max_size=OPTIONS_MAX, unique_by=str.casefold).filter(
            _distinct
        )
    )
    n = len(options)
    ballots = []
    for _ in range(draw(st.integers(1, len(VOTERS)))):
        if method is polls.PollMethod.SINGLE:
            picks: tuple[int, ...] = (draw(st.integers(0, n - 1)),)
        elif method is polls.PollMethod.RANKED:
            picks = tuple(draw(st.permutations(range(n)))[: draw(st.integers(1, n))])
        else:
            picks = tuple(sorted(draw(st.sets(st.integers(0, n - 1), min_size=1))))
        scores = (
            tuple(draw(st.integers(SCORE_MIN, SCORE_MAX)) for _ in picks)
            if method is polls.PollMethod.SCORE
            else ()
        )
        ballots.append(polls.Ballot(method, picks, scores))
    styles = tuple(draw(st.sampled_from(STYLES)) for _ in ballots)
    return Case(method, tuple(options), tuple(ballots), draw(st.booleans()), styles)


def _shown(reply_lines: tuple[object, ...]) -> tuple[str, str]:
    """(words in bold, the rest) of a vote's acknowledgement."""
    first = reply_lines[0]
    assert isinstance(first, Line)
    bold = [p.text for p in first.parts if isinstance(p, Bold)]
    rest = "".join(p.text for p in first.parts if isinstance(p, Text))
    assert len(bold) == 1, first
    return bold[0], rest


async def _check(core: Core, case: Case) -> None:
    quoted = " | ".join(case.options)
    secret = " secret:yes" if case.secret else ""
    opened = await say(
        core, "alice", f'!poll Which? options:"{quoted}" method:{case.method} closes:1d{secret}'
    )
    assert " opened by @alice" in opened, opened
    async with core.sessions() as session:
        decision = await session.scalar(select(Decision).order_by(Decision.id.desc()).limit(1))
        assert decision is not None
    labels = [o.label for o in decision.options]
    # The command reader may normalise blanks in an option; what it stored is the poll.
    assert len(labels) == len(case.options)
    number = decision.number

    expected: dict[str, polls.Ballot] = {}
    for voter, cast, style in zip(VOTERS, case.ballots, case.styles, strict=False):
        text = typed(cast, style)
        # An option whose whole text is what the voter typed is what they named (SPEC §3:
        # by letter or full text); the parser for typed text decides, storage must keep it.
        meant = polls.parse_ballot(case.method, labels, text, number)
        (reply,) = await core.handle(
            invocation(voter, f"!vote {number} {text}", capabilities=PRIVATE)
        )
        words, rest = _shown(reply.blocks)
        assert words == meant.words(labels)
        assert rest.endswith(f" ({meant.text()})")
        expected[voter] = meant

    async with core.sessions() as session:
        rows = await session.execute(
            select(Member.name, Vote.choice, Vote.ballot)
            .join(Vote, Vote.member_id == Member.id)
            .where(Vote.decision_id == decision.id)
        )
        stored = {name: (choice, ballot) for name, choice, ballot in rows.tuples().all()}
    assert stored == {v: (None, b.stored()) for v, b in expected.items()}

    if not case.secret:
        async with core.sessions() as session:
            text = await export_csv(session, decision.coop_id, "votes")
        exported = {
            row["member"]: row["choice"]
            for row in csv.DictReader(io.StringIO(text))
            if row["decision"] == str(number)
        }
        # Letters, as a member types them; a cell starting like a formula is quoted.
        assert {m: c.removeprefix("'") for m, c in exported.items()} == {
            v: b.text() for v, b in expected.items()
        }

    want = polls.count_poll(case.method, len(labels), expected.values())
    closed = await say(core, "alice", f"!close {number}")
    assert f"#{number} Which?" in closed
    async with core.sessions() as session:
        after = await session.get(Decision, decision.id, populate_existing=True)
        assert after is not None and after.result is not None
        assert after.result["totals"] == list(want.totals)
        assert after.result["winners"] == list(want.winners)
        if case.secret:
            sealed = await session.scalars(
                select(SealedBallot.ballot).where(SealedBallot.decision_id == decision.id)
            )
            assert Counter(map(str, sealed.all())) == Counter(
                str(b.stored()) for b in expected.values()
            )
    shown = await say(core, "bob", f"!show {number}")
    assert shown.splitlines()[0] == closed.splitlines()[0]


async def _run(url: str, case: Case) -> None:
    if not is_sqlite(url):
        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
    clock = ManualClock()
    core = await create_core(load_settings(None, database_url=url), clock)
    try:
        if not await core.messages_about("console", "setup-done"):
            await setup_coop(core, members=VOTERS[1:])
            await core.link_message("console", "local", "setup", "setup-done")
        await _check(core, case)
        clock.advance(timedelta(minutes=1))
    finally:
        await core.close()


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(case=cases())
# Stored as `A,C` and read back by the typing parser, this ballot became the option `a,c`.
@example(
    case=Case(
        polls.PollMethod.APPROVAL,
        ("Lake", "a,c", "City"),
        (polls.Ballot(polls.PollMethod.APPROVAL, (0, 2)),),
        False,
        ("reversed",),
    )
)
# Stored as `C>A`, this ranking became a vote for the option called `C>A` alone.
@example(
    case=Case(
        polls.PollMethod.RANKED,
        ("B", "A", "C>A"),
        (
            polls.Ballot(polls.PollMethod.RANKED, (2, 0)),
            polls.Ballot(polls.PollMethod.RANKED, (1,)),
        ),
        True,
        ("spaced", "lower"),
    )
)
def test_what_is_cast_is_stored_shown_exported_and_counted(database_url: str, case: Case) -> None:
    asyncio.run(_run(database_url, case))


async def test_a_ballot_reads_back_as_cast_when_an_option_looks_like_letters(
    core: Core,
) -> None:
    await setup_coop(core)
    await say(core, "alice", '!poll Snacks? options:"Lake | a,c | City" method:approval')
    await say(core, "alice", '!poll Where? options:"B | A | C>A" method:ranked')
    ack = await say(core, "bob", "!vote 1 C,A")
    assert "recorded: Lake, City (A,C)" in ack
    assert "Lake 1 · a,c 0 · City 1" in await say(core, "bob", "!show 1")

    ack = await say(core, "carol", "!vote 2 c > a")
    assert "recorded: C>A > B (C>A)" in ack
    assert "first preferences: B 0 · A 0 · C>A 1" in await say(core, "carol", "!show 2")
    closed = await say(core, "alice", "!close 2")
    assert "round 1: C>A 1 · B 0 · A 0 — C>A has a majority" in closed
