"""A thread per decision on Matrix: an `m.thread` rooted at the decision's live card (the
notice it opened with, named by its `#N title` line), for every decision, secret or not;
its reminders, its result and the questions about it go there, and the room keeps one line
per event."""

from __future__ import annotations

from typing import Any

from bot.intents import Say, thread_news
from bot.ports import CoreAPI, DecisionRef, Intent
from bot.render.document import Reply

PLATFORM = "matrix"


def thread_subject(intent: Intent) -> DecisionRef | None:
    """The decision whose thread this belongs in: its news (a reminder, its result), or a
    read about it (`show 7`)."""
    if isinstance(intent, Say) and intent.read:
        return intent.about
    return thread_news(intent)


async def threads_kept(core: CoreAPI, ref: DecisionRef) -> bool:
    """Whether decision `ref`'s co-op keeps a thread per decision."""
    threads_on = getattr(core, "threads_on", None)
    return bool(threads_on is not None and await threads_on(ref))


async def root_of(core: CoreAPI, room_id: str, ref: DecisionRef) -> str | None:
    """The root of decision `ref`'s thread in this room, where its co-op keeps threads: its
    live card there (for a decision posted before live cards were linked, its poll)."""
    if not await threads_kept(core, ref):
        return None
    for linked in (await core.live_cards_of(PLATFORM, ref), await core.cards_of(PLATFORM, ref)):
        here = [mid for room, mid in linked if room == room_id]
        if here:
            return here[0]
    return None


async def thread_root(
    core: CoreAPI, room_id: str, intent: Intent
) -> tuple[DecisionRef, str] | None:
    """(decision, root event) of the thread this news or read belongs in, in this room."""
    ref = thread_subject(intent)
    if ref is None:
        return None
    root = await root_of(core, room_id, ref)
    return (ref, root) if root is not None else None


def in_thread(content: dict[str, Any], root: str, reply_to: str | None = None) -> dict[str, Any]:
    """`content` as an event of the thread rooted at `root`: a reply to `reply_to` in it
    when given (a question asked), else falling back to a reply to the root for clients
    without threads."""
    threaded = dict(content)
    threaded["m.relates_to"] = {
        "rel_type": "m.thread",
        "event_id": root,
        "is_falling_back": reply_to is None,
        "m.in_reply_to": {"event_id": reply_to or root},
    }
    return threaded


def thread_of(content: dict[str, Any]) -> str | None:
    """The root of the thread an event's content is in, if any."""
    relates = content.get("m.relates_to")
    if isinstance(relates, dict) and relates.get("rel_type") == "m.thread":
        root = relates.get("event_id")
        return root if isinstance(root, str) else None
    return None


def for_thread(reply: Reply, intent: Intent) -> bool:
    """Whether `reply` may go to a thread: never a private one; an ephemeral one only when
    it is a read (Matrix shows no reply to one person alone: a read goes to the room)."""
    if reply.private:
        return False
    return not reply.ephemeral or (isinstance(intent, Say) and intent.read)
