"""Neutralises crowd pings and platform mention syntax in text the bot echoes (SPEC §7)."""

from __future__ import annotations

import re

_ZWSP = "\u200b"
# @everyone / @here (Discord), @room (Matrix) in any letter case.
_CROWD = re.compile(r"@(?=(everyone|here|room|channel)\b)", re.IGNORECASE)
# Discord mention tokens: users <@1>, <@!1>, roles <@&1>, channels <#1>, slash <\/x:1>.
_DISCORD_TOKEN = re.compile(r"<(?=[@#]|/)")


def neutralise(text: str) -> str:
    """Return `text` with crowd pings and raw mention tokens made inert.

    A zero-width space after the `@` (or `<`) keeps the text readable while no platform
    parses it as a ping. HTML escaping is the HTML renderer's job, not this function's."""
    text = _CROWD.sub("@" + _ZWSP, text)
    return _DISCORD_TOKEN.sub("<" + _ZWSP, text)
