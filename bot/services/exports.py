"""CSV exports of a co-op's decisions, votes, tasks, contributions and audit log."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import AuditEvent, Contribution, Decision, Member, Task, Vote
from bot.domain.periods import Period, all_time
from bot.errors import UserError
from bot.services.context import Context
from bot.services.contributions import resolve_period

EXPORT_KINDS: Final = ("decisions", "votes", "tasks", "contributions", "audit")
DEFAULT_EXPORT_PERIOD: Final = "all"
SECRET_CHOICE: Final = "(secret)"
# Keys of an audit event's detail that could tell how someone voted.
_BALLOT_KEYS: Final = frozenset({"choice", "reason", "ballot"})
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_UNSAFE_FILENAME: Final = re.compile(r"[^A-Za-z0-9._-]+")

Cell = str | int | Decimal | bool | datetime | None


@dataclass(frozen=True)
class Export:
    kind: str
    period: Period
    filename: str
    text: str
    rows: int
    hidden_secret: int  # votes on secret decisions exported without their choice


@dataclass(frozen=True)
class _Table:
    header: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    hidden_secret: int = 0


def _cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, Decimal):
        return format(value, "f")
    text = str(value)
    if isinstance(value, str) and text.startswith(_FORMULA_START):
        return "'" + text
    return text


def csv_cell(value: Cell) -> str:
    """One CSV cell as every export writes it (times in UTC, no spreadsheet formulas)."""
    return _cell(value)


def _render(table: _Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.header)
    for row in table.rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


async def _names(session: AsyncSession, coop_id: int) -> dict[int, str]:
    rows = await session.execute(select(Member.id, Member.name).where(Member.coop_id == coop_id))
    return {member_id: name for member_id, name in rows.all()}


async def _decisions(session: AsyncSession, coop_id: int, period: Period) -> _Table:
    names = await _names(session, coop_id)
    found: Sequence[Decision] = (
        await session.scalars(
            select(Decision)
            .where(
                Decision.coop_id == coop_id,
                Decision.created_at >= period.start,
                Decision.created_at < period.end,
            )
            .order_by(Decision.number)
        )
    ).all()
    header = (
        "number", "kind", "title", "method", "threshold", "quorum", "rule_class", "secret",
        "status", "outcome", "author", "created_at", "opens_at", "closes_at", "closed_at",
        "eligible", "turnout", "options",
    )  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    for d in found:
        turnout = (d.result or {}).get("turnout")
        rows.append((
            d.number, d.kind, d.title, d.method, d.threshold, d.quorum, d.rule_class, d.secret,
            d.status, d.outcome, names.get(d.author_id), d.created_at, d.opens_at, d.closes_at,
            d.closed_at, d.eligible_count if d.opened_at else None,
            turnout if isinstance(turnout, int) else None,
            " | ".join(o.label for o in d.options) or None,
        ))  # fmt: skip
    return _Table(header, rows)


async def _votes(session: AsyncSession, coop_id: int, period: Period) -> _Table:
    names = await _names(session, coop_id)
    found = (
        await session.execute(
            select(Vote, Decision)
            .join(Decision, Decision.id == Vote.decision_id)
            .where(
                Decision.coop_id == coop_id,
                Vote.cast_at >= period.start,
                Vote.cast_at < period.end,
            )
            .order_by(Decision.number, Vote.cast_at, Vote.id)
        )
    ).all()
    header = ("decision", "title", "secret", "member", "choice", "reason", "cast_at", "changes")
    rows: list[tuple[Cell, ...]] = []
    hidden = 0
    for vote, decision in found:
        if decision.secret:
            # SPEC §4: who voted may be known, how never is; a reason could tell, so it goes too.
            hidden += 1
            rows.append((decision.number, decision.title, True, names.get(vote.member_id),
                         SECRET_CHOICE, None, vote.cast_at, None))  # fmt: skip
        else:
            rows.append((decision.number, decision.title, False, names.get(vote.member_id),
                         vote.choice, vote.reason or None, vote.cast_at, vote.changes))  # fmt: skip
    return _Table(header, rows, hidden)


async def _tasks(session: AsyncSession, coop_id: int, period: Period) -> _Table:
    names = await _names(session, coop_id)
    found = (
        await session.scalars(
            select(Task)
            .where(
                Task.coop_id == coop_id,
                or_(
                    (Task.created_at >= period.start) & (Task.created_at < period.end),
                    (Task.done_at >= period.start) & (Task.done_at < period.end),
                ),
            )
            .order_by(Task.number)
        )
    ).all()
    header = (
        "number", "title", "points", "status", "holder", "due_at", "from_decision",
        "created_by", "created_at", "claimed_at", "done_at",
    )  # fmt: skip
    rows: list[tuple[Cell, ...]] = [
        (t.number, t.title, t.points, t.status,
         names.get(t.holder_id) if t.holder_id is not None else None, t.due_at, t.from_decision,
         names.get(t.created_by), t.created_at, t.claimed_at, t.done_at)
        for t in found
    ]  # fmt: skip
    return _Table(header, rows)


async def _contributions(session: AsyncSession, coop_id: int, period: Period) -> _Table:
    names = await _names(session, coop_id)
    found = (
        await session.execute(
            select(Contribution, Task.number)
            .outerjoin(Task, Task.id == Contribution.task_id)
            .where(
                Contribution.coop_id == coop_id,
                Contribution.created_at >= period.start,
                Contribution.created_at < period.end,
            )
            .order_by(Contribution.created_at, Contribution.id)
        )
    ).all()
    header = ("entry", "created_at", "member", "kind", "amount", "category", "task", "giver",
              "note")  # fmt: skip
    rows: list[tuple[Cell, ...]] = [
        (c.id, c.created_at, names.get(c.member_id), c.kind, c.amount, c.category, task_number,
         names.get(c.giver_id) if c.giver_id is not None else None, c.note or None)
        for c, task_number in found
    ]  # fmt: skip
    return _Table(header, rows)


async def _audit(session: AsyncSession, coop_id: int, period: Period) -> _Table:
    names = await _names(session, coop_id)
    secret = {
        f"decision:{number}"
        for number in (
            await session.scalars(
                select(Decision.number).where(Decision.coop_id == coop_id, Decision.secret)
            )
        ).all()
    }
    found = (
        await session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.coop_id == coop_id,
                AuditEvent.at >= period.start,
                AuditEvent.at < period.end,
            )
            .order_by(AuditEvent.at, AuditEvent.id)
        )
    ).all()
    header = ("event", "at", "actor", "actor_identity", "message_id", "action", "subject",
              "detail")  # fmt: skip
    rows: list[tuple[Cell, ...]] = []
    for e in found:
        detail = dict(e.detail or {})
        if e.subject in secret:
            # The vote service never records a secret choice; this keeps it so for any event.
            detail = {k: v for k, v in detail.items() if k not in _BALLOT_KEYS}
        rows.append((
            e.id, e.at, names.get(e.actor_id) if e.actor_id is not None else None,
            e.actor_identity, e.message_id, e.action, e.subject,
            json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str) if detail else None,
        ))  # fmt: skip
    return _Table(header, rows)


_BUILDERS = {
    "decisions": _decisions,
    "votes": _votes,
    "tasks": _tasks,
    "contributions": _contributions,
    "audit": _audit,
}


def _check_kind(kind: str, prefix: str = "!") -> str:
    wanted = kind.strip().lower()
    if wanted not in _BUILDERS:
        raise UserError(
            f"I can't export `{kind.strip()[:40]}`",
            f"choose decisions, votes, tasks, contributions or audit, e.g. `{prefix}export votes`",
        )
    return wanted


async def _table(session: AsyncSession, coop_id: int, kind: str, period: Period) -> _Table:
    return await _BUILDERS[kind](session, coop_id, period)


async def export_csv(
    session: AsyncSession, coop_id: int, kind: str, period: Period | None = None
) -> str:
    """The CSV text of one export (`kind` one of EXPORT_KINDS) for `period` (None: all time).
    Times are UTC ISO 8601; secret ballots show who voted, never how."""
    return _render(await _table(session, coop_id, _check_kind(kind), period or all_time()))


def filename_for(kind: str, period: Period) -> str:
    label = _UNSAFE_FILENAME.sub("-", period.label).strip("-").lower() or "all"
    return f"coopbot-{kind}-{label}.csv"


async def export(ctx: Context, kind: str, period: str | None = None) -> Export:
    """`export <kind> [period:]` (default all time), recorded in the audit log."""
    coop = ctx.require_coop()
    what = _check_kind(kind, ctx.prefix)
    window = resolve_period(ctx, period, DEFAULT_EXPORT_PERIOD)
    table = await _table(ctx.session, coop.id, what, window)
    # An export hands out members' data: who took it is worth recording.
    ctx.audit("export", what, period=window.label, rows=len(table.rows))
    return Export(
        kind=what,
        period=window,
        filename=filename_for(what, window),
        text=_render(table),
        rows=len(table.rows),
        hidden_secret=table.hidden_secret,
    )
