"""Every number a member types is bounded in length and digits before it is converted: no
input can make exact arithmetic slow, and what is accepted is always small (SPEC §7)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain import polls
from bot.domain.numbers import NUMBER_TEXT_MAX, decimal_number, whole_number
from bot.domain.patronage import parse_money, parse_reserve_share
from bot.domain.proposals import parse_min_voting_time, parse_quorum, parse_threshold
from bot.domain.ratios import RATIO_TEXT_MAX, parse_ratio, ratio_text, read_stored_ratio
from bot.domain.timeparse import WHEN_TEXT_MAX, parse_duration, parse_when
from bot.errors import UserError

NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
NEW_YORK = ZoneInfo("America/New_York")

# What an attacker pastes: exponents that would take minutes to expand exactly, digit runs
# far past any real value, digits that are not ASCII, and the things Python's own number
# parsers accept but people never mean (underscores, NaN, infinity).
HOSTILE = [
    "1e-99999999",
    "1e99999999",
    "1E+999999999%",
    "9" * 5000,
    "0." + "3" * 5000,
    "9" * 4000 + "/" + "7" * 4000,
    "1_000",
    "٥",
    "５",
    "²",
    "NaN",
    "Infinity",
    "-0",
    "0x10",
    "99999999w",
    "999999999d",
    "9999-12-31 23:00",
]

_digits = st.text(alphabet="0123456789", min_size=1, max_size=60)
_numberish = st.one_of(
    st.sampled_from(HOSTILE),
    _digits,
    st.builds(lambda a, b: f"{a}e{b}", _digits, _digits),
    st.builds(lambda a, b: f"{a}/{b}", _digits, _digits),
    st.builds(lambda a, b: f"{a}.{b}%", _digits, _digits),
    st.builds(lambda a, u: f"{a}{u}", _digits, st.sampled_from("wdhms")),
    st.text(alphabet="0123456789.,/%+-eE_wdhms :T", max_size=80),
    st.text(max_size=40),
)
_long = st.text(min_size=1, max_size=30).map(lambda s: (s.strip() or "9") * 200)

_PROPERTY = settings(max_examples=400, deadline=None)


def _readers() -> list[tuple[str, object]]:
    return [
        ("quorum", parse_quorum),
        ("threshold", parse_threshold),
        ("reserve share", parse_reserve_share),
        ("duration", parse_duration),
        ("shortest voting time", parse_min_voting_time),
        ("amount", parse_money),
    ]


@_PROPERTY
@given(_numberish)
def test_whole_numbers_are_at_most_nine_ascii_digits(text: str) -> None:
    value = whole_number(text)
    if value is not None:
        assert 0 <= value < 10**9
        assert text.strip().lstrip("+").isascii()


@_PROPERTY
@given(_numberish)
def test_decimals_are_short_finite_and_exponent_free(text: str) -> None:
    value = decimal_number(text, comma=True)
    if value is not None:
        assert value.is_finite()
        _sign, digits, exponent = value.as_tuple()
        assert isinstance(exponent, int) and -6 <= exponent <= 0
        assert len(digits) <= 13 + 6
        assert "e" not in text.lower()


@_PROPERTY
@given(_numberish)
def test_ratios_are_small_exact_fractions_in_zero_to_one(text: str) -> None:
    try:
        value = parse_ratio(text, what="quorum", example="quorum:50%")
    except UserError as error:
        assert "\n" not in error.message
        return
    assert 0 <= value <= 1
    # Never more digits than a person types: 4-digit parts, or a percentage with 4 places.
    assert value.denominator <= 10**6


@_PROPERTY
@given(_long)
def test_long_text_is_refused_for_its_length_before_it_is_read(text: str) -> None:
    """Past the bound, the only answer is the length message: nothing else was tried."""
    assert len(text.strip()) > RATIO_TEXT_MAX
    with pytest.raises(UserError) as caught:
        parse_ratio(text, what="quorum", example="quorum:50%")
    assert f"not {len(text.strip())} characters" in caught.value.message
    if len(text.strip()) > WHEN_TEXT_MAX:
        with pytest.raises(UserError) as caught:
            parse_duration(text)
        assert f"not {len(text.strip())} characters" in caught.value.message
        with pytest.raises(UserError) as caught:
            parse_when(text, NEW_YORK, NOW, date_means="end")
        assert f"not {len(text.strip())} characters" in caught.value.message
    if len(text.strip()) > NUMBER_TEXT_MAX:
        assert whole_number(text) is None
        assert decimal_number(text) is None


@_PROPERTY
@given(_numberish)
def test_every_reader_answers_a_value_or_one_line(text: str) -> None:
    for _, read in _readers():
        try:
            read(text)  # type: ignore[operator]
        except UserError as error:
            assert "\n" not in error.message
    try:
        when = parse_when(text, NEW_YORK, NOW, date_means="end")
    except UserError as error:
        assert "\n" not in error.message
    else:
        assert NOW < when <= NOW + timedelta(days=5 * 366)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_numbers_are_refused_everywhere(text: str) -> None:
    for _, read in _readers():
        with pytest.raises(UserError):
            read(text)  # type: ignore[operator]
    assert whole_number(text) is None


def test_a_reserve_share_with_a_huge_exponent_is_refused_not_expanded() -> None:
    # Before, Fraction("1e-99999999") ran for hours and the result (a tiny share) was kept.
    with pytest.raises(UserError) as caught:
        parse_reserve_share("1e-99999999")
    assert caught.value.message == "I can't read '1e-99999999' as a reserve share"


def test_a_reserve_share_is_below_everything() -> None:
    assert parse_reserve_share("10%") == Fraction(1, 10)
    with pytest.raises(UserError, match="below 100%"):
        parse_reserve_share("100%")


def test_a_score_is_ascii_digits_only() -> None:
    with pytest.raises(UserError, match="a score is a whole number from 0 to 5"):
        polls.parse_ballot(polls.PollMethod.SCORE, ["Hall", "Barn"], "A=²", 3)
    ballot = polls.parse_ballot(polls.PollMethod.SCORE, ["Hall", "Barn"], "A=5,B=0", 3)
    assert ballot.scores == (5, 0)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1200", Decimal("1200.00")), ("1200.5", Decimal("1200.50")), (" 0.01 ", Decimal("0.01"))],
)
def test_amounts_people_write(text: str, value: Decimal) -> None:
    assert parse_money(text) == value


def test_stored_ratios_read_back_exactly_and_nothing_else() -> None:
    for value in (Fraction(0), Fraction(1), Fraction(1, 2), Fraction(33, 50), Fraction(2, 3)):
        assert read_stored_ratio(ratio_text(value)) == value
    for stored in ("60%", "1e-5", "", "1/0", "3/2", "9" * 100, None, 5, ["1/2"]):
        assert read_stored_ratio(stored) is None


def test_the_shortest_voting_time_is_a_minute_to_thirty_days() -> None:
    assert parse_min_voting_time("1h") == timedelta(hours=1)
    for text in ("30s", "31d"):
        with pytest.raises(UserError, match="must be 1m to 30d"):
            parse_min_voting_time(text)
