"""A thread per decision on Matrix: an `m.thread` rooted at the decision's native poll,
where its reminders and result go; the room keeps one line per event."""

from __future__ import annotations

from typing import Any

from bot.intents import thread_news
from bot.ports import CoreAPI, DecisionRef, Intent
from bot.render.document import Reply

PLATFORM = "matrix"


async def thread_root(
    core: CoreAPI, room_id: str, intent: Intent
) -> tuple[DecisionRef, str] | None:
    """(decision, root event) of the thread this news belongs in, in this room: the
    decision's first linked event there (its native poll), where its co-op keeps threads."""
    ref = thread_news(intent)
    if ref is None:
        return None
    threads_on = getattr(core, "threads_on", None)
    if threads_on is None or not await threads_on(ref):
        return None
    linked = [mid for room, mid in await core.cards_of(PLATFORM, ref) if room == room_id]
    return (ref, linked[0]) if linked else None


def in_thread(content: dict[str, Any], root: str) -> dict[str, Any]:
    """`content` as an event of the thread rooted at `root` (falling back to a reply to the
    root for clients without threads)."""
    threaded = dict(content)
    threaded["m.relates_to"] = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": True,
        "m.in_reply_to": {"event_id": root},
    }
    return threaded


def for_thread(reply: Reply) -> bool:
    return not reply.private and not reply.ephemeral
