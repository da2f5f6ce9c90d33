"""Test helpers: speak to a core as console users and read what they would see."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import event, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.app import Core
from bot.clock import Clock
from bot.db.models import Decision, Vote
from bot.dispatch import Dispatcher
from bot.domain.proposals import ProposalChoice
from bot.domain.vocabulary import DecisionKind
from bot.handler_table import all_handlers
from bot.invocation import CAP_ATTACHMENTS, Invocation, RoomRef, build_invocation
from bot.render.plain import render_plain
from bot.services import ballots
from bot.services.context import Context
from bot.services.vote_statements import readable_vote

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


KNOWN_CHOICES = {str(choice) for choice in ProposalChoice}
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


async def kept_and_counted_votes(core: Core) -> dict[int, tuple[int, int]]:
    """Per decision number: (its kept count of readable votes, `decisions.votes_cast`; the
    readable votes counted afresh from its votes or sealed ballots, as `turnout` counted)."""
    found: dict[int, tuple[int, int]] = {}
    async with core.sessions() as session:
        ctx = Context(session=session, clock=core.clock, settings=core.settings)
        for decision in (await session.scalars(select(Decision).order_by(Decision.id))).all():
            choices = await ballots.choice_counts(ctx, decision)
            if decision.kind == DecisionKind.PROPOSAL:
                counted = sum(n for choice, n in choices.items() if choice in KNOWN_CHOICES)
            else:
                counted = choices.get(None, 0)  # a poll's ballots (legacy text: unreadable)
            found[decision.number] = (decision.votes_cast, counted)
    return found


async def recount_votes_cast(session: AsyncSession, decision_id: int, kind: str) -> None:
    """Votes written straight into the table (a test's bulk insert, as no command writes
    them) counted into the decision's `votes_cast`, as revision 0010 fills it (on SQLite
    its triggers have counted them already: the same value)."""
    readable = (
        select(func.count())
        .select_from(Vote)
        .where(Vote.decision_id == decision_id, readable_vote(kind))
        .scalar_subquery()
    )
    await session.execute(
        update(Decision)
        .where(Decision.id == decision_id)
        .values(votes_cast=readable)
        .execution_options(synchronize_session=False)
    )


def full_path_dispatcher(core: Core, clock: Clock) -> Dispatcher:
    """A dispatcher beside `core`'s whose votes all take the full path (no bot.vote_fast):
    what the fast path must answer and store alike."""
    return Dispatcher(
        core.sessions,
        clock,
        core.settings,
        core.tree,
        all_handlers(core.tree),
        owner=core.owner,
        fast_votes=False,
    )
