"""Stories for splitting a surplus by weighted contribution, to the cent (SPEC §6)."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.patronage import (
    Weights,
    parse_money,
    parse_reserve_share,
    shares,
    split_surplus,
    weighted_total,
)
from bot.errors import UserError

D = Decimal


def test_default_weights_count_hours_and_points_but_not_kudos() -> None:
    assert weighted_total(D("11.5"), 5, 2, Weights()) == Fraction(33, 2)


def test_weights_from_config_floats_stay_exact() -> None:
    weights = Weights.of(0.1, 2, "0.5")
    assert weights == Weights(D("0.1"), D("2"), D("0.5"))
    assert weighted_total(D(3), 1, 4, weights) == Fraction(43, 10)


def test_shares_of_the_total() -> None:
    assert shares({"bob": 3, "ann": 1}) == {"bob": Fraction(3, 4), "ann": Fraction(1, 4)}
    assert shares({"bob": 0}) == {"bob": Fraction(0)}


def test_a_hundred_split_three_ways_gives_the_spare_cent_to_the_first_listed() -> None:
    split = split_surplus(D("100.00"), Fraction(0), {"ann": 1, "bob": 1, "cy": 1})
    assert split.allocations == {"ann": D("33.34"), "bob": D("33.33"), "cy": D("33.33")}
    assert split.reserve == D("0.00")


def test_remainder_cents_go_to_the_largest_fractional_parts() -> None:
    # Exact shares 14.2857…, 28.5714…, 57.1428…: fractions .57, .14, .28 (cents)
    split = split_surplus(D("100.00"), Fraction(0), {"a": 1, "b": 2, "c": 4})
    assert split.allocations == {"a": D("14.29"), "b": D("28.57"), "c": D("57.14")}
    assert sum(split.allocations.values()) == D("100.00")


def test_equal_fractions_favour_the_larger_contribution() -> None:
    # 0.05 split 1:1:2 → 1.25, 1.25, 2.5 cents; the spare cent goes to the biggest contributor.
    split = split_surplus(D("0.05"), Fraction(0), {"a": 1, "b": 1, "c": 2})
    assert split.allocations == {"a": D("0.01"), "b": D("0.01"), "c": D("0.03")}


def test_the_reserve_is_taken_first_and_rounded_to_the_cent() -> None:
    split = split_surplus(D("1000.01"), parse_reserve_share("10%"), {"ann": 2, "bob": 1})
    assert split.reserve == D("100.00")  # 100.001 rounds to 100.00
    assert split.distributed == D("900.01")
    assert split.allocations == {"ann": D("600.01"), "bob": D("300.00")}
    assert split.reserve + sum(split.allocations.values()) == D("1000.01")


def test_members_without_contribution_get_nothing() -> None:
    split = split_surplus(D("50.00"), Fraction(0), {"ann": D("4.5"), "bob": 0})
    assert split.allocations == {"ann": D("50.00"), "bob": D("0.00")}


def test_a_split_with_nobody_contributing_is_refused() -> None:
    with pytest.raises(UserError, match="nobody has a weighted contribution"):
        split_surplus(D("100.00"), Fraction(0), {"ann": 0, "bob": 0})
    with pytest.raises(UserError):
        split_surplus(D("100.00"), Fraction(1, 5), {})


def test_everything_to_reserve_needs_no_contributions() -> None:
    split = split_surplus(D("80.00"), Fraction(1), dict[str, int]())
    assert (split.reserve, split.allocations) == (D("80.00"), {})


def test_a_negative_ledger_total_is_refused() -> None:
    with pytest.raises(UserError, match="negative"):
        split_surplus(D("10.00"), Fraction(0), {"ann": -1, "bob": 3})


@pytest.mark.parametrize(
    ("text", "amount"),
    [("1200", D("1200.00")), ("1200.5", D("1200.50")), (" 0.01 ", D("0.01"))],
)
def test_amounts_people_write(text: str, amount: Decimal) -> None:
    assert parse_money(text) == amount


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("12.345", "at most 2 decimals"),
        ("-5", "I can't read"),
        ("1,200", "I can't read"),
        ("€100", "I can't read"),
        ("0", "more than 0"),
        ("0.00", "more than 0"),
        ("5000000000", "at most 1,000,000,000.00"),
    ],
)
def test_bad_amounts_are_refused(text: str, message: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_money(text)
    assert message in caught.value.message
    assert caught.value.hint == "for example `!patronage 1200.50 period:year`"


@given(
    st.integers(1, 10**9).map(lambda cents: Decimal(cents) / 100),
    st.fractions(min_value=0, max_value=1, max_denominator=100),
    st.lists(
        st.one_of(
            st.integers(0, 1000),
            st.decimals(min_value=0, max_value=1000, places=2),
        ),
        min_size=1,
        max_size=30,
    ),
)
def test_the_parts_always_sum_exactly_to_the_surplus(
    surplus: Decimal, reserve_share: Fraction, amounts: list[int | Decimal]
) -> None:
    contributions = dict(enumerate(amounts))
    if sum(amounts) == 0 and reserve_share < 1:
        return
    split = split_surplus(surplus, reserve_share, contributions)
    assert split.reserve + sum(split.allocations.values()) == surplus
    total = sum(Fraction(a) for a in amounts)
    cents = int(split.distributed * 100)
    for key, amount in contributions.items():
        exact = Fraction(cents) * Fraction(amount) / total if total else Fraction(0)
        got = Fraction(split.allocations[key]) * 100
        assert abs(got - exact) < 1  # each part is its exact share rounded down or up
        assert split.allocations[key] == split.allocations[key].quantize(D("0.01"))
