"""Counting grouped ballots (each distinct ballot once, with how many cast it) gives the
result of counting them one by one, and the pile-based instant runoff gives the result of
the round-by-round recount it replaced."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import polls
from bot.domain.limits import SCORE_MAX, SCORE_MIN


def _recount_ranked(n_options: int, ballots: list[polls.Ballot]) -> polls.PollResult:
    """The instant runoff as counted before piles: every round reads every ballot."""
    continuing = list(range(n_options))
    rounds: list[polls.RankedRound] = []
    first_round: dict[int, int] = {}
    winners: tuple[int, ...] = ()
    while ballots and continuing:
        counts = dict.fromkeys(continuing, 0)
        exhausted = 0
        alive = set(continuing)
        for ballot in ballots:
            top = next((option for option in ballot.picks if option in alive), None)
            if top is None:
                exhausted += 1
            else:
                counts[top] += 1
        if not rounds:
            first_round = dict(counts)
        active = len(ballots) - exhausted
        leader = max(continuing, key=lambda option: counts[option])
        if counts[leader] * 2 > active:
            rounds.append(polls.RankedRound(counts, active, exhausted, majority=leader))
            winners = (leader,)
            break
        if len({counts[option] for option in continuing}) == 1:
            rounds.append(polls.RankedRound(counts, active, exhausted, tied=tuple(continuing)))
            winners = tuple(continuing)
            break
        fewest = min(counts[option] for option in continuing)
        loser = min(
            (option for option in continuing if counts[option] == fewest),
            key=lambda option: (first_round[option], -option),
        )
        rounds.append(polls.RankedRound(counts, active, exhausted, eliminated=loser))
        continuing.remove(loser)
    totals = tuple(first_round.get(option, 0) for option in range(n_options))
    return polls.PollResult(
        polls.PollMethod.RANKED, len(ballots), totals, winners, rounds=tuple(rounds)
    )


@st.composite
def polls_cast(draw: st.DrawFn) -> tuple[polls.PollMethod, int, list[polls.Ballot]]:
    method = draw(st.sampled_from(list(polls.PollMethod)))
    n = draw(st.integers(2, 8))
    option = st.integers(0, n - 1)
    ballots: list[polls.Ballot] = []
    for _ in range(draw(st.integers(0, 60))):
        if method is polls.PollMethod.SINGLE:
            ballots.append(polls.Ballot(method, (draw(option),)))
        elif method is polls.PollMethod.APPROVAL:
            ballots.append(polls.Ballot(method, tuple(sorted(draw(st.sets(option, min_size=1))))))
        elif method is polls.PollMethod.RANKED:
            order = draw(st.permutations(range(n)))
            ballots.append(polls.Ballot(method, tuple(order[: draw(st.integers(1, n))])))
        else:
            picks = sorted(draw(st.sets(option, min_size=1)))
            scores = tuple(draw(st.integers(SCORE_MIN, SCORE_MAX)) for _ in picks)
            ballots.append(polls.Ballot(method, tuple(picks), scores))
    return method, n, ballots


@given(polls_cast())
def test_grouped_ballots_count_as_the_ballots_one_by_one(
    cast: tuple[polls.PollMethod, int, list[polls.Ballot]],
) -> None:
    method, n, ballots = cast
    grouped = list(Counter(ballots).items())
    assert polls.count_weighted(method, n, grouped) == polls.count_poll(method, n, ballots)
    if method is polls.PollMethod.RANKED:
        assert polls.count_poll(method, n, ballots) == _recount_ranked(n, ballots)


def test_a_ranked_count_with_exhausted_ballots_matches_the_recount() -> None:
    r = polls.PollMethod.RANKED
    ballots = [polls.Ballot(r, p) for p in [(0,), (0,), (1, 2), (2,), (3, 1), (3,), (1,)]]
    assert polls.count_poll(r, 4, ballots) == _recount_ranked(4, ballots)
