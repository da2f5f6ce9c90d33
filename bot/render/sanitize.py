"""Neutralises crowd pings and platform mention syntax in text the bot echoes (SPEC §7)."""

from __future__ import annotations

import re

from bot.domain.text import for_screen

_ZWSP = "\u200b"
# @everyone / @here (Discord), @room (Matrix) in any letter case, where it starts a word:
# an `@` right after a letter or digit is inside an address (`bob@here.com`), which Matrix
# (its @room rule wants a non-word character or nothing before the `@`) does not read as a
# ping, Discord never pings (replies allow no crowd mentions), and which must reach the
# screen as typed.
_CROWD = re.compile(r"(?<!\w)@(?=(everyone|here|room|channel)\b)", re.IGNORECASE)
# Discord mention tokens: users <@1>, <@!1>, roles <@&1>, channels <#1>, slash <\/x:1>.
_DISCORD_TOKEN = re.compile(r"<(?=[@#]|/)")


def neutralise(text: str) -> str:
    """Return `text` with crowd pings and raw mention tokens made inert, and without bidi or
    control characters (whatever its origin, see bot.domain.text.for_screen).

    A zero-width space after the `@` (or `<`) keeps the text readable while no platform
    parses it as a ping. HTML escaping is the HTML renderer's job, not this function's."""
    text = _CROWD.sub("@" + _ZWSP, for_screen(text))
    return _DISCORD_TOKEN.sub("<" + _ZWSP, text)
