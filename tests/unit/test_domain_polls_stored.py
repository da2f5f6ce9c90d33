"""Counting ranked polls from stored rankings (decoded JSON, with how many cast each) gives
the count of the Ballots read back one by one, and an unreadable stored value counts for
no option, exactly as `stored_ballot` refuses it."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.domain import polls

N = 5
_ranking = st.permutations(range(N)).flatmap(
    lambda order: st.integers(1, N).map(lambda k: list(order[:k]))
)
_odd: st.SearchStrategy[Any] = st.one_of(
    st.just([]),
    st.just([0, 0]),
    st.just([N]),
    st.just([-1, 2]),
    st.just([True, 2]),
    st.just([1.0, 2]),
    st.just(["A"]),
    st.just([[0], 1]),
    st.just({"0": 1}),
    st.just("A>B"),
    st.just(None),
)


def _stored(data: Any) -> polls.Ballot | None:
    try:
        return polls.stored_ballot(polls.PollMethod.RANKED, N, data)
    except ValueError:
        return None


@given(st.lists(st.tuples(st.one_of(_ranking, _odd), st.integers(0, 4)), max_size=30))
def test_stored_rankings_count_as_their_ballots(groups: list[tuple[Any, int]]) -> None:
    result, unreadable = polls.count_ranked_stored(N, groups)
    readable = [(b, n) for b, n in ((_stored(d), n) for d, n in groups) if b is not None]
    assert result == polls.count_weighted(polls.PollMethod.RANKED, N, readable)
    assert unreadable == sum(n for d, n in groups if _stored(d) is None)


def test_stored_ranking_refuses_what_stored_ballot_refuses() -> None:
    for data in ([], [0, 0], [N], [-1], [True], [False, 1], [1.0], ["A"], [[0]], "A", None, {}):
        assert polls.stored_ranking(N, data) is None, data
    assert polls.stored_ranking(N, [4, 0, 2]) == (4, 0, 2)
