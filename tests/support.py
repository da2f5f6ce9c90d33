"""Test helpers: speak to a core as console users and read what they would see."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event

from bot.app import Core
from bot.invocation import CAP_ATTACHMENTS, Invocation, RoomRef, build_invocation
from bot.render.plain import render_plain

CONSOLE_ROOM = RoomRef("console", "local")
_ids = itertools.count(1)


def invocation(
    user: str,
    text: str,
    room: RoomRef = CONSOLE_ROOM,
    *,
    admin: bool = True,
    message_id: str | None = None,
    capabilities: frozenset[str] = frozenset({CAP_ATTACHMENTS}),
) -> Invocation:
    command = text.strip().removeprefix("!").removeprefix("/")
    return build_invocation(
        room,
        user,
        command,
        message_id or f"m{next(_ids)}",
        is_room_admin=admin,
        capabilities=capabilities,
    )


async def say(
    core: Core,
    user: str,
    text: str,
    room: RoomRef = CONSOLE_ROOM,
    *,
    admin: bool = True,
    capabilities: frozenset[str] = frozenset({CAP_ATTACHMENTS}),
) -> str:
    """What the room sees after `user` types `text` (all replies, plain text)."""
    replies = await core.handle(
        invocation(user, text, room, admin=admin, capabilities=capabilities)
    )
    return "\n".join(render_plain(r) for r in replies)


async def announcements(
    core: Core, platform: str = "console", room: RoomRef | None = None
) -> list[str]:
    """Deliver pending outbox announcements for `platform` and return their text."""
    shown: list[str] = []
    while batch := await core.pending_deliveries(platform):
        for delivery in batch:
            if room is None or delivery.room == room:
                shown.append(render_plain(delivery.reply))
            await core.mark_delivered(delivery.delivery_id, None)
    return shown


async def setup_coop(
    core: Core,
    steward: str = "alice",
    members: tuple[str, ...] = ("bob", "carol"),
    name: str = "Riverside Co-op",
) -> None:
    """A co-op bound to the console room with `steward` and `members`."""
    reply = await say(core, steward, f"!coop setup {name}")
    assert "set up" in reply, reply
    for member in members:
        reply = await say(core, steward, f"!member add @{member}")
        assert "joined" in reply, reply


CODE = re.compile(r"\b([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})\b")


def one_time_code(text: str) -> str:
    """The one-time code (`7K3Q-M2XD-9TPA-W4RE`) in a reply's text."""
    match = CODE.search(text)
    assert match, text
    return match.group(1)


@contextmanager
def statements_sent(core: Core) -> Iterator[list[str]]:
    """Every statement the engine sends inside the block (BEGIN included), each as its
    first 80 characters with whitespace collapsed."""
    sent: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        sent.append(" ".join(statement.split())[:80])

    with listening(core, "before_cursor_execute", record):
        yield sent


@contextmanager
def listening(core: Core, name: str, listener: Callable[..., None]) -> Iterator[None]:
    """`listener` on the engine event `name` of every engine `core` runs statements on
    (Core.engines: on SQLite, its writer thread's too) inside the block."""
    for engine in core.engines:
        event.listen(engine, name, listener)
    try:
        yield
    finally:
        for engine in core.engines:
            event.remove(engine, name, listener)
