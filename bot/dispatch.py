"""Runs one invocation: dedupe, resolve co-op and actor, authorise, handle, and store the
answer to a change, in one transaction."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Executable, Select, Subquery, bindparam, func, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import aliased, noload

from bot.clock import Clock
from bot.commands.args import VoteArgs
from bot.commands.handlers import Handler
from bot.commands.parser import ParsedCommand, parse
from bot.commands.spec import Command, Permission
from bot.commands.tree import CommandTree
from bot.config import Settings
from bot.db.handled import handled_insert
from bot.db.models import Coop, Decision, HandledMessage, Member, Membership, RoomBinding
from bot.db.writer_thread import WriterThread
from bot.domain.vocabulary import Role
from bot.edge import checked
from bot.errors import UserError
from bot.failure_log import log_failure
from bot.intents import intent_for
from bot.invocation import Invocation
from bot.outgoing import Answer
from bot.render.chart_process import ChartSlots
from bot.render.document import Reply, error
from bot.services.context import Context
from bot.services.coops import coop_of_person
from bot.services.members import (
    coop_actor_and_decision,
    coop_and_actor,
    covers,
    member_by_identity,
    to_actor,
)
from bot.services.outbox import acknowledge
from bot.services.vote_statements import VoteStatements
from bot.vote_fast import FastVote

log = logging.getLogger(__name__)

CANONICAL_PREFIX = "!"


def refusal(exc: UserError, prefix: str) -> Reply:
    """The error reply for `exc`. Pure rules write command examples in the canonical text
    form (`!vote 7 yes`); here they take the form of the actor's platform (`/vote 7 yes`)."""

    def local(text: str) -> str:
        return text.replace("`" + CANONICAL_PREFIX, "`" + prefix)

    return error(local(exc.message), local(exc.hint) if exc.hint else None)


def authorise(ctx: Context, cmd: ParsedCommand) -> None:
    """The one place where who-may-run-what is checked (finer rules live in services)."""
    inv = ctx.invocation
    assert inv is not None
    name = cmd.command.name
    # A command that binds or sets up a room makes no sense in a private conversation.
    if inv.direct and cmd.command.binds_room:
        raise UserError(
            f"`{ctx.prefix}{name}` works in a group room, not in a direct message",
            "run it in the room the co-op should live in",
        )
    if ctx.coop is None and not cmd.command.unbound_ok:
        ctx.require_coop()
    permission = cmd.command.permission
    if permission is Permission.ROOM_ADMIN and not inv.actor.is_room_admin:
        raise UserError(
            f"Only a room admin can run `{ctx.prefix}{name}`",
            "ask someone who can manage this room",
        )
    if permission in (Permission.MEMBER, Permission.STEWARD):
        actor = ctx.require_actor()
        if permission is Permission.STEWARD and actor.role != Role.STEWARD:
            raise UserError(
                f"Only stewards can run `{ctx.prefix}{name}`",
                f"see who the stewards are with `{ctx.prefix}member list`",
            )
    for option, needed in cmd.restricted.items():
        if needed is Permission.STEWARD and (ctx.actor is None or ctx.actor.role != Role.STEWARD):
            raise UserError(
                f"Only stewards can use {option}: with `{ctx.prefix}{name}`",
                f"leave out {option}: — for example `{ctx.prefix}{cmd.command.example}`",
            )


# (command name, outcome, seconds): how each command went, for metrics. Outcomes: ok,
# refused (a UserError), duplicate (a message seen before), conflict, failed (a bug).
CommandObserver = Callable[[str, str, float], None]


@dataclass
class _Outcome:
    command: str = "unknown"
    result: str = "failed"
    spec: Command | None = None


class Dispatcher:
    """Turns invocations into replies; every command runs in its own transaction."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        tree: CommandTree,
        handlers: Mapping[type, Handler[Any]],
        *,
        owner: str = "",
        observe: CommandObserver | None = None,
        fast_votes: bool = True,
        writer: WriterThread | None = None,
        charts: ChartSlots | None = None,
    ) -> None:
        missing = {c.name for c in tree if c.args not in handlers}
        if missing:
            raise ValueError(f"commands without a handler: {sorted(missing)}")
        self._sessions = sessions
        self._clock = clock
        self._settings = settings
        self._tree = tree
        self._handlers = handlers
        self._owner = owner  # who holds the lease on stored answers (this process)
        self._observe = observe
        self._charts = charts  # the core's chart children (Context.charts)
        self._seen_statements: dict[str, Executable] = {}  # the dedupe insert by dialect
        self._vote_statements = VoteStatements()
        engine = sessions.kw.get("bind")
        # The common vote's own path (bot.vote_fast; on SQLite, through the core's `writer`
        # thread); None: every vote takes the full path (`fast_votes` False: the tests that
        # compare the two paths).
        self._fast_vote = (
            FastVote.on(engine, clock, owner, writer)
            if fast_votes and isinstance(engine, AsyncEngine)
            else None
        )

    async def handle(self, inv: Invocation, *, shown_at_once: bool = False) -> list[Answer]:
        """The replies to `inv`. When the command changed state, its replies are stored
        in the same transaction (leased by this process), so that a crash between the
        commit and the send cannot leave the change unacknowledged. A message seen before
        gets nothing: its answers were sent, or are in the outbox.

        `shown_at_once`: the caller shows the replies itself as soon as this returns
        (Core.handle). They are then not stored: storing them and marking them sent in the
        same transaction would leave nothing behind either."""
        started = time.perf_counter()
        outcome = _Outcome()
        try:
            found = await self._run(inv, outcome, store=not shown_at_once)
        finally:
            # Names and ids only: the text and the parsed arguments may be a secret choice.
            log.debug(
                "%s by %s in %s (message %s): %s",
                outcome.command,
                inv.actor.identity,
                inv.room.key,
                inv.message_id,
                outcome.result,
            )
            if self._observe is not None:
                self._observe(outcome.command, outcome.result, time.perf_counter() - started)
        spec = outcome.spec
        opens_card = spec is not None and spec.opens_card
        read = spec is not None and spec.reads
        answers = [
            a
            if isinstance(a, Answer)
            else Answer(a, None, intent_for(a, opens_card=opens_card, read=read))
            for a in found
        ]
        changed = all(a.reply.kind != "error" for a in answers)
        if outcome.result == "ok" and spec is not None and spec.changes_binding and changed:
            # Said once, typed: an adapter that syncs roles does so now (no command names).
            answers = [replace(a, binding_changed=True) for a in answers]
        return answers

    async def _run(
        self, inv: Invocation, outcome: _Outcome, *, store: bool = True
    ) -> list[Reply] | list[Answer]:
        prefix = self._settings.prefix_for(inv.room.platform)
        try:
            inv = checked(inv)
            cmd = parse(inv.text, self._tree, prefix)
        except UserError as exc:
            outcome.result = "refused"
            return [refusal(exc, prefix)]
        except Exception as exc:  # a bug in reading the text: the same report as below
            return self._failed(inv, outcome, exc)
        outcome.command = cmd.command.name
        outcome.spec = cmd.command
        try:
            fast = await self._fast(inv, cmd, prefix, store=store)
            if fast is not None:
                outcome.result = "ok" if fast else "duplicate"
                return fast
            async with self._sessions() as session, session.begin():
                ctx = await self._seen_or_context(session, inv, cmd)
                if ctx is None:
                    outcome.result = "duplicate"
                    return []
                authorise(ctx, cmd)
                replies = await self._handlers[cmd.command.args](ctx, cmd.args)
                if store and ctx.changed and ctx.coop is not None and replies:
                    answered: list[Reply] | list[Answer] = await self._store(
                        session,
                        ctx.coop.id,
                        inv,
                        replies,
                        opens_card=cmd.command.opens_card,
                    )
                else:
                    answered = replies
            outcome.result = "ok"
            return answered
        except UserError as exc:
            outcome.result = "refused"
            await self._remember(inv)
            return [refusal(exc, prefix)]
        except IntegrityError as exc:
            # Another process handled the same platform message first (or a concurrent
            # change won a unique race); nothing of this transaction was kept.
            log_failure(
                log,
                exc,
                "%s: integrity conflict in %s (message %s)",
                outcome.command,
                inv.room.key,
                inv.message_id,
                level=logging.INFO,
            )
            outcome.result = "conflict"
            if await self._already_handled(inv):
                return []
            return [error("That collided with another change at the same moment; please try again")]
        except Exception as exc:
            return self._failed(inv, outcome, exc)

    async def _fast(
        self, inv: Invocation, cmd: ParsedCommand, prefix: str, *, store: bool
    ) -> list[Reply] | list[Answer] | None:
        """The common vote's answers by its own path (empty: a message handled before),
        or None: the full path answers (nothing was written)."""
        if (
            self._fast_vote is None
            or not isinstance(cmd.args, VoteArgs)
            or inv.direct
            or cmd.restricted
        ):
            return None
        return await self._fast_vote.vote(inv, cmd.args, prefix, store=store)

    @staticmethod
    def _failed(inv: Invocation, outcome: _Outcome, exc: Exception) -> list[Reply]:
        # Never the text, the arguments or the exception's message: any of them can be
        # the member's secret choice.
        log_failure(
            log,
            exc,
            "%s failed in %s (message %s, from %s)",
            outcome.command,
            inv.room.key,
            inv.message_id,
            inv.actor.identity,
        )
        return [
            error(
                "Something went wrong on our side; nothing was changed",
                "the operator can find the details in the bot's log",
            )
        ]

    async def _store(
        self,
        session: AsyncSession,
        coop_id: int,
        inv: Invocation,
        replies: list[Reply],
        *,
        opens_card: bool,
    ) -> list[Answer]:
        stored = await acknowledge(
            session,
            self._clock,
            coop_id,
            inv.room,
            inv.actor.user_id,
            inv.message_id,
            replies,
            self._owner,
            opens_card=opens_card,
        )
        return [Answer(r, d) for r, d in zip(replies, stored, strict=True)]

    async def _seen_or_context(
        self, session: AsyncSession, inv: Invocation, cmd: ParsedCommand
    ) -> Context | None:
        """None when `inv`'s message was handled before (`_seen`); else it is now recorded
        as handled, and the command's context read (`_context`). On PostgreSQL both in one
        statement (the dedupe insert a data-modifying CTE of the context's read); on SQLite
        a vote's context read also reads the decision voted on (`ctx.vote_read`)."""
        vote = cmd.args.id if isinstance(cmd.args, VoteArgs) else None
        if session.get_bind().dialect.name != "postgresql":
            if await self._seen(session, inv):
                return None
            return await self._context(session, inv, vote=vote)
        params: dict[str, Any] = {
            "platform": inv.room.platform,
            "message_id": inv.message_id,
            "handled_at": self._clock.now(),
            "identity": inv.actor.identity,
            "room_id": inv.room.room_id,
        }
        if vote is None:
            row = (await session.execute(_seen_and_context(), params)).unique().one()
            fresh, coop, actor = row
        else:
            params["number"] = vote
            # One row (no joined collection: the actor's identities are not read).
            row = (await session.execute(_seen_and_context(vote=True), params)).one()
            fresh, coop, actor, decision, stretch = row
        if not fresh:
            return None
        ctx = await self._context(session, inv, (coop, actor))
        if vote is not None and ctx.actor is not None and ctx.actor is actor:
            ctx.vote_read = (vote, decision, stretch is not None)
        return ctx

    async def _context(
        self,
        session: AsyncSession,
        inv: Invocation,
        found: tuple[Coop | None, Member | None] | None = None,
        *,
        vote: int | None = None,
    ) -> Context:
        ctx = Context(
            session=session,
            clock=self._clock,
            settings=self._settings,
            invocation=inv,
            vote_statements=self._vote_statements,
            charts=self._charts,
        )
        # The room's co-op and the actor, read fresh in one statement (never cached: another
        # process may have just changed who is a member or a steward); `found` when read;
        # for a vote (`vote`: its number) with the decision voted on.
        if found is None and vote is not None:
            found = await coop_actor_and_decision(ctx, inv.room, inv.actor.identity, vote)
        ctx.coop, ctx.actor = found or await coop_and_actor(ctx, inv.room, inv.actor.identity)
        if ctx.coop is None and inv.direct:
            ctx.coop = await coop_of_person(ctx, inv.actor.identity)
            if ctx.coop is not None:
                ctx.actor = await member_by_identity(ctx, ctx.coop.id, inv.actor.identity)
        return ctx

    async def _seen(self, session: AsyncSession, inv: Invocation) -> bool:
        """Whether `inv`'s message was handled before; if not, it is now recorded as
        handled, in one statement (an insert that does nothing on a duplicate)."""
        dialect = session.get_bind().dialect.name
        statement = self._seen_statements.get(dialect)
        if statement is None:
            statement = self._seen_statements[dialect] = handled_insert(dialect)
        inserted = await session.execute(
            statement,
            {
                "platform": inv.room.platform,
                "message_id": inv.message_id,
                "handled_at": self._clock.now(),
            },
        )
        return bool(inserted.rowcount != 1)  # type: ignore[attr-defined]

    async def _remember(self, inv: Invocation) -> None:
        """Record a refused command's message as handled (its transaction was undone)."""
        try:
            async with self._sessions() as session, session.begin():
                await self._seen(session, inv)
        except IntegrityError:
            pass

    async def _already_handled(self, inv: Invocation) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                select(HandledMessage.message_id).where(
                    HandledMessage.platform == inv.room.platform,
                    HandledMessage.message_id == inv.message_id,
                )
            )
            return found is not None


@functools.cache
def _seen_and_context(*, vote: bool = False) -> Executable:
    """PostgreSQL: (1 when the message is new, else 0; the room's co-op; the active member
    the actor is in it, with their identities), one row even for an unbound room: the
    dedupe insert (a data-modifying CTE) and members.coop_and_actor's read in one statement.
    `vote`: the actor without their identities (a vote does not read them), and also
    decision #:number of the co-op, locked for the vote (FOR UPDATE in a CTE: PostgreSQL
    locks no row on the nullable side of an outer join), and the id of the actor's
    membership stretch covering its opening (None: not eligible)."""
    handled = handled_insert("postgresql").returning(HandledMessage.message_id).cte("handled")
    fresh = select(func.count()).select_from(handled).scalar_subquery()
    actor = aliased(Member)
    one = select(literal(1).label("one")).subquery("one")
    if vote:
        bound = (
            select(RoomBinding.coop_id)
            .where(
                RoomBinding.platform == bindparam("platform"),
                RoomBinding.room_id == bindparam("room_id"),
            )
            .scalar_subquery()
        )
        locked = (
            select(Decision)
            .where(Decision.coop_id == bound, Decision.number == bindparam("number"))
            .with_for_update()
            .cte("locked")
        )
        decision = aliased(Decision, locked)
        return (
            _context_read(
                select(fresh, Coop, actor, decision, Membership.id), one, actor, identities=False
            )
            .outerjoin(decision, decision.coop_id == Coop.id)
            .outerjoin(Membership, (Membership.member_id == actor.id) & covers(decision.opened_seq))
            .options(noload(decision.options))
        )
    return _context_read(select(fresh, Coop, actor), one, actor)


def _context_read(
    statement: Select[Any], one: Subquery, actor: type[Member], *, identities: bool = True
) -> Select[Any]:
    """`statement` from the room's binding (outer joined: one row even for an unbound room)
    to its co-op and on to the actor (`members.to_actor`)."""
    bound = (
        statement.select_from(one)
        .outerjoin(
            RoomBinding,
            (RoomBinding.platform == bindparam("platform"))
            & (RoomBinding.room_id == bindparam("room_id")),
        )
        .outerjoin(Coop, Coop.id == RoomBinding.coop_id)
    )
    return to_actor(bound, actor, identities=identities)
