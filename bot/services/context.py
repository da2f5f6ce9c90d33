"""The unit of work one command or scheduled job runs in: session, clock, co-op, actor."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.config import Settings
from bot.db.models import AuditEvent, Coop, Decision, Member
from bot.errors import UserError
from bot.invocation import Invocation
from bot.services.coop_config import CoopConfig, effective

if TYPE_CHECKING:
    from bot.render.chart_process import ChartSlots
    from bot.services.vote_statements import VoteStatements

# Built once: a vote's audit row is written with it (Context.audit_now).
AUDIT_INSERT = insert(cast(Table, AuditEvent.__table__))


@dataclass
class Context:
    """Everything a service needs, passed in. `invocation` is None for scheduled work."""

    session: AsyncSession
    clock: Clock
    settings: Settings
    invocation: Invocation | None = None
    coop: Coop | None = None
    actor: Member | None = None
    # Whether this unit of work changed state (it audited a change): a command that did
    # gets its answer stored with the change (see bot.services.outbox.acknowledge).
    changed: bool = False
    _config: CoopConfig | None = field(default=None, repr=False)
    # A vote on SQLite: (its number, the decision or None, whether the actor may vote on
    # it), read with the co-op and the actor (members.coop_actor_and_decision).
    vote_read: tuple[int, Decision | None, bool] | None = field(default=None, repr=False)
    # A vote's statements, built once by their owner (the dispatcher); None: built anew.
    vote_statements: VoteStatements | None = field(default=None, repr=False)
    # The core's chart children, at most so many at a time (the core builds it once and
    # gives it to the units of work it runs); None: a weekly summary goes without its chart.
    charts: ChartSlots | None = field(default=None, repr=False)

    @property
    def prefix(self) -> str:
        """How a command is written where the actor is (`/` on Discord)."""
        return self.settings.prefix_for(self.invocation.room.platform if self.invocation else None)

    def require_coop(self) -> Coop:
        if self.coop is None:
            raise UserError(
                "This room is not bound to a co-op yet",
                f"a room admin can start one with `{self.prefix}coop setup <name>`",
            )
        return self.coop

    def require_actor(self) -> Member:
        if self.actor is None:
            raise UserError(
                "Only members of this co-op can do that",
                f"ask a steward to add you: `{self.prefix}member add @{self._actor_name()}`",
            )
        return self.actor

    def _actor_name(self) -> str:
        return self.invocation.actor.display_name if self.invocation else "name"

    @property
    def config(self) -> CoopConfig:
        if self._config is None:
            self._config = effective(self.settings.defaults, self.require_coop().settings)
        return self._config

    def forget_config(self) -> None:
        self._config = None

    def audit_row(self, action: str, subject: str, detail: dict[str, Any]) -> dict[str, Any]:
        """The audit_events row `audit` writes (a statement that writes it itself)."""
        coop = self.require_coop()
        inv = self.invocation
        self.changed = True
        return {
            "coop_id": coop.id,
            "at": self.clock.now(),
            "actor_id": self.actor.id if self.actor else None,
            "actor_identity": inv.actor.identity if inv else None,
            "message_id": inv.message_id if inv else None,
            "action": action,
            "subject": subject,
            "detail": detail,
        }

    def audit(self, action: str, subject: str = "", **detail: Any) -> None:
        """Record a state change: who, what, when, from which platform message (written
        with the session's next flush)."""
        self.session.add(AuditEvent(**self.audit_row(action, subject, detail)))

    async def audit_now(self, action: str, subject: str = "", **detail: Any) -> None:
        """`audit`, written now in one plain INSERT: no ORM object, nothing left for the
        flush (a hot path such as a vote)."""
        await self.session.execute(AUDIT_INSERT, self.audit_row(action, subject, detail))
