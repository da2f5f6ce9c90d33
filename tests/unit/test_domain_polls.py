"""Stories for poll ballots and counts: single, approval, score and instant-runoff (SPEC §4)."""

from __future__ import annotations

import re
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.polls import (
    Ballot,
    PollMethod,
    count_poll,
    describe_rounds,
    describe_winner,
    parse_ballot,
    parse_options,
    parse_poll_method,
)
from bot.errors import UserError

SINGLE, APPROVAL, RANKED, SCORE = (
    PollMethod.SINGLE,
    PollMethod.APPROVAL,
    PollMethod.RANKED,
    PollMethod.SCORE,
)
RETREAT = ("Lakehouse", "Cabin", "City", "Farm")


def ranked(options: tuple[str, ...], *texts: str) -> list[Ballot]:
    return [parse_ballot(RANKED, options, text, 9) for text in texts]


# --- options and ballots --------------------------------------------------------------


def test_options_are_split_on_bars_and_trimmed() -> None:
    assert parse_options(" Lakehouse | Cabin |City ") == ("Lakehouse", "Cabin", "City")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Only one", "at least 2 options"),
        ("A | | B", "an option is empty"),
        ("Lake | lake", "listed twice"),
        (" | ".join(f"o{i}" for i in range(21)), "at most 20 options (got 21)"),
        ("x" * 201 + " | y", "the limit is 200"),
    ],
)
def test_bad_option_lists_are_refused(text: str, message: str) -> None:
    with pytest.raises(UserError, match=re.escape(message)):
        parse_options(text)


def test_poll_method_names() -> None:
    assert parse_poll_method("Ranked") is RANKED
    with pytest.raises(UserError, match="single, approval, ranked or score"):
        parse_poll_method("borda")


def test_options_by_letter_or_full_text_any_case() -> None:
    assert parse_ballot(SINGLE, RETREAT, "b", 9).picks == (1,)
    assert parse_ballot(SINGLE, RETREAT, "  city ", 9).picks == (2,)
    assert parse_ballot(APPROVAL, RETREAT, "C, a", 9).picks == (0, 2)
    assert parse_ballot(RANKED, RETREAT, "C>A>B", 9).picks == (2, 0, 1)
    assert parse_ballot(RANKED, RETREAT, "farm > Lakehouse", 9).picks == (3, 0)
    score = parse_ballot(SCORE, RETREAT, "A=5, B=3,C=0", 9)
    assert (score.picks, score.scores) == ((0, 1, 2), (5, 3, 0))


def test_an_option_with_a_comma_can_be_named_in_full() -> None:
    options = ("Yes, gladly", "No")
    assert parse_ballot(SINGLE, options, "yes, gladly", 4).picks == (0,)
    assert parse_ballot(APPROVAL, options, "Yes, gladly", 4).picks == (0,)


def test_ballots_read_back_from_their_canonical_text() -> None:
    for method, text in [(SINGLE, "B"), (APPROVAL, "A,C"), (RANKED, "C>A>B"), (SCORE, "A=5,C=0")]:
        ballot = parse_ballot(method, RETREAT, text, 9)
        assert ballot.text() == text
        assert parse_ballot(method, RETREAT, ballot.text(), 9) == ballot


@pytest.mark.parametrize(
    ("method", "text", "message", "hint"),
    [
        (SINGLE, "A,C", "#9 is a single-choice poll: pick one option", "`!vote 9 B`"),
        (SINGLE, "E", "#9 has no option 'E': name one by its letter A–D", "`!vote 9 B`"),
        (SINGLE, "", "#9: say which option", "`!vote 9 B`"),
        (APPROVAL, "A,A", "approved only once", "`!vote 9 A,C`"),
        (RANKED, "C,A,B", "#9 is a ranked poll: put options in order with >", "`!vote 9 C>A>B`"),
        (RANKED, "A>B>A", "ranked only once", "`!vote 9 C>A>B`"),
        (SCORE, "A=6", "a score is a whole number from 0 to 5", "`!vote 9 A=5,B=3,C=0`"),
        (SCORE, "A=2.5", "a score is a whole number", "`!vote 9 A=5,B=3,C=0`"),
        (SCORE, "A", "give each option a score 0–5", "`!vote 9 A=5,B=3,C=0`"),
        (SCORE, "A=1,a=2", "option A is scored twice", "`!vote 9 A=5,B=3,C=0`"),
    ],
)
def test_bad_ballots_name_the_poll_and_show_its_syntax(
    method: PollMethod, text: str, message: str, hint: str
) -> None:
    with pytest.raises(UserError) as caught:
        parse_ballot(method, RETREAT, text, 9)
    assert message in caught.value.message
    assert caught.value.hint == f"for example {hint}"


def test_examples_fit_a_two_option_poll() -> None:
    with pytest.raises(UserError) as caught:
        parse_ballot(RANKED, ("Tea", "Coffee"), "C", 2)
    assert caught.value.hint == "for example `!vote 2 B>A`"


# --- single, approval, score ----------------------------------------------------------


def test_single_most_votes_wins() -> None:
    ballots = [parse_ballot(SINGLE, RETREAT, t, 9) for t in ["A", "B", "B", "d"]]
    result = count_poll(SINGLE, 4, ballots)
    assert result.totals == (1, 2, 0, 1)
    assert result.winners == (1,)
    assert describe_winner(result, RETREAT) == "winner: Cabin"


def test_single_tie_at_the_top_is_a_tie() -> None:
    ballots = [parse_ballot(SINGLE, RETREAT, t, 9) for t in ["A", "B"]]
    result = count_poll(SINGLE, 4, ballots)
    assert result.winners == (0, 1)
    assert describe_winner(result, RETREAT) == "tie: Lakehouse and Cabin"


def test_no_votes_no_winner() -> None:
    for method in PollMethod:
        result = count_poll(method, 4, [])
        assert result.winners == ()
        assert describe_winner(result, RETREAT) == "no votes"


def test_approval_most_approvals_wins() -> None:
    ballots = [parse_ballot(APPROVAL, RETREAT, t, 9) for t in ["A,C", "C", "B,C,D", "A"]]
    result = count_poll(APPROVAL, 4, ballots)
    assert result.totals == (2, 1, 3, 1)
    assert result.winners == (2,)


def test_score_highest_mean_with_unscored_as_zero() -> None:
    ballots = [
        parse_ballot(SCORE, RETREAT, t, 9) for t in ["A=5,B=3,C=0", "A=2,B=4", "B=4,D=5", "C=1"]
    ]
    result = count_poll(SCORE, 4, ballots)
    assert result.totals == (7, 11, 1, 5)
    assert result.means == (Fraction(7, 4), Fraction(11, 4), Fraction(1, 4), Fraction(5, 4))
    assert result.winners == (1,)


def test_one_enthusiast_cannot_carry_an_option_others_ignored() -> None:
    ballots = [parse_ballot(SCORE, RETREAT, t, 9) for t in ["A=4", "A=4", "A=4,B=5"]]
    assert count_poll(SCORE, 4, ballots).winners == (0,)


# --- ranked: instant runoff ----------------------------------------------------------


def test_the_retreat_poll_of_the_ux_guide() -> None:
    ballots = ranked(
        RETREAT,
        *["Lakehouse"] * 5,
        *["Cabin>Lakehouse"] * 4,
        "City>Lakehouse",
        "City>Lakehouse",
        "City>Cabin",
        "Farm>Lakehouse",
        "Farm>Cabin",
    )
    result = count_poll(RANKED, 4, ballots)
    assert result.winners == (0,)
    assert result.totals == (5, 4, 3, 2)
    assert describe_winner(result, RETREAT) == "winner: Lakehouse (round 3 of 3)"
    assert describe_rounds(result, RETREAT) == [
        "round 1: Lakehouse 5 · Cabin 4 · City 3 · Farm 2 → Farm out",
        "round 2: Lakehouse 6 · Cabin 5 · City 3 → City out",
        "round 3: Lakehouse 8 · Cabin 6 — Lakehouse has a majority of 14 continuing ballots",
    ]


def test_a_first_round_majority_ends_the_count() -> None:
    result = count_poll(RANKED, 3, ranked(("A", "B", "C"), "A>B", "A", "B>A"))
    assert len(result.rounds) == 1 and result.winners == (0,)
    assert result.rounds[0].majority == 0


def test_exhausted_ballots_leave_the_count() -> None:
    options = ("Oak", "Birch", "Cedar", "Deodar")
    ballots = ranked(options, *["A"] * 4, *["B>C"] * 2, *["C"] * 3, "D>B")
    result = count_poll(RANKED, 4, ballots)
    # Round 2: Birch and Cedar tie for fewest at 3; Birch had fewer first-round votes.
    first, second, third = result.rounds
    assert first.eliminated == 3
    assert second.counts == {0: 4, 1: 3, 2: 3}
    assert second.eliminated == 1
    # The D>B ballot has nobody left; Cedar's 5 of 9 continuing ballots is a majority.
    assert (third.exhausted, third.continuing_ballots, third.counts) == (1, 9, {0: 4, 2: 5})
    assert result.winners == (2,)
    assert describe_rounds(result, options)[2] == (
        "round 3: Cedar 5 · Oak 4 (1 exhausted) — Cedar has a majority of 9 continuing ballots"
    )


def test_tie_for_fewest_with_equal_first_round_drops_the_option_listed_later() -> None:
    options = ("Ash", "Beech", "Cherry")
    ballots = ranked(options, *["A"] * 3, *["B"] * 2, *["C>B"] * 2)
    result = count_poll(RANKED, 3, ballots)
    assert result.rounds[0].eliminated == 2  # Cherry, listed after Beech
    assert result.winners == (1,)  # Cherry's voters carry Beech past Ash


def test_a_tie_at_the_top_is_reported_as_a_tie() -> None:
    options = ("Ash", "Beech", "Cherry")
    result = count_poll(RANKED, 3, ranked(options, *["A"] * 3, *["B"] * 2, "C>B"))
    assert result.winners == (0, 1)
    assert describe_rounds(result, options) == [
        "round 1: Ash 3 · Beech 2 · Cherry 1 → Cherry out",
        "round 2: Ash 3 · Beech 3 — tie between Ash and Beech",
    ]
    assert describe_winner(result, options) == "tie: Ash and Beech"


def test_options_nobody_ranked_are_dropped_one_round_each() -> None:
    result = count_poll(RANKED, 3, ranked(("A", "B", "C"), "A", "B"))
    assert [r.eliminated for r in result.rounds] == [2, None]
    assert result.winners == (0, 1)


def test_ballots_from_another_method_are_a_programming_error() -> None:
    with pytest.raises(ValueError):
        count_poll(RANKED, 4, [Ballot(SINGLE, (0,))])


@st.composite
def ranked_ballots(draw: st.DrawFn) -> tuple[int, list[Ballot]]:
    n = draw(st.integers(1, 8))
    orders = st.permutations(range(n)).flatmap(
        lambda order: st.integers(1, n).map(lambda k: tuple(order[:k]))
    )
    picks = draw(st.lists(orders, max_size=40))
    return n, [Ballot(RANKED, p) for p in picks]


@given(ranked_ballots())
def test_instant_runoff_always_ends_with_a_sound_result(case: tuple[int, list[Ballot]]) -> None:
    n, ballots = case
    result = count_poll(RANKED, n, ballots)
    assert set(result.winners) <= set(range(n))
    assert bool(result.winners) == bool(ballots)
    assert len(result.rounds) <= n
    for rnd in result.rounds:
        assert sum(rnd.counts.values()) + rnd.exhausted == len(ballots)
        assert sum(rnd.counts.values()) == rnd.continuing_ballots
    if result.rounds:
        last = result.rounds[-1]
        if last.majority is not None:
            assert result.winners == (last.majority,)
            assert 2 * last.counts[last.majority] > last.continuing_ballots
        else:
            assert result.winners == last.tied
            assert len({last.counts[o] for o in last.tied}) == 1
            assert set(last.tied) == set(last.counts)
        assert all(r.eliminated is not None for r in result.rounds[:-1])


@given(st.integers(2, 20), st.data())
def test_any_ballot_reads_back_from_its_text(n: int, data: st.DataObject) -> None:
    options = tuple(f"option {i}" for i in range(n))
    method = data.draw(st.sampled_from(list(PollMethod)))
    picks = data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    if method is SINGLE:
        ballot = Ballot(method, (picks[0],))
    elif method is APPROVAL:
        ballot = Ballot(method, tuple(sorted(picks)))
    elif method is RANKED:
        ballot = Ballot(method, tuple(picks))
    else:
        ordered = tuple(sorted(picks))
        scores = tuple(data.draw(st.integers(0, 5)) for _ in ordered)
        ballot = Ballot(method, ordered, scores)
    assert parse_ballot(method, options, ballot.text(), 1) == ballot
