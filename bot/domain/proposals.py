"""Proposal rules (SPEC §4): methods, choices, quorum, counting, outcomes and rule classes."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from fractions import Fraction
from typing import Final

from bot.domain.ratios import format_ratio, parse_ratio
from bot.domain.timeparse import duration_text, format_duration, parse_duration
from bot.errors import UserError


class ProposalMethod(StrEnum):
    MAJORITY = "majority"
    SUPERMAJORITY = "supermajority"
    CONSENT = "consent"


class ProposalChoice(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"
    BLOCK = "block"


class Outcome(StrEnum):
    PASSED = "passed"
    REJECTED = "rejected"
    NO_QUORUM = "no quorum"


DEFAULT_METHOD: Final = ProposalMethod.MAJORITY
DEFAULT_THRESHOLD: Final = Fraction(2, 3)
DEFAULT_QUORUM: Final = Fraction(1, 2)

# Consent process vocabulary; `agree`/`disagree` are what facilitators say aloud.
_CONSENT_ALIASES: Final = {"agree": ProposalChoice.YES, "disagree": ProposalChoice.NO}


def parse_method(text: str) -> ProposalMethod:
    """`majority`, `supermajority` or `consent`, case-insensitive."""
    try:
        return ProposalMethod(text.strip().lower())
    except ValueError:
        raise UserError(
            f"there is no proposal method {text.strip()!r}: use majority, supermajority or consent",
            "for example `!propose Buy a 3D printer method:consent`",
        ) from None


def parse_threshold(text: str) -> Fraction:
    """A supermajority threshold: `2/3`, `3/4`, `66%`, `0.75`; more than 1/2, at most 1.

    1/2 itself is refused: with it a tie would pass, which is weaker than a plain majority."""
    value = parse_ratio(text, what="threshold", example="threshold:2/3")
    if value <= Fraction(1, 2):
        raise UserError(
            f"a supermajority threshold must be more than 1/2 (got {text.strip()})",
            "for example `threshold:2/3`, or use `method:majority`",
        )
    return value


def parse_quorum(text: str) -> Fraction:
    """A quorum as a share of the eligible members: `50%`, `2/3`, `0.5`; `0` disables it."""
    return parse_ratio(text, what="quorum", example="quorum:50%")


# A co-op's shortest voting time for members (SPEC §4) is a setting within these bounds.
MIN_VOTING_TIME_FLOOR: Final = timedelta(minutes=1)
MIN_VOTING_TIME_CEILING: Final = timedelta(days=30)


def parse_min_voting_time(text: str) -> timedelta:
    """The co-op's shortest voting time for members: a duration from 1 minute to 30 days."""
    value = parse_duration(text)
    if not MIN_VOTING_TIME_FLOOR <= value <= MIN_VOTING_TIME_CEILING:
        raise UserError(
            f"the shortest voting time must be 1m to 30d, not {text.strip()}",
            "for example `min_voting_time:1h`",
        )
    return value


def votes_needed(quorum: Fraction, eligible: int) -> int:
    """The smallest turnout t with t ≥ quorum × eligible (quorum 0 needs nobody)."""
    if eligible < 0:
        raise ValueError("eligible must not be negative")
    return math.ceil(quorum * eligible)


@dataclass(frozen=True)
class ProposalCount:
    """The state of a proposal's vote at one moment; `outcome` is what closing now would give."""

    method: ProposalMethod
    threshold: Fraction
    quorum: Fraction
    eligible: int
    yes: int
    no: int
    abstain: int
    block: int
    needed: int  # turnout that meets quorum
    outcome: Outcome

    @property
    def turnout(self) -> int:
        return self.yes + self.no + self.abstain + self.block

    @property
    def quorum_met(self) -> bool:
        return self.turnout >= self.needed

    @property
    def votes_to_quorum(self) -> int:
        return max(0, self.needed - self.turnout)


def count_proposal(
    method: ProposalMethod,
    threshold: Fraction,
    quorum: Fraction,
    eligible: int,
    choices: Iterable[ProposalChoice],
) -> ProposalCount:
    """Count the current votes (one per eligible member) under SPEC §4."""
    tally = dict.fromkeys(ProposalChoice, 0)
    for choice in choices:
        tally[choice] += 1
    return count_tally(method, threshold, quorum, eligible, tally)


def count_tally(
    method: ProposalMethod,
    threshold: Fraction,
    quorum: Fraction,
    eligible: int,
    tally: Mapping[ProposalChoice, int],
) -> ProposalCount:
    """`count_proposal` from how many votes each choice has (as counted in SQL)."""
    tally = {choice: tally.get(choice, 0) for choice in ProposalChoice}
    if any(n < 0 for n in tally.values()):
        raise ValueError("a choice can't have fewer than no votes")
    if tally[ProposalChoice.BLOCK] and method is not ProposalMethod.CONSENT:
        raise ValueError(f"a block vote on a {method} proposal")
    yes, no, block = (
        tally[ProposalChoice.YES],
        tally[ProposalChoice.NO],
        tally[ProposalChoice.BLOCK],
    )
    turnout = sum(tally.values())
    if turnout > eligible:
        raise ValueError(f"turnout {turnout} exceeds the {eligible} eligible members")
    needed = votes_needed(quorum, eligible)

    if turnout < needed:
        outcome = Outcome.NO_QUORUM
    elif method is ProposalMethod.MAJORITY:
        outcome = Outcome.PASSED if yes > no else Outcome.REJECTED
    elif method is ProposalMethod.SUPERMAJORITY:
        passes = yes > 0 and yes >= threshold * (yes + no)
        outcome = Outcome.PASSED if passes else Outcome.REJECTED
    else:
        outcome = Outcome.PASSED if block == 0 and yes > no else Outcome.REJECTED

    return ProposalCount(
        method=method,
        threshold=threshold,
        quorum=quorum,
        eligible=eligible,
        yes=yes,
        no=no,
        abstain=tally[ProposalChoice.ABSTAIN],
        block=block,
        needed=needed,
        outcome=outcome,
    )


def choices_for(method: ProposalMethod) -> tuple[ProposalChoice, ...]:
    """The choices a voter has under `method`, in the order they are offered."""
    if method is ProposalMethod.CONSENT:
        return tuple(ProposalChoice)
    return (ProposalChoice.YES, ProposalChoice.NO, ProposalChoice.ABSTAIN)


def parse_proposal_choice(
    method: ProposalMethod, text: str, number: int, *, prefix: str = "!"
) -> ProposalChoice:
    """Read a vote on proposal #`number`, case-insensitive; `block` only under consent."""
    word = text.strip().lower()
    allowed = choices_for(method)
    if method is ProposalMethod.CONSENT and word in _CONSENT_ALIASES:
        return _CONSENT_ALIASES[word]
    if word in {c.value for c in allowed}:
        return ProposalChoice(word)
    names = [c.value for c in allowed]
    listed = ", ".join(names[:-1]) + f" or {names[-1]}"
    raise UserError(
        f"#{number} uses method {method}: choose {listed}",
        f"for example `{prefix}vote {number} yes`",
    )


@dataclass(frozen=True)
class RuleClass:
    """A named set of bylaw rules (`bylaw_change`); None leaves that rule to the proposal."""

    name: str
    method: ProposalMethod
    threshold: Fraction | None = None
    quorum: Fraction | None = None


@dataclass(frozen=True)
class ProposalRules:
    """The rules a proposal is actually counted under."""

    method: ProposalMethod
    threshold: Fraction
    quorum: Fraction
    rule_class: str | None = None

    def describe(self) -> str:
        """`supermajority 3/4 · quorum 66%`: how the rules read in a reply."""
        method = str(self.method)
        if self.method is ProposalMethod.SUPERMAJORITY:
            method += f" {format_ratio(self.threshold)}"
        quorum = "no quorum" if self.quorum == 0 else f"quorum {format_ratio(self.quorum)}"
        return f"{method} · {quorum}"


def rule_class_from_config(
    name: str, method: str, threshold: str | None, quorum: str | None
) -> RuleClass:
    """Build a rule class from the strings of the config file (raises UserError on bad text)."""
    parsed_method = parse_method(method)
    parsed_threshold = parse_threshold(threshold) if threshold is not None else None
    if parsed_threshold is not None and parsed_method is not ProposalMethod.SUPERMAJORITY:
        raise UserError(f"rule class {name}: a threshold only applies to method supermajority")
    return RuleClass(
        name=name,
        method=parsed_method,
        threshold=parsed_threshold,
        quorum=parse_quorum(quorum) if quorum is not None else None,
    )


def apply_rule_class(
    rule_class: RuleClass | None,
    requested_method: ProposalMethod | None,
    requested_threshold: Fraction | None,
    requested_quorum: Fraction | None,
    *,
    default_quorum: Fraction = DEFAULT_QUORUM,
) -> ProposalRules:
    """Combine a proposal's own options with its rule class and the co-op's default quorum.

    A class fixes the method; its threshold and quorum are floors a proposal may raise but
    never lower. A class without a quorum leaves quorum to the proposal or the co-op default."""
    if rule_class is None:
        method = requested_method or DEFAULT_METHOD
        if requested_threshold is not None and method is not ProposalMethod.SUPERMAJORITY:
            raise UserError(
                "threshold: only applies to method:supermajority",
                "for example `!propose Change the bylaws method:supermajority threshold:3/4`",
            )
        return ProposalRules(
            method=method,
            threshold=requested_threshold or DEFAULT_THRESHOLD,
            quorum=default_quorum if requested_quorum is None else requested_quorum,
        )

    name = rule_class.name
    if requested_method is not None and requested_method is not rule_class.method:
        raise UserError(
            f"class {name} decides by {rule_class.method}; a proposal can't change that",
            f"leave out method: when you use class:{name}",
        )
    method = rule_class.method
    if requested_threshold is not None and method is not ProposalMethod.SUPERMAJORITY:
        raise UserError(f"class {name} decides by {method}; threshold: doesn't apply to it")
    floor_threshold = rule_class.threshold or DEFAULT_THRESHOLD
    if requested_threshold is not None and requested_threshold < floor_threshold:
        least = format_ratio(floor_threshold)
        raise UserError(
            f"class {name} needs a threshold of at least {least}; "
            f"{format_ratio(requested_threshold)} would weaken it",
            f"leave out threshold: or raise it, for example `threshold:{least}`",
        )
    if rule_class.quorum is None:
        quorum = default_quorum if requested_quorum is None else requested_quorum
    elif requested_quorum is None:
        quorum = rule_class.quorum
    elif requested_quorum < rule_class.quorum:
        least = format_ratio(rule_class.quorum)
        raise UserError(
            f"class {name} needs a quorum of at least {least}; "
            f"{format_ratio(requested_quorum)} would weaken it",
            f"leave out quorum: or raise it, for example `quorum:{least}`",
        )
    else:
        quorum = requested_quorum
    return ProposalRules(
        method=method,
        threshold=requested_threshold or floor_threshold,
        quorum=quorum,
        rule_class=name,
    )


@dataclass(frozen=True)
class BelowDefault:
    """One rule a decision sets below the co-op's default (SPEC §4: only stewards may, and
    the card then says who and why). `option` is what was typed (`quorum:0`); `given` and
    `default` are how the two values read (`0%`, `50%`; `10 s`, `1 h`); `example` is an
    option that meets the default (`quorum:50%`, `closes:1h`)."""

    rule: str  # "quorum" or "voting time"
    option: str
    given: str
    default: str
    example: str

    @property
    def key(self) -> str:
        return self.option.split(":", 1)[0]

    def refusal(self) -> UserError:
        """The one-line error a member gets for it, with the fix."""
        if self.rule == "voting time":
            return UserError(
                f"{self.option} gives {self.given} of voting, below the co-op's shortest voting "
                f"time of {self.default} — only stewards can shorten it",
                f"leave out {self.key}: or give at least `{self.example}`",
            )
        return UserError(
            f"{self.option} is below the co-op's {self.default} — only stewards can lower it",
            f"leave out {self.key}: or raise it, for example `{self.example}`",
        )

    def needs_reason(self) -> UserError:
        """The error a steward gets for it without a `reason:`."""
        what = "shortens" if self.rule == "voting time" else "lowers"
        return UserError(
            f"{self.option} {what} the co-op's {self.rule} of {self.default} — "
            'say why with reason:"…"',
            "the card shows who set it and why, for example "
            '`reason:"the lease offer ends tonight"`',
        )


def below_defaults(
    *,
    quorum: tuple[str, Fraction] | None,
    default_quorum: Fraction,
    voting: tuple[str, timedelta] | None,
    min_voting_time: timedelta,
) -> list[BelowDefault]:
    """The options a decision sets below the co-op's defaults: a quorum below the co-op's or
    a voting time shorter than its shortest. Each option is (what was typed, its value), None
    when not given or when a rule class sets the floor instead (a class's floors bind
    everyone; apply_rule_class checks them). A method or a supermajority threshold can't go
    below the co-op's default, which is a simple majority: each of them asks for more."""
    found: list[BelowDefault] = []
    if quorum is not None and quorum[1] < default_quorum:
        least = format_ratio(default_quorum)
        found.append(
            BelowDefault("quorum", quorum[0], format_ratio(quorum[1]), least, f"quorum:{least}")
        )
    if voting is not None and voting[1] < min_voting_time:
        key = voting[0].split(":", 1)[0]
        found.append(
            BelowDefault(
                "voting time",
                voting[0],
                format_duration(voting[1]),
                format_duration(min_voting_time),
                f"{key}:{duration_text(min_voting_time)}",
            )
        )
    return found
