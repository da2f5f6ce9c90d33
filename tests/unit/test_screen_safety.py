"""What the bot echoes reaches every screen as typed, minus what would reorder, forge or
ping: e-mail addresses stay whole, crowd pings and bidi controls don't (SPEC §7)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.discord.render import render_reply as render_discord
from adapters.matrix.render import render_reply as render_matrix
from bot.domain.text import BIDI_CONTROLS, clean_message, clean_name, for_screen
from bot.errors import UserError
from bot.render.document import Reply, line
from bot.render.plain import render_plain

ADDRESSES = ["bob@here.com", "team@everyone.org", "ops@room.net", "a.b+c@channel.io"]


def _everywhere(text: str) -> dict[str, str]:
    reply = Reply(blocks=(line(text),))
    matrix = render_matrix(reply)
    return {
        "console": render_plain(reply),
        "matrix body": matrix["body"],
        "matrix html": matrix["formatted_body"],
        "discord": render_discord(reply)[0].content,
    }


@pytest.mark.parametrize("address", ADDRESSES)
def test_an_email_address_reaches_every_screen_untouched(address: str) -> None:
    for where, shown in _everywhere(f"write to {address} today").items():
        assert address in shown.replace("\\", ""), (where, shown)
        assert "\u200b" not in shown, where


@pytest.mark.parametrize("ping", ["@here", "@everyone", "@room", "@Room", "(@channel)", "x.@room"])
def test_a_crowd_ping_is_neutralised_on_every_screen(ping: str) -> None:
    bare = ping.strip("()").removeprefix("x.")
    for where, shown in _everywhere(f"hey {ping}!").items():
        assert bare not in shown, (where, shown)


def test_bidi_controls_never_reach_a_screen() -> None:
    for where, shown in _everywhere("Raise dues \u202e%5 yb\u202c \u2067x\u2069").items():
        assert not set(BIDI_CONTROLS) & set(shown), where


def test_control_characters_from_old_rows_are_replaced_on_screen() -> None:
    assert for_screen("a\x1b[2Jb\x00c\rd") == "a\ufffd[2Jb\ufffdc\nd"


_ordinary = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cc", "Cs"), blacklist_characters=BIDI_CONTROLS + "\u2028\u2029"
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(_ordinary)
def test_ordinary_text_passes_the_edge_unchanged(text: str) -> None:
    assert clean_message(text) == text
    assert for_screen(text) == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_refused_or_comes_out_storable(text: str) -> None:
    try:
        cleaned = clean_message(text)
    except UserError as error:
        assert "\n" not in error.message
        return
    cleaned.encode("utf-8")  # valid UTF-8: no lone surrogates
    assert "\x00" not in cleaned and "\r" not in cleaned
    assert not set(BIDI_CONTROLS) & set(cleaned)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_a_name_always_comes_out_on_one_storable_line(text: str) -> None:
    name = clean_name(text)
    name.encode("utf-8")
    assert len(name.splitlines()) <= 1 and "\x00" not in name and len(name) <= 100
    assert not set(BIDI_CONTROLS) & set(name)
