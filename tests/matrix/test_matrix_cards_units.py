"""A Matrix card's long body is cut with a "read more", never split (adapters.matrix.cards):
the card stays one short event and the full text of what was cut is kept whole."""

from __future__ import annotations

from adapters.matrix.cards import (
    CARD_LINE_LIMIT,
    CARD_LINE_ROWS,
    cut_card,
    read_more_beside,
    read_more_show,
)
from adapters.matrix.live import same_news
from adapters.matrix.render import render_reply
from bot.domain.proposals import ProposalMethod
from bot.domain.vocabulary import DecisionKind
from bot.render.document import Bold, ChoiceOption, Choices, Line, Reply, Text

CHOICES = Choices(
    coop_id=1,
    decision_number=7,
    decision_kind=DecisionKind.PROPOSAL,
    method=ProposalMethod.MAJORITY,
    question="Buy a 3D printer",
    options=(ChoiceOption(key="yes", label="yes"), ChoiceOption(key="no", label="no")),
    show_command="show 7",
)


def card(body: str) -> Reply:
    return Reply(
        kind="announcement",
        blocks=(
            Line(parts=(Bold(text="#7 Buy a 3D printer"), Text(text=" — open"))),
            Line(parts=(Text(text=body),), indent=1),
            Line(parts=(Text(text="yes 0 · no 0"),), indent=1),
        ),
        choices=CHOICES,
        subject="decision:1:7",
    )


def test_a_short_body_is_shown_whole_with_no_read_more() -> None:
    reply = card("We print parts ourselves.")
    shown, full = cut_card(reply, read_more_beside(threads=False))
    assert shown == reply and full is None


def test_a_body_at_the_limit_is_cut_and_its_full_text_kept_whole() -> None:
    body = " ".join(f"word{n}" for n in range(1000))[:4000]
    shown, full = cut_card(card(body), read_more_beside(threads=True))
    plain = render_reply(shown)["body"]
    assert body not in plain and len(plain) < CARD_LINE_LIMIT + 200
    assert plain.splitlines()[-1].strip() == "read more: the full text is in this card's thread"
    assert "yes 0 · no 0" in plain  # the count stays on the card
    assert full is not None and body in render_reply(full)["body"]
    assert render_reply(full)["body"].startswith("#7 Buy a 3D printer")


def test_a_body_of_many_short_lines_is_cut_to_a_few() -> None:
    body = "\n".join(f"point {n}" for n in range(40))
    shown, full = cut_card(card(body), read_more_show(card(body)))
    plain = render_reply(shown)["body"]
    assert "point 0" in plain and f"point {CARD_LINE_ROWS}" not in plain
    assert plain.splitlines()[-1].strip() == "read more: !show 7"
    assert full is not None and "point 39" in render_reply(full)["body"]


def test_a_card_whose_only_change_is_the_time_left_is_up_to_date() -> None:
    then = "#7 Buy a 3D printer — open, closes Mon 1 Dec 18:00 (Europe/Berlin), in 20 h\n  yes 1"
    later = "#7 Buy a 3D printer — open, closes Mon 1 Dec 18:00 (Europe/Berlin), in 2 h\n  yes 1"
    voted = "#7 Buy a 3D printer — open, closes Mon 1 Dec 18:00 (Europe/Berlin), in 2 h\n  yes 2"
    assert same_news(then, later)
    assert not same_news(then, voted)
