"""Replies about decisions: opened, the running count, closed with the result, the list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

from bot.db.models import Decision, Member
from bot.domain import polls, proposals
from bot.domain.limits import SCORE_MAX, SCORE_MIN
from bot.domain.ratios import format_ratio
from bot.domain.timeparse import format_duration, format_local
from bot.domain.vocabulary import DecisionKind, DecisionStatus
from bot.render.document import Bold, ChoiceOption, Choices, Code, Line, Reply, command, line
from bot.render.people import mention_run, named
from bot.services.ballots import Cast
from bot.services.decisions import LIST_MAX, Count, Turnout


def subject(decision: Decision) -> str:
    return f"decision:{decision.coop_id}:{decision.number}"


def _labels(decision: Decision) -> list[str]:
    return [o.label for o in decision.options]


def choice_keys(decision: Decision) -> list[tuple[str, str]]:
    """(what `vote` takes, what a member sees) for each choice."""
    if decision.kind == DecisionKind.PROPOSAL:
        method = proposals.ProposalMethod(decision.method)
        return [(str(c), str(c)) for c in proposals.choices_for(method)]
    return [(polls.option_label(i), label) for i, label in enumerate(_labels(decision))]


def choices(decision: Decision) -> Choices:
    return Choices(
        coop_id=decision.coop_id,
        decision_number=decision.number,
        decision_kind=decision.kind,
        method=decision.method,
        question=decision.title,
        options=tuple(ChoiceOption(key=k, label=v) for k, v in choice_keys(decision)),
        secret=decision.secret,
        closed=decision.status != DecisionStatus.OPEN,
        vote_command=vote_hint(decision).text,
        show_command=f"show {decision.number}",
    )


def ballot_text(decision: Decision, cast: Cast) -> str:
    """What was cast, in words: `yes`, `Cabin > Lakehouse`, `Crisps, Nuts`, `Hall 5, Barn 3`."""
    if cast.ballot is not None:
        return cast.ballot.words(_labels(decision))
    return cast.letters()


def score_note(decision: Decision) -> Line | None:
    """SPEC §4: a score poll's card says what an option left unscored counts as."""
    if decision.kind != DecisionKind.POLL or decision.method != polls.PollMethod.SCORE:
        return None
    return line(
        f"score each option {SCORE_MIN}–{SCORE_MAX}; "
        f"an option you leave unscored counts as {SCORE_MIN}",
        indent=1,
    )


def unreadable_note(count: Count) -> list[Line]:
    """Votes stored by an earlier version that could not be read: said, never dropped."""
    if not count.unreadable:
        return []
    n = count.unreadable
    return [
        line(
            f"{n} stored vote{'s' if n != 1 else ''} from an earlier version could not be "
            "read and count for no option; the operator's upgrade log names them",
            indent=1,
        )
    ]


def _kind(decision: Decision) -> str:
    return "Proposal" if decision.kind == DecisionKind.PROPOSAL else "Poll"


def _rules(decision: Decision, count: Count) -> str:
    quorum = Fraction(decision.quorum)
    method = str(decision.method)
    if decision.threshold:
        method += f" {format_ratio(Fraction(decision.threshold))}"
    if decision.rule_class:
        method += f" (class {decision.rule_class})"
    if quorum == 0:
        return f"method: {method} · no quorum"
    return (
        f"method: {method} · quorum {format_ratio(quorum)} of {count.eligible} eligible "
        f"({count.needed} vote{'s' if count.needed != 1 else ''})"
    )


def vote_hint(decision: Decision) -> Code:
    """How to vote on `decision`, as a command each platform writes in its own form."""
    if decision.kind == DecisionKind.PROPOSAL:
        keys = "|".join(k for k, _ in choice_keys(decision))
        return command(f"vote {decision.number} {keys}")
    example = polls.ballot_example(
        polls.PollMethod(decision.method), len(decision.options), decision.number, ""
    )
    return command(example.removeprefix("for example `").removesuffix("`"))


def lowered(decision: Decision, by: Member | None) -> Line | None:
    """`below the co-op's defaults, set by @alice: quorum 0% (co-op: 50%) · voting time 10 s
    (co-op: 1 h) — why: …`: a steward's exception, on the card for everyone to see."""
    if not decision.lowered or by is None or by.id != decision.lowered_by_id:
        return None
    what = " · ".join(
        f"{rule} {given} (co-op: {default})" for rule, given, default in decision.lowered
    )
    return line(
        "below the co-op's defaults, set by ",
        named(by),
        f": {what} — why: ",
        decision.lowered_reason or "",
        indent=1,
    )


def _deadline(decision: Decision, tz: ZoneInfo, now: datetime) -> str:
    when = format_local(decision.closes_at, tz)
    if decision.closes_at <= now:
        return f"voting ended {when} ({tz.key}); the result is being counted"
    return f"closes {when} ({tz.key}), in {format_duration(decision.closes_at - now)}"


def opened(decision: Decision, author: Member, count: Count, tz: ZoneInfo, now: datetime) -> Reply:
    """`Proposal #7 opened by @alice — closes Mon 1 Dec 18:00 (Europe/Berlin), in 2 days`."""
    if decision.status == DecisionStatus.SCHEDULED:
        head = line(
            Bold(text=f"{_kind(decision)} #{decision.number} scheduled"),
            " by ",
            named(author),
            f" — opens {format_local(decision.opens_at, tz)}, closes "
            f"{format_local(decision.closes_at, tz)} ({tz.key})",
        )
        exception = lowered(decision, author)
        return Reply(
            kind="announcement",
            blocks=(head, line(decision.title, indent=1), *([exception] if exception else [])),
            subject=subject(decision),
        )
    blocks: list[Line] = [
        line(
            Bold(text=f"{_kind(decision)} #{decision.number} opened"),
            " by ",
            named(author),
            f" — {_deadline(decision, tz, now)}",
        ),
        line(decision.title, indent=1),
    ]
    if decision.body:
        blocks.append(line(decision.body, indent=1))
    if decision.kind == DecisionKind.POLL:
        for key, label in choice_keys(decision):
            blocks.append(line(f"{key}: {label}", indent=1))
    note = score_note(decision)
    if note is not None:
        blocks.append(note)
    secret = " · secret ballot" if decision.secret else ""
    blocks.append(
        line(
            f"{_rules(decision, count)}{secret} · vote: ",
            vote_hint(decision),
            indent=1,
        )
    )
    exception = lowered(decision, author)
    if exception is not None:
        blocks.append(exception)
    return Reply(
        kind="announcement",
        blocks=tuple(blocks),
        choices=choices(decision),
        subject=subject(decision),
    )


def _count_text(decision: Decision, count: Count) -> str:
    if count.proposal is not None:
        p = count.proposal
        text = f"yes {p.yes} · no {p.no} · abstain {p.abstain}"
        if decision.method == proposals.ProposalMethod.CONSENT:
            text += f" · block {p.block}"
        return text
    assert count.poll is not None
    labels = _labels(decision)
    result = count.poll
    if result.method is polls.PollMethod.SCORE and result.means:
        return "mean score: " + " · ".join(
            f"{labels[i]} {_two_places(m)}" for i, m in enumerate(result.means)
        )
    what = "first preferences: " if result.method is polls.PollMethod.RANKED else ""
    return what + " · ".join(f"{labels[i]} {t}" for i, t in enumerate(result.totals))


def _two_places(value: Fraction) -> str:
    """An exact mean shown to two decimals, rounded half up (no float on the way)."""
    return str(
        (Decimal(value.numerator) / Decimal(value.denominator)).quantize(
            Decimal("0.01"), rounding=ROUND_HALF_UP
        )
    )


def quorum_progress(count: Turnout) -> str:
    """`1 more vote reaches quorum`, `quorum 6 met`, or `no quorum needed`."""
    if count.needed == 0:
        return "no quorum needed"
    missing = count.votes_to_quorum
    if missing == 1:
        return "1 more vote reaches quorum"
    if missing:
        return f"{missing} more votes reach quorum"
    return f"quorum {count.needed} met"


def vote_recorded(
    decision: Decision, cast: Cast, changed: bool, count: Turnout, *, shown: bool
) -> Reply:
    """`Your vote on #7 is recorded: yes` (or, on a secret ballot the room would see, only
    that it was recorded), then the turnout and what quorum still needs.

    A secret choice is never stored: the answer kept in the outbox until it is sent (and
    after, until retention removes it) is the one without the choice."""
    head = f"Your vote on #{decision.number} is {'changed' if changed else 'recorded'}"
    tail = line(f"turnout {count.turnout}/{count.eligible} — {quorum_progress(count)}", indent=1)
    hidden = Reply(
        blocks=(line(f"{head} (secret ballot)"), tail), ephemeral=True, subject=subject(decision)
    )
    if not shown:
        return hidden
    if cast.ballot is not None:
        # Letters are what `vote` takes; the option names confirm what the voter meant.
        first = line(
            f"{head}: ", Bold(text=ballot_text(decision, cast)), f" ({cast.ballot.text()})"
        )
    else:
        first = line(f"{head}: ", Bold(text=cast.letters()))
    return Reply(
        blocks=(first, tail),
        ephemeral=True,
        subject=subject(decision),
        stored_as=hidden if decision.secret else None,
    )


def _turnout(count: Turnout) -> str:
    text = f"turnout {count.turnout}/{count.eligible}"
    return text if count.needed == 0 else f"{text} — {quorum_progress(count)}"


def _blocks(blockers: Sequence[tuple[Member, str]]) -> list[Line]:
    """`blocked by @erin: it breaks our lease`, one line per block."""
    return [line("blocked by ", named(m), ": ", reason, indent=1) for m, reason in blockers]


WAITING_SHOWN = 20  # a large co-op's `show` names a few non-voters, not thousands


def _waiting(waiting: Sequence[Member], total: int | None) -> Line:
    """`not yet voted: @dan @erin … and 12 more`."""
    return line(
        "not yet voted:", *mention_run(waiting, WAITING_SHOWN, total, notify=False), indent=1
    )


def status(
    decision: Decision,
    count: Count,
    waiting: Sequence[Member],
    tz: ZoneInfo,
    now: datetime,
    blockers: Sequence[tuple[Member, str]] = (),
    lowered_by: Member | None = None,
    waiting_total: int | None = None,
) -> Reply:
    """`show`: the count (only turnout while secret), any blocks with their reasons, who has
    not voted yet (`waiting`: the first ones by name, `waiting_total`: how many in all),
    and who set it below the co-op's defaults and why."""
    if decision.status == DecisionStatus.CLOSED:
        return result(decision, count, blockers).model_copy(update={"kind": "info"})
    if decision.status != DecisionStatus.OPEN:
        return _not_open(decision, tz)
    blocks: list[Line] = [
        line(
            Bold(text=f"#{decision.number} {decision.title}"),
            f" — open, {_deadline(decision, tz, now)}",
        ),
    ]
    if decision.body:
        blocks.append(line(decision.body, indent=1))
    if decision.kind == DecisionKind.POLL:
        blocks.extend(line(f"{k}: {v}", indent=1) for k, v in choice_keys(decision))
    note = score_note(decision)
    if note is not None:
        blocks.append(note)
    if decision.secret:
        blocks.append(line(f"secret ballot · {_turnout(count)}", indent=1))
    else:
        blocks.append(line(f"{_count_text(decision, count)}        {_turnout(count)}", indent=1))
        blocks.extend(unreadable_note(count))
    blocks.extend(_blocks(blockers))
    if waiting:
        blocks.append(_waiting(waiting, waiting_total))
    exception = lowered(decision, lowered_by)
    if exception is not None:
        blocks.append(exception)
    return Reply(blocks=tuple(blocks), choices=choices(decision), subject=subject(decision))


def _not_open(decision: Decision, tz: ZoneInfo) -> Reply:
    """A scheduled or withdrawn decision: its state and times, no count."""
    if decision.status == DecisionStatus.SCHEDULED:
        state = (
            f"scheduled, opens {format_local(decision.opens_at, tz)}, "
            f"closes {format_local(decision.closes_at, tz)} ({tz.key})"
        )
    else:
        state = decision.status
    blocks = [line(Bold(text=f"#{decision.number} {decision.title}"), f" — {state}")]
    if decision.body:
        blocks.append(line(decision.body, indent=1))
    if decision.kind == DecisionKind.POLL:
        blocks.extend(line(f"{k}: {v}", indent=1) for k, v in choice_keys(decision))
    return Reply(blocks=tuple(blocks), subject=subject(decision))


def _poll_head(decision: Decision, count: Count, turnout: str) -> str:
    """`winner: Lakehouse (round 3 of 3; turnout 14/16, quorum 8 met)`."""
    assert count.poll is not None
    if count.no_quorum:
        return f"{decision.outcome or 'no quorum'} ({turnout})"
    poll = count.poll
    head = polls.describe_winner(poll, _labels(decision))
    if poll.rounds and len(poll.winners) == 1:
        head = head.removesuffix(")") + f"; {turnout})"
    else:
        head += f" ({turnout})"
    return head


def result(decision: Decision, count: Count, blockers: Sequence[tuple[Member, str]] = ()) -> Reply:
    """`#7 Buy a 3D printer — PASSED (yes 7, no 2, abstain 1; turnout 10/12, quorum 6 met)`,
    with a consent proposal's blocks and their reasons below."""
    outcome = decision.outcome or ""
    quorum = (
        "no quorum required"
        if count.needed == 0
        else f"quorum {count.needed} {'met' if count.turnout >= count.needed else 'not met'}"
    )
    turnout = f"turnout {count.turnout}/{count.eligible}, {quorum}"
    blocks: list[Line] = []
    if count.proposal is not None:
        p = count.proposal
        counts = f"yes {p.yes}, no {p.no}, abstain {p.abstain}"
        if decision.method == proposals.ProposalMethod.CONSENT:
            counts += f", block {p.block}"
        blocks.append(
            line(
                Bold(text=f"#{decision.number} {decision.title}"),
                " — ",
                Bold(text=outcome.upper()),
                f" ({counts}; {turnout})",
            )
        )
        blocks.extend(_blocks(blockers))
    else:
        assert count.poll is not None
        labels = _labels(decision)
        blocks.append(
            line(
                Bold(text=f"#{decision.number} {decision.title}"),
                " — ",
                _poll_head(decision, count, turnout),
            )
        )
        if count.poll.rounds:
            blocks.extend(
                line(text, indent=1) for text in polls.describe_rounds(count.poll, labels)
            )
        else:
            blocks.append(line(_count_text(decision, count), indent=1))
    blocks.extend(unreadable_note(count))
    return Reply(
        kind="announcement",
        blocks=tuple(blocks),
        choices=choices(decision),
        subject=subject(decision),
    )


def extended(decision: Decision, tz: ZoneInfo, now: datetime) -> Reply:
    """`#7 Buy a 3D printer — extended; now closes Thu 19 Nov 09:00 (UTC), in 3 days`."""
    return Reply(
        kind="announcement",
        blocks=(
            line(
                Bold(text=f"#{decision.number} {decision.title}"),
                f" — extended; now {_deadline(decision, tz, now)}",
            ),
        ),
        subject=subject(decision),
    )


def withdrawn(decision: Decision, by: Member) -> Reply:
    return Reply(
        kind="announcement",
        blocks=(
            line(Bold(text=f"#{decision.number} {decision.title}"), " — withdrawn by ", named(by)),
        ),
        choices=choices(decision),
        subject=subject(decision),
    )


def listing(decisions: Sequence[Decision], which: str, tz: ZoneInfo, now: datetime) -> Reply:
    if not decisions:
        return Reply(
            blocks=(
                line(f"No {which if which != 'all' else ''} decisions yet.".replace("  ", " ")),
            )
        )
    head = f"Decisions ({which})"
    if len(decisions) >= LIST_MAX:
        head += f" — the latest {LIST_MAX}"
    blocks = [line(Bold(text=head))]
    for d in decisions:
        if d.status == DecisionStatus.OPEN:
            left = format_duration(d.closes_at - now)
            state = f"open, closes {format_local(d.closes_at, tz)} (in {left})"
        elif d.status == DecisionStatus.SCHEDULED:
            state = f"scheduled, opens {format_local(d.opens_at, tz)}"
        elif d.status == DecisionStatus.CLOSED:
            state = f"closed — {d.outcome}"
        else:
            state = d.status
        blocks.append(line(f"#{d.number} ", d.title, f" — {state}", indent=1))
    return Reply(blocks=tuple(blocks))
