"""Stories for proposal counting, quorum, choices and rule classes (SPEC §4)."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.proposals import (
    DEFAULT_THRESHOLD,
    Outcome,
    ProposalChoice,
    ProposalMethod,
    RuleClass,
    apply_rule_class,
    count_proposal,
    parse_proposal_choice,
    parse_quorum,
    parse_threshold,
    rule_class_from_config,
    votes_needed,
)
from bot.domain.ratios import format_ratio
from bot.errors import UserError

MAJ, SUPER, CONSENT = (
    ProposalMethod.MAJORITY,
    ProposalMethod.SUPERMAJORITY,
    ProposalMethod.CONSENT,
)
YES, NO, ABSTAIN, BLOCK = (
    ProposalChoice.YES,
    ProposalChoice.NO,
    ProposalChoice.ABSTAIN,
    ProposalChoice.BLOCK,
)
HALF = Fraction(1, 2)


def votes(yes: int = 0, no: int = 0, abstain: int = 0, block: int = 0) -> list[ProposalChoice]:
    return [YES] * yes + [NO] * no + [ABSTAIN] * abstain + [BLOCK] * block


# --- quorum -----------------------------------------------------------------------------


def test_half_of_twelve_needs_six_votes() -> None:
    count = count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 12, votes(yes=6))
    assert (count.needed, count.turnout, count.quorum_met) == (6, 6, True)
    assert count.votes_to_quorum == 0
    assert count.outcome is Outcome.PASSED


def test_five_of_twelve_is_no_quorum_even_if_all_say_yes() -> None:
    count = count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 12, votes(yes=5))
    assert not count.quorum_met
    assert count.votes_to_quorum == 1
    assert count.outcome is Outcome.NO_QUORUM


def test_half_of_seven_rounds_up_to_four() -> None:
    assert votes_needed(HALF, 7) == 4
    assert count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 7, votes(yes=3)).outcome == "no quorum"
    assert count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 7, votes(yes=4)).outcome == "passed"


def test_quorum_zero_is_always_met() -> None:
    count = count_proposal(MAJ, DEFAULT_THRESHOLD, Fraction(0), 40, votes(yes=1))
    assert count.needed == 0 and count.quorum_met
    assert count.outcome is Outcome.PASSED


def test_nobody_voting_with_quorum_zero_is_rejected_not_passed() -> None:
    count = count_proposal(MAJ, DEFAULT_THRESHOLD, Fraction(0), 5, [])
    assert count.outcome is Outcome.REJECTED


def test_66_percent_quorum_is_exact() -> None:
    quorum = parse_quorum("66%")
    assert quorum == Fraction(33, 50)
    assert votes_needed(quorum, 50) == 33  # 33 × 100 = 66 × 50 exactly
    assert votes_needed(quorum, 12) == 8  # 7.92 rounds up


def test_abstain_and_block_count_towards_turnout() -> None:
    count = count_proposal(CONSENT, DEFAULT_THRESHOLD, HALF, 6, votes(yes=1, abstain=1, block=1))
    assert count.turnout == 3 and count.quorum_met
    assert (count.yes, count.no, count.abstain, count.block) == (1, 0, 1, 1)


def test_abstentions_alone_meet_quorum_but_do_not_pass() -> None:
    count = count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 4, votes(abstain=2))
    assert count.quorum_met
    assert count.outcome is Outcome.REJECTED


# --- majority -------------------------------------------------------------------------


def test_majority_tie_fails() -> None:
    assert count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 10, votes(3, 3)).outcome == "rejected"


def test_majority_one_more_yes_passes() -> None:
    count = count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 12, votes(yes=7, no=2, abstain=1))
    assert count.outcome is Outcome.PASSED
    assert count.turnout == 10


# --- supermajority --------------------------------------------------------------------


def test_exactly_two_thirds_passes() -> None:
    count = count_proposal(SUPER, Fraction(2, 3), HALF, 9, votes(yes=6, no=3))
    assert count.outcome is Outcome.PASSED


def test_just_below_two_thirds_fails() -> None:
    # 5 / 8 = 0.625 < 2/3
    count = count_proposal(SUPER, Fraction(2, 3), HALF, 9, votes(yes=5, no=3))
    assert count.outcome is Outcome.REJECTED


def test_66_percent_is_not_two_thirds() -> None:
    sixty_six = parse_threshold("66%")
    # 33 of 50 is exactly 66%: passes at 66%, fails at 2/3.
    assert count_proposal(SUPER, sixty_six, HALF, 60, votes(33, 17)).outcome == "passed"
    assert count_proposal(SUPER, Fraction(2, 3), HALF, 60, votes(33, 17)).outcome == "rejected"


def test_supermajority_with_no_yes_fails_even_without_no() -> None:
    count = count_proposal(SUPER, Fraction(2, 3), Fraction(0), 5, votes(abstain=3))
    assert count.outcome is Outcome.REJECTED


def test_supermajority_abstentions_do_not_dilute() -> None:
    count = count_proposal(SUPER, Fraction(3, 4), HALF, 10, votes(yes=3, no=1, abstain=4))
    assert count.outcome is Outcome.PASSED


def test_supermajority_unanimous_threshold() -> None:
    assert count_proposal(SUPER, Fraction(1), HALF, 4, votes(4)).outcome == "passed"
    assert count_proposal(SUPER, Fraction(1), HALF, 4, votes(3, 1)).outcome == "rejected"


# --- consent --------------------------------------------------------------------------


def test_one_block_stops_consent_however_many_agree() -> None:
    count = count_proposal(CONSENT, DEFAULT_THRESHOLD, HALF, 20, votes(yes=19, block=1))
    assert count.outcome is Outcome.REJECTED


def test_consent_without_block_needs_more_yes_than_no() -> None:
    assert count_proposal(CONSENT, DEFAULT_THRESHOLD, HALF, 6, votes(2, 1)).outcome == "passed"
    assert count_proposal(CONSENT, DEFAULT_THRESHOLD, HALF, 6, votes(2, 2)).outcome == "rejected"


def test_block_under_majority_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 3, votes(block=1))


def test_more_votes_than_eligible_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        count_proposal(MAJ, DEFAULT_THRESHOLD, HALF, 2, votes(yes=3))


# --- choices --------------------------------------------------------------------------


def test_choices_are_case_insensitive() -> None:
    assert parse_proposal_choice(MAJ, " YES ", 7) is YES
    assert parse_proposal_choice(MAJ, "Abstain", 7) is ABSTAIN
    assert parse_proposal_choice(CONSENT, "block", 7) is BLOCK
    assert parse_proposal_choice(CONSENT, "agree", 7) is YES
    assert parse_proposal_choice(CONSENT, "Disagree", 7) is NO


def test_block_under_majority_is_refused_with_the_ux_message() -> None:
    with pytest.raises(UserError) as caught:
        parse_proposal_choice(MAJ, "block", 7)
    assert caught.value.message == "#7 uses method majority: choose yes, no or abstain"
    assert caught.value.hint == "for example `!vote 7 yes`"


def test_unknown_consent_choice_lists_block() -> None:
    with pytest.raises(UserError) as caught:
        parse_proposal_choice(CONSENT, "maybe", 3)
    assert caught.value.message == "#3 uses method consent: choose yes, no, abstain or block"


# --- thresholds and quorum text -------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("2/3", Fraction(2, 3)),
        ("3/4", Fraction(3, 4)),
        ("66%", Fraction(33, 50)),
        ("66.5%", Fraction(133, 200)),
        ("0.75", Fraction(3, 4)),
        ("1", Fraction(1)),
        ("100%", Fraction(1)),
    ],
)
def test_thresholds_people_write(text: str, value: Fraction) -> None:
    assert parse_threshold(text) == value


@pytest.mark.parametrize("text", ["1/2", "50%", "0.4", "5/4", "120%", "two thirds", "2/0", ""])
def test_thresholds_refused(text: str) -> None:
    with pytest.raises(UserError) as caught:
        parse_threshold(text)
    assert caught.value.hint is not None


@pytest.mark.parametrize(
    ("text", "value"),
    [("50%", HALF), ("0", Fraction(0)), ("0%", Fraction(0)), ("2/3", Fraction(2, 3))],
)
def test_quorums_people_write(text: str, value: Fraction) -> None:
    assert parse_quorum(text) == value


@pytest.mark.parametrize("text", ["150%", "50", "-10%", "half"])
def test_quorums_refused(text: str) -> None:
    with pytest.raises(UserError):
        parse_quorum(text)


def test_ratios_show_back_without_rounding() -> None:
    assert format_ratio(Fraction(1, 2)) == "50%"
    assert format_ratio(Fraction(33, 50)) == "66%"
    assert format_ratio(Fraction(2, 3)) == "2/3"


# --- rule classes ---------------------------------------------------------------------

BYLAW = RuleClass("bylaw_change", SUPER, Fraction(3, 4), Fraction(33, 50))


def test_a_plain_proposal_gets_majority_and_the_coop_quorum() -> None:
    rules = apply_rule_class(None, None, None, None, default_quorum=Fraction(3, 5))
    assert (rules.method, rules.quorum, rules.rule_class) == (MAJ, Fraction(3, 5), None)
    assert rules.describe() == "majority · quorum 60%"


def test_a_proposal_may_lower_quorum_when_no_class_binds_it() -> None:
    rules = apply_rule_class(None, SUPER, None, Fraction(0))
    assert (rules.method, rules.threshold, rules.quorum) == (SUPER, Fraction(2, 3), Fraction(0))
    assert rules.describe() == "supermajority 2/3 · no quorum"


def test_threshold_without_supermajority_is_refused() -> None:
    with pytest.raises(UserError, match="supermajority"):
        apply_rule_class(None, CONSENT, Fraction(3, 4), None)


def test_bylaw_class_applies_its_rules() -> None:
    rules = apply_rule_class(BYLAW, None, None, None)
    assert (rules.method, rules.threshold, rules.quorum) == (
        SUPER,
        Fraction(3, 4),
        Fraction(33, 50),
    )
    assert rules.rule_class == "bylaw_change"
    assert rules.describe() == "supermajority 75% · quorum 66%"


def test_bylaw_class_accepts_stricter_options() -> None:
    rules = apply_rule_class(BYLAW, SUPER, Fraction(4, 5), Fraction(3, 4))
    assert (rules.threshold, rules.quorum) == (Fraction(4, 5), Fraction(3, 4))


def test_bylaw_class_refuses_a_lower_threshold() -> None:
    with pytest.raises(UserError) as caught:
        apply_rule_class(BYLAW, None, Fraction(2, 3), None)
    assert caught.value.message == (
        "class bylaw_change needs a threshold of at least 75%; 2/3 would weaken it"
    )


def test_bylaw_class_refuses_a_lower_quorum() -> None:
    with pytest.raises(UserError, match="quorum of at least 66%; 50% would weaken it"):
        apply_rule_class(BYLAW, None, None, HALF)


def test_bylaw_class_refuses_another_method() -> None:
    with pytest.raises(UserError, match="class bylaw_change decides by supermajority"):
        apply_rule_class(BYLAW, MAJ, None, None)


def test_class_without_quorum_uses_the_coop_default() -> None:
    consent = RuleClass("membership", CONSENT)
    rules = apply_rule_class(consent, None, None, None, default_quorum=Fraction(2, 5))
    assert (rules.method, rules.quorum) == (CONSENT, Fraction(2, 5))


def test_rule_class_from_config_strings() -> None:
    assert rule_class_from_config("bylaw_change", "supermajority", "3/4", "66%") == BYLAW
    with pytest.raises(UserError):
        rule_class_from_config("odd", "majority", "3/4", None)
    with pytest.raises(UserError):
        rule_class_from_config("odd", "plurality", None, None)


# --- properties -----------------------------------------------------------------------


@given(
    st.sampled_from(list(ProposalMethod)),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 30),
    st.integers(0, 100),
    st.fractions(min_value=0, max_value=1),
)
def test_counting_follows_the_written_rules(
    method: ProposalMethod,
    yes: int,
    no: int,
    abstain: int,
    block: int,
    spare: int,
    quorum: Fraction,
) -> None:
    if method is not CONSENT:
        block = 0
    eligible = yes + no + abstain + block + spare
    count = count_proposal(method, Fraction(2, 3), quorum, eligible, votes(yes, no, abstain, block))
    turnout = yes + no + abstain + block
    assert count.quorum_met == (turnout * 100 >= quorum * 100 * eligible)
    if not count.quorum_met:
        assert count.outcome is Outcome.NO_QUORUM
    elif method is MAJ:
        assert (count.outcome is Outcome.PASSED) == (yes > no)
    elif method is SUPER:
        assert (count.outcome is Outcome.PASSED) == (yes > 0 and 3 * yes >= 2 * (yes + no))
    else:
        assert (count.outcome is Outcome.PASSED) == (block == 0 and yes > no)
