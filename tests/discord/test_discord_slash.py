"""Slash-command values become the same text a member would type, and read back the same."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord.slash import slash_text
from bot.commands.parser import parse
from bot.commands.tree import build_command_tree
from bot.errors import UserError

TREE = build_command_tree()
PROPOSE = TREE.find("propose")
VOTE = TREE.find("vote")

# What a member can type into a Discord text option: one line, no control characters.
one_line = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=60,
    )
    .map(lambda s: " ".join(s.split()))
    .filter(bool)
)


def test_a_title_that_looks_like_an_option_is_quoted() -> None:
    assert PROPOSE is not None
    text = slash_text(PROPOSE, {"title": "Change method: to consent", "method": "consent"})

    assert text == 'propose "Change method: to consent" method:consent'
    assert parse(text, TREE).values["title"] == "Change method: to consent"


def test_a_value_the_parser_refuses_never_becomes_a_command() -> None:
    assert VOTE is not None
    with pytest.raises(UserError) as refused:
        slash_text(VOTE, {"id": "7", "choice": "yes", "reason": "x" * 600})

    assert "the limit is 500" in refused.value.message
    assert refused.value.hint is not None and "`/vote" in refused.value.hint


@settings(max_examples=300, deadline=None)
@given(title=one_line, body=one_line, reason=one_line)
def test_any_title_body_and_reason_read_back_unchanged(title: str, body: str, reason: str) -> None:
    assert PROPOSE is not None and VOTE is not None
    proposal = parse(slash_text(PROPOSE, {"title": title, "body": body}), TREE)
    vote = parse(slash_text(VOTE, {"id": "7", "choice": "no", "reason": reason}), TREE)

    assert proposal.values["title"] == title
    assert proposal.values["body"] == body
    assert vote.values["reason"] == reason
