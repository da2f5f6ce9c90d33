"""Quiet reads on Matrix: a read answers its asker and links to the decision's live card."""

from __future__ import annotations

import html
from urllib.parse import quote

from bot.intents import Say
from bot.ports import CoreAPI, Intent

PLATFORM = "matrix"
MATRIX_TO = "https://matrix.to/#/"


def is_read(intent: Intent) -> bool:
    return isinstance(intent, Say) and intent.read


def event_link(room_id: str, event_id: str) -> str:
    """A matrix.to link to one event of a room."""
    return f"{MATRIX_TO}{quote(room_id, safe='!:')}/{quote(event_id, safe='$:')}"


async def live_card_line(core: CoreAPI, room_id: str, intent: Intent) -> tuple[str, str] | None:
    """The (plain, HTML) line linking a read about a decision to its live card in this room
    (the notice it opened with; for a decision posted before live cards, its poll), or None
    where it has none."""
    if not isinstance(intent, Say) or not intent.read or intent.about is None:
        return None
    ref = intent.about
    linked = [mid for room, mid in await core.live_cards_of(PLATFORM, ref) if room == room_id]
    if not linked:
        linked = [mid for room, mid in await core.cards_of(PLATFORM, ref) if room == room_id]
    if not linked:
        return None
    url = event_link(room_id, linked[-1])
    return (
        f"live card: {url}",
        f'live card: <a href="{html.escape(url, quote=True)}">{html.escape(url)}</a>',
    )
