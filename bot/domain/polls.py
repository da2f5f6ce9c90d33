"""Poll rules (SPEC §4): options, ballots, and counting by single, approval, score or IRV."""

from __future__ import annotations

import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction

from bot.domain.limits import OPTION_MAX, OPTIONS_MAX, OPTIONS_MIN, SCORE_MAX, SCORE_MIN
from bot.domain.numbers import whole_number
from bot.domain.proposals import votes_needed
from bot.errors import UserError


class PollMethod(StrEnum):
    SINGLE = "single"
    APPROVAL = "approval"
    RANKED = "ranked"
    SCORE = "score"


LETTERS = string.ascii_uppercase[:OPTIONS_MAX]


def parse_poll_method(text: str) -> PollMethod:
    """`single`, `approval`, `ranked` or `score`, case-insensitive."""
    try:
        return PollMethod(text.strip().lower())
    except ValueError:
        raise UserError(
            f"there is no poll method {text.strip()!r}: use single, approval, ranked or score",
            'for example `!poll Where to? options:"Lake | Cabin" method:ranked`',
        ) from None


def parse_options(text: str) -> tuple[str, ...]:
    """Split `A | B | C` into 2 to 20 distinct, non-empty options of at most 200 characters."""
    hint = 'for example `options:"Lakehouse | Cabin | City"`'
    options = tuple(part.strip() for part in text.split("|"))
    if any(not option for option in options):
        raise UserError("an option is empty: separate options with a single |", hint)
    if len(options) < OPTIONS_MIN:
        raise UserError(f"a poll needs at least {OPTIONS_MIN} options", hint)
    if len(options) > OPTIONS_MAX:
        raise UserError(f"a poll can have at most {OPTIONS_MAX} options (got {len(options)})")
    for option in options:
        if len(option) > OPTION_MAX:
            raise UserError(
                f"option {option[:20]!r}… is {len(option)} characters; the limit is {OPTION_MAX}"
            )
    seen: set[str] = set()
    for option in options:
        key = option.casefold()
        if key in seen:
            raise UserError(f"option {option!r} is listed twice", hint)
        seen.add(key)
    return options


def option_label(index: int) -> str:
    """The letter voters use for the option at `index` (0 → A)."""
    return LETTERS[index]


@dataclass(frozen=True)
class Ballot:
    """One member's current vote in a poll, with options as 0-based indexes.

    single: `picks` holds one option; approval: the approved options, ascending; ranked: the
    ranked options, most preferred first; score: the scored options, ascending, with `scores`
    parallel to `picks`."""

    method: PollMethod
    picks: tuple[int, ...]
    scores: tuple[int, ...] = ()

    def text(self) -> str:
        """The ballot in letters (`B`, `A,C`, `C>A>B`, `A=5,C=0`), as a member would type it.

        For showing only: a ballot is stored as positions (`stored`), never as this text,
        because an option's own text may look like letters (`B | A`, `C`)."""
        letters = [option_label(i) for i in self.picks]
        if self.method is PollMethod.RANKED:
            return ">".join(letters)
        if self.method is PollMethod.SCORE:
            return ",".join(f"{letter}={s}" for letter, s in zip(letters, self.scores, strict=True))
        return ",".join(letters)

    def words(self, options: Sequence[str]) -> str:
        """The ballot with option texts: `Cabin > Lakehouse`, `Crisps, Nuts`, `Hall 5, Barn 3`."""
        if self.method is PollMethod.RANKED:
            return " > ".join(options[i] for i in self.picks)
        if self.method is PollMethod.SCORE:
            return ", ".join(
                f"{options[i]} {s}" for i, s in zip(self.picks, self.scores, strict=True)
            )
        return ", ".join(options[i] for i in self.picks)

    def stored(self) -> list[int] | list[list[int]]:
        """The ballot as stored (JSON): option positions, most preferred first for ranked;
        `[[position, score], …]` for score."""
        if self.method is PollMethod.SCORE:
            return [[i, s] for i, s in zip(self.picks, self.scores, strict=True)]
        return list(self.picks)


def stored_ballot(method: PollMethod, n_options: int, data: object) -> Ballot:
    """Read a ballot back from its stored positions (`Ballot.stored`). Raises ValueError for
    anything a vote could not have stored: wrong shape, an unknown or repeated position, a
    score out of range, or more than one option for a single-choice poll."""

    def position(value: object) -> int:
        if type(value) is not int or not 0 <= value < n_options:
            raise ValueError(f"not an option position of {n_options}: {value!r}")
        return value

    if not isinstance(data, list):
        raise ValueError(f"a stored ballot is a list, not {type(data).__name__}")
    if method is PollMethod.SCORE:
        pairs: list[tuple[int, int]] = []
        for item in data:
            if not isinstance(item, list) or len(item) != 2:
                raise ValueError(f"a stored score is [position, score], not {item!r}")
            score = item[1]
            if type(score) is not int or not SCORE_MIN <= score <= SCORE_MAX:
                raise ValueError(f"not a score: {score!r}")
            pairs.append((position(item[0]), score))
        picks = tuple(p for p, _ in pairs)
        if not picks or list(picks) != sorted(set(picks)):
            raise ValueError("stored scores must name distinct options in ascending order")
        return Ballot(method, picks, tuple(s for _, s in pairs))
    picks = tuple(data)
    # At C speed for the usual ballot; the per-item check below says what is wrong (and
    # comes before `set`, which an unhashable item such as a nested list would break).
    if set(map(type, picks)) != {int} or not set(picks) <= set(range(n_options)):
        picks = tuple(position(item) for item in picks)
    distinct = set(picks)
    if not picks or len(distinct) != len(picks):
        raise ValueError("a stored ballot names distinct options")
    if method is PollMethod.SINGLE and len(picks) != 1:
        raise ValueError("a single-choice ballot names one option")
    if method is PollMethod.APPROVAL and list(picks) != sorted(picks):
        raise ValueError("stored approvals are in ascending order")
    return Ballot(method, picks)


def ballot_example(method: PollMethod, n_options: int, number: int, prefix: str = "!") -> str:
    """A valid example vote for this poll, so an error can show the right way."""
    letters = LETTERS[:n_options]
    if method is PollMethod.SINGLE:
        choice = letters[1] if n_options > 1 else letters[0]
    elif method is PollMethod.APPROVAL:
        choice = f"{letters[0]},{letters[2]}" if n_options > 2 else letters[0]
    elif method is PollMethod.RANKED:
        order = [letters[2], letters[0], letters[1]] if n_options > 2 else list(reversed(letters))
        choice = ">".join(order)
    else:
        choice = ",".join(f"{letter}={s}" for letter, s in zip(letters, (5, 3, 0), strict=False))
    return f"for example `{prefix}vote {number} {choice}`"


def _option_index(token: str, options: Sequence[str], number: int, hint: str) -> int:
    """Letters win over full text, because the bot shows options by letter."""
    name = token.strip()
    if len(name) == 1 and name.upper() in LETTERS[: len(options)]:
        return LETTERS.index(name.upper())
    key = name.casefold()
    for index, option in enumerate(options):
        if option.strip().casefold() == key:
            return index
    last = option_label(len(options) - 1)
    shown = name if len(name) <= 40 else name[:40] + "…"
    raise UserError(
        f"#{number} has no option {shown!r}: name one by its letter A–{last} or its full text",
        hint,
    )


def parse_ballot(
    method: PollMethod, options: Sequence[str], text: str, number: int, *, prefix: str = "!"
) -> Ballot:
    """Read a vote on poll #`number`. Options are named by letter or full text, any case."""
    hint = ballot_example(method, len(options), number, prefix)
    raw = text.strip()
    if not raw:
        raise UserError(f"#{number}: say which option you vote for", hint)

    def index(token: str) -> int:
        return _option_index(token, options, number, hint)

    if method is PollMethod.SINGLE:
        if "," in raw or ">" in raw or "=" in raw:
            pick = _try_whole(raw, options)
            if pick is None:
                raise UserError(f"#{number} is a single-choice poll: pick one option", hint)
            return Ballot(method, (pick,))
        return Ballot(method, (index(raw),))

    if method is PollMethod.APPROVAL:
        whole = _try_whole(raw, options)
        picks = [whole] if whole is not None else [index(part) for part in raw.split(",")]
        if len(set(picks)) != len(picks):
            raise UserError(f"#{number}: each option can be approved only once", hint)
        return Ballot(method, tuple(sorted(picks)))

    if method is PollMethod.RANKED:
        if "," in raw and ">" not in raw and _try_whole(raw, options) is None:
            raise UserError(f"#{number} is a ranked poll: put options in order with >", hint)
        whole = _try_whole(raw, options)
        picks = [whole] if whole is not None else [index(part) for part in raw.split(">")]
        if len(set(picks)) != len(picks):
            raise UserError(f"#{number}: each option can be ranked only once", hint)
        return Ballot(method, tuple(picks))

    scored: dict[int, int] = {}
    for part in raw.split(","):
        name, equals, value = part.rpartition("=")
        if not equals:
            raise UserError(f"#{number} is a score poll: give each option a score 0–5", hint)
        value = value.strip()
        # `isdigit` would let `²` through to `int`, which refuses it with an exception.
        score = whole_number(value, max_digits=2)
        if score is None or not SCORE_MIN <= score <= SCORE_MAX:
            raise UserError(
                f"#{number}: a score is a whole number from {SCORE_MIN} to {SCORE_MAX} "
                f"(got {value[:10]!r})",
                hint,
            )
        option = index(name)
        if option in scored:
            raise UserError(f"#{number}: option {option_label(option)} is scored twice", hint)
        scored[option] = score
    scored_picks = tuple(sorted(scored))
    return Ballot(method, scored_picks, tuple(scored[i] for i in scored_picks))


def _try_whole(raw: str, options: Sequence[str]) -> int | None:
    """An option whose own text contains `,` `>` or `=` can still be named in full."""
    key = raw.casefold()
    for index, option in enumerate(options):
        if option.strip().casefold() == key:
            return index
    return None


@dataclass(frozen=True)
class RankedRound:
    """One instant-runoff round: votes per continuing option and what happened."""

    counts: dict[int, int]  # continuing option → ballots whose top continuing choice it is
    continuing_ballots: int
    exhausted: int  # ballots with no continuing option left (cumulative)
    eliminated: int | None = None  # dropped at the end of this round
    majority: int | None = None  # won this round with more than half the continuing ballots
    tied: tuple[int, ...] = ()  # all continuing options level with no majority: a tie


@dataclass(frozen=True)
class PollResult:
    """A poll's count. `winners`: one option, several (a tie at the top), or none (no votes).

    `totals`: votes (single), approvals (approval), first preferences (ranked) or the sum of
    scores (score); `means`: the mean score per option (score only)."""

    method: PollMethod
    ballots: int
    totals: tuple[int, ...]
    winners: tuple[int, ...]
    means: tuple[Fraction, ...] = ()
    rounds: tuple[RankedRound, ...] = field(default=())


def count_poll(method: PollMethod, n_options: int, ballots: Iterable[Ballot]) -> PollResult:
    """Count a poll's current ballots under SPEC §4."""
    return count_weighted(method, n_options, ((ballot, 1) for ballot in ballots))


def count_weighted(
    method: PollMethod, n_options: int, groups: Iterable[tuple[Ballot, int]]
) -> PollResult:
    """`count_poll` of ballots given once each with how many members cast it (identical
    ballots grouped in SQL): the same result as the ballots one by one."""
    cast = [(ballot, weight) for ballot, weight in groups if weight]
    for ballot, weight in cast:
        if ballot.method is not method or any(not 0 <= i < n_options for i in ballot.picks):
            raise ValueError(f"ballot {ballot} does not belong to a {method} poll of {n_options}")
        if weight < 0:
            raise ValueError(f"ballot {ballot} counted {weight} times")
    if method is PollMethod.RANKED:
        return _count_ranked(n_options, [(ballot.picks, weight) for ballot, weight in cast])

    totals = [0] * n_options
    for ballot, weight in cast:
        scores = ballot.scores if method is PollMethod.SCORE else (1,) * len(ballot.picks)
        for option, score in zip(ballot.picks, scores, strict=True):
            totals[option] += score * weight
    voters = sum(weight for _, weight in cast)
    if not voters:
        return PollResult(method, 0, tuple(totals), ())
    if method is PollMethod.SCORE:
        # An option a voter left out counts as 0 from that voter, so one enthusiastic
        # voter can't carry an option the rest ignored.
        means = tuple(Fraction(total, voters) for total in totals)
        best_mean = max(means)
        winners = tuple(i for i, mean in enumerate(means) if mean == best_mean)
        return PollResult(method, voters, tuple(totals), winners, means)
    best = max(totals)
    winners = tuple(i for i, total in enumerate(totals) if total == best)
    return PollResult(method, voters, tuple(totals), winners)


def stored_ranking(n_options: int, data: object) -> tuple[int, ...] | None:
    """The positions of a stored ranked ballot (`Ballot.stored`), or None where
    `stored_ballot(RANKED, n_options, data)` would raise: the same test, without a Ballot."""
    if type(data) is not list or not data:
        return None
    picks = tuple(data)
    if set(map(type, picks)) != {int} or len(set(picks)) != len(picks):
        return None
    if min(picks) < 0 or max(picks) >= n_options:
        return None
    return picks


def count_ranked_stored(
    n_options: int, groups: Iterable[tuple[object, int]]
) -> tuple[PollResult, int]:
    """Instant runoff over stored rankings (`Ballot.stored`, as decoded JSON) given once each
    with how many cast it: compact rows, no Ballot built. Returns the count of the readable
    ones (as `count_weighted` of their Ballots) and how many were unreadable (a stored value
    `stored_ballot` refuses, which counts for no option)."""
    readable: list[tuple[tuple[int, ...], int]] = []
    unreadable = 0
    for data, weight in groups:
        if weight < 0:
            raise ValueError(f"ballot {data!r} counted {weight} times")
        picks = stored_ranking(n_options, data)
        if picks is None:
            unreadable += weight
        elif weight:
            readable.append((picks, weight))
    return _count_ranked(n_options, readable), unreadable


def _count_ranked(n_options: int, ballots: list[tuple[tuple[int, ...], int]]) -> PollResult:
    """Instant runoff over (ranking, weight) pairs. Each ballot sits in the pile of its top
    continuing option; dropping an option moves only that pile's ballots on to their next
    continuing choice, so a count reads each ranking once, however many rounds it takes."""
    continuing = list(range(n_options))
    alive = [True] * n_options
    piles: list[list[tuple[tuple[int, ...], int, int]]] = [[] for _ in range(n_options)]
    tops = [0] * n_options  # the weight of each pile
    voters = sum(weight for _, weight in ballots)
    exhausted = 0
    for picks, weight in ballots:
        if not picks:
            exhausted += weight
            continue
        piles[picks[0]].append((picks, 0, weight))
        tops[picks[0]] += weight
    rounds: list[RankedRound] = []
    first_round: dict[int, int] = {}
    winners: tuple[int, ...] = ()
    while voters and continuing:
        counts = {option: tops[option] for option in continuing}
        if not rounds:
            first_round = dict(counts)
        active = voters - exhausted
        leader = max(continuing, key=lambda option: counts[option])
        if counts[leader] * 2 > active:
            rounds.append(RankedRound(counts, active, exhausted, majority=leader))
            winners = (leader,)
            break
        if len({counts[option] for option in continuing}) == 1:
            # Everyone left is level: dropping one would pick a winner by tie-break, not votes.
            rounds.append(RankedRound(counts, active, exhausted, tied=tuple(continuing)))
            winners = tuple(continuing)
            break
        fewest = min(counts[option] for option in continuing)
        # Fewest now, then fewest first-round votes, then listed later.
        loser = min(
            (option for option in continuing if counts[option] == fewest),
            key=lambda option: (first_round[option], -option),
        )
        rounds.append(RankedRound(counts, active, exhausted, eliminated=loser))
        continuing.remove(loser)
        alive[loser] = False
        moving, piles[loser], tops[loser] = piles[loser], [], 0
        for picks, at, weight in moving:
            at += 1
            while at < len(picks) and not alive[picks[at]]:
                at += 1
            if at == len(picks):
                exhausted += weight
            else:
                piles[picks[at]].append((picks, at, weight))
                tops[picks[at]] += weight
    totals = tuple(first_round.get(option, 0) for option in range(n_options))
    return PollResult(PollMethod.RANKED, voters, totals, winners, rounds=tuple(rounds))


def describe_rounds(result: PollResult, options: Sequence[str]) -> list[str]:
    """The rounds of a ranked count as reply lines:
    `round 1: Lakehouse 5 · Cabin 4 · City 3 · Farm 2 → Farm out`."""
    lines: list[str] = []
    for number, rnd in enumerate(result.rounds, start=1):
        ordered = sorted(rnd.counts, key=lambda option: (-rnd.counts[option], option))
        line = f"round {number}: " + " · ".join(f"{options[o]} {rnd.counts[o]}" for o in ordered)
        if rnd.exhausted:
            line += f" ({rnd.exhausted} exhausted)"
        if rnd.eliminated is not None:
            line += f" → {options[rnd.eliminated]} out"
        elif rnd.majority is not None:
            line += (
                f" — {options[rnd.majority]} has a majority of "
                f"{rnd.continuing_ballots} continuing ballots"
            )
        elif rnd.tied:
            line += f" — tie between {_and_list([options[o] for o in rnd.tied])}"
        lines.append(line)
    return lines


def describe_winner(result: PollResult, options: Sequence[str]) -> str:
    """`winner: Lakehouse (round 3 of 3)`, `tie: Cabin and City`, or `no votes`."""
    if not result.winners:
        return "no votes"
    if len(result.winners) > 1:
        return "tie: " + _and_list([options[o] for o in result.winners])
    text = f"winner: {options[result.winners[0]]}"
    if result.rounds:
        text += f" (round {len(result.rounds)} of {len(result.rounds)})"
    return text


def _and_list(names: list[str]) -> str:
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + f" and {names[-1]}"


@dataclass(frozen=True)
class QuorumVerdict:
    """Whether a poll's turnout reached its quorum: `needed` ballots of `eligible` members."""

    needed: int
    met: bool


def quorum_verdict(quorum: Fraction, eligible: int, ballots: int) -> QuorumVerdict:
    """A poll counts only if at least quorum × eligible members cast a ballot (SPEC §4);
    quorum 0 needs nobody, so even a poll nobody answered reaches it."""
    needed = votes_needed(quorum, eligible)
    return QuorumVerdict(needed, ballots >= needed)
