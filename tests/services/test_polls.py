"""Polls end to end: single, approval, score and ranked choice, counted and announced."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Decision, Member, Vote
from bot.services import ballots as stored_cast
from tests.support import announcements, say, setup_coop

# alice and these 13 make 14 members.
FOURTEEN = ("bob", "carol", "dan", "erin", "femi", "gus", "hana", "ivo", "jo", "kim", "lee",
            "mo", "ned")  # fmt: skip


async def ballots(core: Core, number: int) -> dict[str, str]:
    """{member: stored ballot in letters}, read from the stored option positions."""
    async with core.sessions() as session:
        rows = await session.execute(
            select(Member.name, Decision, Vote.choice, Vote.ballot)
            .join(Vote, Vote.member_id == Member.id)
            .join(Decision, Decision.id == Vote.decision_id)
            .where(Decision.number == number)
        )
        return {
            name: stored_cast.read(decision, choice, ballot).letters()
            for name, decision, choice, ballot in rows.tuples().all()
        }


async def stored(core: Core, number: int) -> Decision:
    async with core.sessions() as session:
        found = await session.scalar(select(Decision).where(Decision.number == number))
        assert found is not None
        return found


async def test_the_retreat_is_chosen_by_instant_runoff(core: Core, clock: ManualClock) -> None:
    await setup_coop(core, members=FOURTEEN)
    opened = await say(
        core,
        "alice",
        '!poll Where should the retreat be? options:"Lakehouse | Cabin | City | Farm" '
        "method:ranked closes:2d",
    )
    assert "Poll #1 opened by @alice" in opened
    assert "A: Lakehouse\n  B: Cabin\n  C: City\n  D: Farm" in opened
    assert "vote: !vote 1 C>A>B" in opened

    # 5 Lakehouse, 4 Cabin, 3 City (2 then Lakehouse, 1 then Cabin), 2 Farm (split).
    plan = [("A", 5), ("Cabin > lakehouse", 4), ("C>A>B", 2), ("city>cabin", 1)]
    plan += [("D>A", 1), ("Farm > Cabin > City", 1)]
    voters = iter(("alice", *FOURTEEN))
    for ballot, times in plan:
        for _ in range(times):
            reply = await say(core, next(voters), f"!vote 1 {ballot}")
            assert "is recorded" in reply, reply
    assert (await ballots(core, 1))["ned"] == "D>B>C"
    changed = await say(core, "ned", "!vote 1 Farm > Cabin > City")
    assert changed.startswith("Your vote on #1 is changed: Farm > Cabin > City (D>B>C)")
    shown = await say(core, "bob", "!show 1")
    assert "first preferences: Lakehouse 5 · Cabin 4 · City 3 · Farm 2" in shown
    assert "turnout 14/14 — quorum 7 met" in shown

    clock.advance(timedelta(days=2))
    await core.run_due_work()
    (result,) = [a for a in await announcements(core) if "winner" in a]
    assert result == (
        "#1 Where should the retreat be? — winner: Lakehouse (round 3 of 3; turnout 14/14, "
        "quorum 7 met)\n"
        "  round 1: Lakehouse 5 · Cabin 4 · City 3 · Farm 2 → Farm out\n"
        "  round 2: Lakehouse 6 · Cabin 5 · City 3 → City out\n"
        "  round 3: Lakehouse 8 · Cabin 6 — Lakehouse has a majority of 14 continuing ballots"
    )
    decision = await stored(core, 1)
    assert (decision.status, decision.outcome) == ("closed", "winner: Lakehouse")
    assert decision.result is not None and decision.result["winners"] == [0]
    assert "#1 Where should the retreat be? — winner: Lakehouse (round 3 of 3" in await say(
        core, "bob", "!show 1"
    )


async def test_ranked_ballots_that_run_out_are_exhausted(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan", "erin", "femi", "gus"))
    await say(
        core, "alice", '!poll Which day? options:"Monday | Tuesday | Wednesday" method:ranked'
    )
    for name, ballot in (
        ("alice", "A"), ("bob", "A"), ("carol", "A"), ("dan", "B"), ("erin", "B"),
        ("femi", "C"), ("gus", "C>A"),
    ):  # fmt: skip
        await say(core, name, f"!vote 1 {ballot}")
    closed = await say(core, "alice", "!close 1")
    assert closed == (
        "#1 Which day? — winner: Monday (round 2 of 2; turnout 7/7, quorum 4 met)\n"
        # Tuesday and Wednesday tie for fewest and first round: the later one goes.
        "  round 1: Monday 3 · Tuesday 2 · Wednesday 2 → Wednesday out\n"
        "  round 2: Monday 4 · Tuesday 2 (1 exhausted) — Monday has a majority of 6 continuing "
        "ballots"
    )


async def test_a_tie_at_the_top_is_reported_as_a_tie(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", '!poll Team colour? options:"Red | Green | Blue"')
    for name, pick in (("alice", "Red"), ("bob", "B"), ("carol", "a"), ("dan", "green")):
        await say(core, name, f"!vote 1 {pick}")
    closed = await say(core, "alice", "!close 1")
    assert closed == (
        "#1 Team colour? — tie: Red and Green (turnout 4/4, quorum 2 met)\n"
        "  Red 2 · Green 2 · Blue 0"
    )
    assert (await stored(core, 1)).outcome == "tie: Red and Green"

    await say(core, "alice", '!poll Mascot? options:"Owl | Fox" method:ranked')
    await say(core, "bob", "!vote 2 A>B")
    await say(core, "carol", "!vote 2 Fox")
    assert "— tie: Owl and Fox (turnout 2/4" in await say(core, "alice", "!close 2")
    assert "round 1: Owl 1 · Fox 1 — tie between Owl and Fox" in await say(core, "bob", "!show 2")


async def test_approval_and_score_polls(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol"))
    await say(core, "alice", '!poll Which snacks? options:"Crisps | Fruit | Nuts" method:approval')
    assert "#1 is recorded: Crisps, Nuts (A,C)" in await say(core, "alice", "!vote 1 Crisps, Nuts")
    assert "#1 is recorded: Fruit, Nuts (B,C)" in await say(core, "bob", "!vote 1 c,b")
    await say(core, "carol", "!vote 1 C")
    assert "— winner: Nuts (turnout 3/3, quorum 2 met)\n  Crisps 1 · Fruit 1 · Nuts 3" in await say(
        core, "alice", "!close 1"
    )

    await say(core, "alice", '!poll Rate the venues options:"Hall | Barn | Park" method:score')
    await say(core, "alice", "!vote 2 A=5,B=3,C=0")
    assert "#2 is recorded: Hall 4, Barn 5 (A=4,B=5)" in await say(
        core, "bob", "!vote 2 Barn=5, hall=4"
    )
    await say(core, "carol", "!vote 2 A=0,B=0,C=5")
    assert await ballots(core, 2) == {
        "alice": "A=5,B=3,C=0",
        "bob": "A=4,B=5",
        "carol": "A=0,B=0,C=5",
    }
    shown = await say(core, "bob", "!show 2")
    assert "mean score: Hall 3.00 · Barn 2.67 · Park 1.67" in shown
    assert "— winner: Hall (turnout 3/3" in await say(core, "alice", "!close 2")


async def test_wrong_ballot_shapes_get_the_methods_example(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", '!poll One? options:"Red | Green | Blue"')
    await say(core, "alice", '!poll Some? options:"Red | Green | Blue" method:approval')
    await say(core, "alice", '!poll Order? options:"Red | Green | Blue" method:ranked')
    await say(core, "alice", '!poll Score? options:"Red | Green | Blue" method:score')
    for number, ballot, expected in (
        (1, "A,B", "#1 is a single-choice poll: pick one option — for example `!vote 1 B`"),
        (1, "Purple", "#1 has no option 'Purple': name one by its letter A–C or its full text"),
        (2, "A,A", "#2: each option can be approved only once — for example `!vote 2 A,C`"),
        (3, "A,B", "#3 is a ranked poll: put options in order with > — "
                   "for example `!vote 3 C>A>B`"),
        (3, "A>B>A", "#3: each option can be ranked only once"),
        (4, "A", "#4 is a score poll: give each option a score 0–5 — for example "
                 "`!vote 4 A=5,B=3,C=0`"),
        (4, "A=9", "#4: a score is a whole number from 0 to 5 (got '9')"),
        (1, "yes", "#1 has no option 'yes'"),
    ):  # fmt: skip
        reply = await say(core, "bob", f"!vote {number} {ballot}")
        assert expected in reply, reply
    assert await ballots(core, 1) == {} and await ballots(core, 4) == {}


async def test_a_poll_without_quorum_names_no_winner(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "alice", '!poll Lunch? options:"Soup | Salad"')
    await say(core, "bob", "!vote 1 Soup")
    closed = await say(core, "alice", "!close 1")
    assert closed == "#1 Lunch? — no quorum (turnout 1/4, quorum 2 not met)\n  Soup 1 · Salad 0"
    assert (await stored(core, 1)).outcome == "no quorum"


async def test_long_option_names_still_close(core: Core) -> None:
    await setup_coop(core)
    names = [f"{letter * 190} {n}" for n, letter in enumerate("XYZ")]
    await say(core, "alice", f'!poll Pick? options:"{" | ".join(names)}"')
    for name, pick in (("alice", "A"), ("bob", "B"), ("carol", "C")):
        await say(core, name, f"!vote 1 {pick}")
    closed = await say(core, "alice", "!close 1")
    assert closed.startswith("#1 Pick? — tie: XXX")
    outcome = (await stored(core, 1)).outcome
    assert outcome is not None and len(outcome) == 200 and outcome.endswith("…")


async def test_a_score_card_says_an_unscored_option_counts_as_zero(core: Core) -> None:
    await setup_coop(core)
    opened = await say(core, "alice", '!poll Rate them options:"Hall | Barn" method:score')
    note = "score each option 0–5; an option you leave unscored counts as 0"
    assert note in opened
    assert note in await say(core, "bob", "!show 1")
    # bob scores only the Hall: his Barn counts as 0, so one keen voter can't carry it.
    await say(core, "bob", "!vote 1 A=2")
    await say(core, "carol", "!vote 1 B=3")
    assert "mean score: Hall 1.00 · Barn 1.50" in await say(core, "bob", "!show 1")
    await say(core, "alice", '!poll Pick one options:"Hall | Barn"')
    assert "unscored" not in await say(core, "bob", "!show 2")
