"""Native Matrix polls (MSC3381): decision choices → poll start, responses → votes, poll end.

The start event is sent with the unstable type `org.matrix.msc3381.poll.start`, which the
clients people use today render in every stable room version; its content carries both the
unstable block and the stable `m.poll` block, so clients that read either understand it.
Responses and ends are accepted in both the stable and the unstable form.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.polls import PollMethod
from bot.domain.proposals import ProposalMethod
from bot.render.document import Choices
from bot.render.sanitize import neutralise

UNSTABLE_START = "org.matrix.msc3381.poll.start"
STABLE_START = "m.poll.start"
UNSTABLE_RESPONSE = "org.matrix.msc3381.poll.response"
STABLE_RESPONSE = "m.poll.response"
UNSTABLE_END = "org.matrix.msc3381.poll.end"
STABLE_END = "m.poll.end"

START_TYPES = frozenset({UNSTABLE_START, STABLE_START})
RESPONSE_TYPES = frozenset({UNSTABLE_RESPONSE, STABLE_RESPONSE})
END_TYPES = frozenset({UNSTABLE_END, STABLE_END})

_TEXT = "org.matrix.msc1767.text"
# Methods a poll can express: one choice, or several (approval). Ranked and score ballots
# need an order or a number per option, which Matrix polls cannot carry: text vote only.
_SINGLE: frozenset[str] = frozenset({*ProposalMethod, PollMethod.SINGLE})
_MULTI: frozenset[str] = frozenset({PollMethod.APPROVAL})


def supports_native_poll(choices: Choices) -> bool:
    """Whether a decision can be offered as a native poll.

    Secret decisions never are: every poll response is a room event any member's client can
    read, which would show how each person voted (SPEC §7)."""
    return not choices.secret and choices.method in (_SINGLE | _MULTI)


def poll_answers(choices: Choices) -> list[tuple[str, str]]:
    """(answer id, label) pairs; a consent `block` stays a text vote since it needs a reason."""
    return [(opt.key, neutralise(opt.label)) for opt in choices.options if opt.key != "block"]


def poll_start_content(choices: Choices, fallback: str) -> dict[str, Any]:
    """The content of the poll start event for an open decision."""
    answers = poll_answers(choices)
    max_selections = len(answers) if choices.method in _MULTI else 1
    question = f"#{choices.decision_number} {neutralise(choices.question)}"
    return {
        UNSTABLE_START: {
            "question": {_TEXT: question, "body": question, "msgtype": "m.text"},
            "kind": "org.matrix.msc3381.poll.disclosed",
            "max_selections": max_selections,
            "answers": [{"id": key, _TEXT: label} for key, label in answers],
        },
        "m.poll": {
            "question": {"m.text": [{"body": question}]},
            "kind": "m.disclosed",
            "max_selections": max_selections,
            "answers": [{"m.id": key, "m.text": [{"body": label}]} for key, label in answers],
        },
        _TEXT: fallback,
        "m.text": [{"body": fallback}],
        "body": fallback,
        "m.mentions": {},
    }


def poll_fallback(choices: Choices, prefix: str) -> str:
    """What a client without poll support shows: the question, the options, the command."""
    keys = "|".join(key for key, _ in poll_answers(choices))
    lines = [f"#{choices.decision_number} {neutralise(choices.question)}"]
    lines.extend(f"{key}. {label}" for key, label in poll_answers(choices) if key != label)
    lines.append(f"vote: {prefix}vote {choices.decision_number} {keys}")
    return "\n".join(lines)


def poll_end_content(poll_event_id: str, summary: str) -> dict[str, Any]:
    """The content of the poll end event that closes `poll_event_id` with the result."""
    return {
        UNSTABLE_END: {},
        _TEXT: summary,
        "m.text": [{"body": summary}],
        "body": summary,
        "m.mentions": {},
        "m.relates_to": {"rel_type": "m.reference", "event_id": poll_event_id},
    }


@dataclass(frozen=True)
class PollResponse:
    """A member's answer to a poll: which poll, which answer ids (empty = retracted)."""

    poll_event_id: str
    selections: tuple[str, ...]


def parse_response(content: Mapping[str, Any]) -> PollResponse | None:
    """Read a poll response in either form; None when it is malformed."""
    relates = content.get("m.relates_to")
    if not isinstance(relates, Mapping) or relates.get("rel_type") != "m.reference":
        return None
    poll_event_id = relates.get("event_id")
    if not isinstance(poll_event_id, str):
        return None
    raw: Any = content.get("m.selections")
    if raw is None:
        block = content.get(UNSTABLE_RESPONSE)
        raw = block.get("answers") if isinstance(block, Mapping) else None
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        return None
    return PollResponse(poll_event_id=poll_event_id, selections=tuple(raw))


def vote_text(decision_number: int, selections: Sequence[str]) -> str | None:
    """The `vote` command a response stands for, or None when it selects nothing (a
    retraction, which a vote cannot express: the earlier vote stays).

    Several selections (an approval poll) become `A,C`; the core checks them against the
    decision's method exactly as it checks a typed vote."""
    chosen = [s.strip() for s in dict.fromkeys(selections) if s.strip()]
    if not chosen or any(" " in s or "," in s for s in chosen):
        return None
    return f"vote {decision_number} {','.join(chosen)}"
