"""A Matrix live card never edited still shows the notice its decision opened with, a form
other than a refreshed card's: whether that notice still tells the decision as it stands
(no vote counted since, the same deadline), for the catch-up of a process taking over."""

from __future__ import annotations

import re

from nio import AsyncClient, RoomGetEventResponse

# "turnout 3/12" on a refreshed card (open or secret): how many have voted.
_TURNOUT = re.compile(r"\bturnout (\d+)/\d+")
# "closes Mon 1 Dec 18:00 (Europe/Berlin)" on the first line of either form.
_CLOSES = re.compile(r"\bcloses [^\n]*?\([^()\s]+\)")


async def posted_body(client: AsyncClient, room_id: str, event_id: str) -> str | None:
    """The body event `event_id` was posted with, as the homeserver has it; None when it
    cannot be read now."""
    response = await client.room_get_event(room_id, event_id)
    if not isinstance(response, RoomGetEventResponse):
        return None
    body = response.event.source.get("content", {}).get("body")
    return body if isinstance(body, str) else None


def _first_line_deadline(body: str) -> str | None:
    found = _CLOSES.search(body.split("\n", 1)[0])
    return found.group(0) if found else None


def still_as_opened(posted: str, wanted: str) -> bool:
    """Whether a card still showing the notice `posted` needs no edit to show `wanted`
    (the refreshed card): nobody has voted yet and the deadline is the one it shows.
    (The opening notice shows no count, so a vote is what makes it stale.)"""
    turnout = _TURNOUT.search(wanted)
    if turnout is not None and int(turnout.group(1)) > 0:
        return False
    shown, now = _first_line_deadline(posted), _first_line_deadline(wanted)
    return shown is None or now is None or shown == now
