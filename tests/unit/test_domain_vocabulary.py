"""The co-op's words as enums, the poll quorum verdict and the weekly kudos allowance."""

from __future__ import annotations

from fractions import Fraction

import pytest

from bot.domain.kudos import check_kudos_allowance
from bot.domain.polls import QuorumVerdict, quorum_verdict
from bot.domain.vocabulary import (
    ACTIVE_TASK,
    FINISHED,
    LIVE,
    DecisionKind,
    DecisionStatus,
    Role,
    TaskStatus,
)
from bot.errors import UserError


def test_the_stored_values_are_the_words_the_database_always_held() -> None:
    assert [s.value for s in DecisionStatus] == ["scheduled", "open", "closed", "withdrawn"]
    assert [s.value for s in TaskStatus] == ["open", "claimed", "done", "cancelled"]
    assert [r.value for r in Role] == ["member", "steward"]
    assert [k.value for k in DecisionKind] == ["proposal", "poll"]
    assert set(LIVE) | set(FINISHED) == set(DecisionStatus) and not set(LIVE) & set(FINISHED)
    assert set(ACTIVE_TASK) == {TaskStatus.OPEN, TaskStatus.CLAIMED}


def test_enum_members_read_and_print_as_their_words() -> None:
    assert Role("steward") is Role.STEWARD
    assert f"{DecisionStatus.WITHDRAWN}" == "withdrawn"
    assert DecisionStatus.OPEN == "open"
    with pytest.raises(ValueError):
        Role("admin")


@pytest.mark.parametrize(
    ("quorum", "eligible", "ballots", "expected"),
    [
        (Fraction(1, 2), 10, 5, QuorumVerdict(5, True)),
        (Fraction(1, 2), 10, 4, QuorumVerdict(5, False)),
        (Fraction(1, 2), 9, 5, QuorumVerdict(5, True)),  # 4.5 rounds up to 5
        (Fraction(1, 2), 9, 4, QuorumVerdict(5, False)),
        (Fraction(2, 3), 3, 2, QuorumVerdict(2, True)),
        (Fraction(0), 10, 0, QuorumVerdict(0, True)),  # no quorum: nobody needed
        (Fraction(1), 4, 4, QuorumVerdict(4, True)),
        (Fraction(1, 2), 0, 0, QuorumVerdict(0, True)),  # nobody eligible
    ],
)
def test_a_poll_reaches_its_quorum_with_enough_ballots(
    quorum: Fraction, eligible: int, ballots: int, expected: QuorumVerdict
) -> None:
    assert quorum_verdict(quorum, eligible, ballots) == expected


def test_kudos_within_the_weekly_allowance_add_up() -> None:
    assert check_kudos_allowance(given=0, amount=3, limit=10) == 3
    assert check_kudos_allowance(given=7, amount=3, limit=10) == 10


def test_kudos_past_the_allowance_say_what_is_left() -> None:
    with pytest.raises(UserError) as refused:
        check_kudos_allowance(given=9, amount=2, limit=10)
    assert refused.value.message == (
        "You can give 10 kudos points a week; you have given 9 this week, so 1 is left"
    )
    assert refused.value.hint == "give fewer, e.g. `points:1`"


def test_kudos_with_nothing_left_say_when_it_starts_again() -> None:
    with pytest.raises(UserError) as refused:
        check_kudos_allowance(given=10, amount=1, limit=10)
    assert "so 0 are left" in refused.value.message
    assert refused.value.hint == "the allowance starts again on Monday"
