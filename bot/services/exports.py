"""CSV exports of a co-op's decisions, votes, tasks, contributions and audit log."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final, TextIO

from sqlalchemy import (
    ColumnElement,
    Executable,
    SQLColumnExpression,
    String,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.models import (
    AuditEvent,
    Contribution,
    Decision,
    DecisionOption,
    Member,
    Participation,
    Task,
    Vote,
)
from bot.domain.periods import Period, all_time
from bot.errors import UserError
from bot.services import ballots
from bot.services.context import Context
from bot.services.contributions import resolve_period

EXPORT_KINDS: Final = ("decisions", "votes", "tasks", "contributions", "audit")
DEFAULT_EXPORT_PERIOD: Final = "all"
SECRET_CHOICE: Final = "(secret)"
# Keys of an audit event's detail that could tell how someone voted.
_BALLOT_KEYS: Final = frozenset({"choice", "reason", "ballot"})
# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START: Final = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CODES: Final = tuple(ord(start) for start in _FORMULA_START)
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


Row = tuple[Cell, ...]
# Rows fetched per round trip: a server-side cursor keeps memory flat for any export size.
BATCH: Final = 2000


@dataclass
class _Counts:
    """What a streamed export learns as it goes: rows written, secret ballots hidden."""

    rows: int = 0
    hidden_secret: int = 0


@dataclass(frozen=True)
class _Table:
    """An export's header and its rows, produced as they are read. With `batches`, the
    database has already written every cell as it goes in the CSV (`_sql_text` and the
    like): the rows are then written a batch at a time, without a Python call per cell."""

    header: tuple[str, ...]
    rows: AsyncIterator[Row]
    counts: _Counts
    batches: AsyncIterator[Sequence[Sequence[Any]]] | None = None


def _cell(value: Cell) -> str:
    # The common cases first: an export calls this for every cell of up to millions of rows.
    kind = type(value)
    if kind is str:
        assert isinstance(value, str)
        return "'" + value if value.startswith(_FORMULA_START) else value
    if kind is int:
        return str(value)
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


async def _write(table: _Table, out: TextIO) -> None:
    """Write the CSV to `out` row by row (`\r\n` line ends, as every export has)."""
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.header)
    if table.batches is not None:
        async for batch in table.batches:
            writer.writerows(batch)
            table.counts.rows += len(batch)
        return
    async for row in table.rows:
        writer.writerow([_cell(v) for v in row])
        table.counts.rows += 1


async def _stream(session: AsyncSession, query: Executable) -> AsyncIterator[Any]:
    """The rows of `query` through a server-side cursor, BATCH at a time."""
    # A batch per await: each row through the async bridge would cost more than the query.
    async for batch in _batches(session, query):
        for row in batch:
            yield row


async def _batches(session: AsyncSession, query: Executable) -> AsyncIterator[Sequence[Any]]:
    """The rows of `query` through a server-side cursor, a batch of BATCH at a time. Not
    read ahead while the caller writes: on SQLite the reading thread needs the GIL for
    every row it makes, which the writer holds, so the two would take turns anyway."""
    connection = await session.connection()
    result = await connection.stream(query.execution_options(yield_per=BATCH))
    async for batch in result.partitions(BATCH):
        yield batch


def _sql_text(column: SQLColumnExpression[Any], dialect: str) -> ColumnElement[Any]:
    """`_cell` of a text column, in SQL: a cell a spreadsheet would run as a formula gets
    a leading quote. SQLite compares its first character's code (`unicode`), which makes
    no string per cell as `substr` does."""
    if dialect == "postgresql":
        starts_a_formula = func.substr(column, 1, 1).in_(_FORMULA_START)
    else:
        starts_a_formula = func.unicode(column).in_(_FORMULA_CODES)
    return case((starts_a_formula, literal("'") + column), else_=column)


def _sql_utc(column: SQLColumnExpression[Any], dialect: str) -> ColumnElement[str]:
    """`_cell` of a UTCDateTime column (stored as naive UTC), in SQL: 2026-11-23T09:00:00Z.
    SQLite stores it as text, `2026-11-23 09:00:00.000000`: its date and its time are cut
    out of that text, which costs far less than parsing it (`strftime`) for every row."""
    if dialect == "postgresql":
        return func.to_char(column, 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    return func.substr(column, 1, 10) + literal("T") + func.substr(column, 12, 8) + literal("Z")


def _sql_cents(column: SQLColumnExpression[Any], dialect: str) -> ColumnElement[str]:
    """`_cell` of a Numeric(…, 2) column, in SQL: 4.00, -1.50."""
    if dialect == "postgresql":
        return cast(column, String)
    return func.printf("%.2f", column)


async def _names(session: AsyncSession, coop_id: int) -> dict[int, str]:
    rows = await session.execute(select(Member.id, Member.name).where(Member.coop_id == coop_id))
    return {member_id: name for member_id, name in rows.all()}


async def _decisions(session: AsyncSession, coop_id: int, period: Period) -> _Table:
    names = await _names(session, coop_id)
    header = (
        "number", "kind", "title", "method", "threshold", "quorum", "rule_class", "secret",
        "status", "outcome", "author", "created_at", "opens_at", "closes_at", "closed_at",
        "eligible", "turnout", "options",
    )  # fmt: skip
    query = (
        select(
            Decision.id,
            Decision.number,
            Decision.kind,
            Decision.title,
            Decision.method,
            Decision.threshold,
            Decision.quorum,
            Decision.rule_class,
            Decision.secret,
            Decision.status,
            Decision.outcome,
            Decision.author_id,
            Decision.created_at,
            Decision.opens_at,
            Decision.closes_at,
            Decision.closed_at,
            Decision.eligible_count,
            Decision.opened_at,
            Decision.result,
        )
        .where(
            Decision.coop_id == coop_id,
            Decision.created_at >= period.start,
            Decision.created_at < period.end,
        )
        .order_by(Decision.number)
        .execution_options(yield_per=BATCH)
    )

    async def rows() -> AsyncIterator[Row]:
        result = await session.stream(query)
        async for batch in result.partitions(BATCH):
            labels = await _option_labels(session, [d.id for d in batch])
            for d in batch:
                turnout = (d.result or {}).get("turnout")
                yield (
                    d.number, d.kind, d.title, d.method, d.threshold, d.quorum, d.rule_class,
                    d.secret, d.status, d.outcome, names.get(d.author_id), d.created_at,
                    d.opens_at, d.closes_at, d.closed_at,
                    d.eligible_count if d.opened_at else None,
                    turnout if isinstance(turnout, int) else None,
                    " | ".join(labels.get(d.id, ())) or None,
                )  # fmt: skip

    return _Table(header, rows(), _Counts())


async def _option_labels(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[str]]:
    """The options of these decisions, in their order."""
    found: dict[int, list[str]] = {}
    rows = await session.execute(
        select(DecisionOption.decision_id, DecisionOption.label)
        .where(DecisionOption.decision_id.in_(ids))
        .order_by(DecisionOption.decision_id, DecisionOption.position)
    )
    for decision_id, label in rows.all():
        found.setdefault(decision_id, []).append(label)
    return found


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
    # A closed secret decision keeps who took part, not how (its ballots are sealed).
    took_part = (
        await session.execute(
            select(Participation, Decision)
            .join(Decision, Decision.id == Participation.decision_id)
            .where(
                Decision.coop_id == coop_id,
                Participation.voted_at >= period.start,
                Participation.voted_at < period.end,
            )
            .order_by(Decision.number, Participation.voted_at, Participation.member_id)
        )
    ).all()
    header = ("decision", "title", "secret", "member", "choice", "reason", "cast_at", "changes")
    keyed: list[tuple[tuple[int, datetime, int], tuple[Cell, ...]]] = []
    hidden = 0
    for vote, decision in found:
        key = (decision.number, vote.cast_at, vote.id)
        if decision.secret:
            # SPEC §4: who voted may be known, how never is; a reason could tell, so it goes too.
            hidden += 1
            keyed.append((key, (decision.number, decision.title, True, names.get(vote.member_id),
                                SECRET_CHOICE, None, vote.cast_at, None)))  # fmt: skip
        else:
            # The ballot in letters (`C>A>B`), from what was stored, never re-read from text.
            choice = ballots.read(decision, vote.choice, vote.ballot).letters()
            keyed.append((key, (decision.number, decision.title, False,
                                names.get(vote.member_id), choice, vote.reason or None,
                                vote.cast_at, vote.changes)))  # fmt: skip
    for part, decision in took_part:
        hidden += 1
        keyed.append(((decision.number, part.voted_at, 0), (decision.number, decision.title,
                      True, names.get(part.member_id), SECRET_CHOICE, None, part.voted_at,
                      None)))  # fmt: skip
    keyed.sort(key=lambda item: item[0])
    # Ballots are read with their decision's options (ballots.read), so this export is
    # built whole, not streamed; the others stream.
    return _Table(header, _rows_of([row for _, row in keyed]), _Counts(hidden_secret=hidden))


async def _rows_of(rows: list[Row]) -> AsyncIterator[Row]:
    for row in rows:
        yield row


async def _tasks(session: AsyncSession, coop_id: int, period: Period) -> _Table:
    names = await _names(session, coop_id)
    query = (
        select(
            Task.number,
            Task.title,
            Task.points,
            Task.status,
            Task.holder_id,
            Task.due_at,
            Task.from_decision,
            Task.created_by,
            Task.created_at,
            Task.claimed_at,
            Task.done_at,
        )
        .where(
            Task.coop_id == coop_id,
            or_(
                (Task.created_at >= period.start) & (Task.created_at < period.end),
                (Task.done_at >= period.start) & (Task.done_at < period.end),
            ),
        )
        .order_by(Task.number)
    )
    header = (
        "number", "title", "points", "status", "holder", "due_at", "from_decision",
        "created_by", "created_at", "claimed_at", "done_at",
    )  # fmt: skip

    async def rows() -> AsyncIterator[Row]:
        async for (number, title, points, status, holder_id, due_at, from_decision, created_by,
                   created_at, claimed_at, done_at) in _stream(session, query):  # fmt: skip
            yield (number, title, points, status,
                   names.get(holder_id) if holder_id is not None else None, due_at,
                   from_decision, names.get(created_by), created_at, claimed_at,
                   done_at)  # fmt: skip

    return _Table(header, rows(), _Counts())


async def _contributions(session: AsyncSession, coop_id: int, period: Period) -> _Table:
    """The ledger, every cell written by the database as `_cell` would write it."""
    dialect = session.get_bind().dialect.name
    member, giver = aliased(Member), aliased(Member)
    query = (
        select(
            Contribution.id,
            _sql_utc(Contribution.created_at, dialect),
            _sql_text(member.name, dialect),
            _sql_text(Contribution.kind, dialect),
            _sql_cents(Contribution.amount, dialect),
            _sql_text(Contribution.category, dialect),
            Task.number,
            _sql_text(giver.name, dialect),
            _sql_text(Contribution.note, dialect),
        )
        .outerjoin(member, member.id == Contribution.member_id)
        .outerjoin(giver, giver.id == Contribution.giver_id)
        .outerjoin(Task, Task.id == Contribution.task_id)
        .where(
            Contribution.coop_id == coop_id,
            Contribution.created_at >= period.start,
            Contribution.created_at < period.end,
        )
        .order_by(Contribution.created_at, Contribution.id)
    )
    header = ("entry", "created_at", "member", "kind", "amount", "category", "task", "giver",
              "note")  # fmt: skip
    return _Table(header, _rows_of([]), _Counts(), batches=_batches(session, query))


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
    query = (
        select(
            AuditEvent.id,
            AuditEvent.at,
            AuditEvent.actor_id,
            AuditEvent.actor_identity,
            AuditEvent.message_id,
            AuditEvent.action,
            AuditEvent.subject,
            AuditEvent.detail,
        )
        .where(
            AuditEvent.coop_id == coop_id,
            AuditEvent.at >= period.start,
            AuditEvent.at < period.end,
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    header = ("event", "at", "actor", "actor_identity", "message_id", "action", "subject",
              "detail")  # fmt: skip

    async def rows() -> AsyncIterator[Row]:
        async for (event, at, actor_id, actor_identity, message_id, action, subject,
                   stored) in _stream(session, query):  # fmt: skip
            detail = dict(stored or {})
            if subject in secret:
                # The vote service never records a secret choice; this keeps it so for any
                # event.
                detail = {k: v for k, v in detail.items() if k not in _BALLOT_KEYS}
            yield (
                event, at, names.get(actor_id) if actor_id is not None else None,
                actor_identity, message_id, action, subject,
                json.dumps(detail, sort_keys=True, ensure_ascii=False, default=str)
                if detail else None,
            )  # fmt: skip

    return _Table(header, rows(), _Counts())


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


async def write_csv(
    session: AsyncSession, coop_id: int, kind: str, out: TextIO, period: Period | None = None
) -> tuple[int, int]:
    """Stream one export (`kind` one of EXPORT_KINDS) for `period` (None: all time) to `out`
    as CSV, row by row; returns (rows, secret ballots hidden). Times are UTC ISO 8601;
    secret ballots show who voted, never how."""
    table = await _table(session, coop_id, _check_kind(kind), period or all_time())
    await _write(table, out)
    return table.counts.rows, table.counts.hidden_secret


async def export_csv(
    session: AsyncSession, coop_id: int, kind: str, period: Period | None = None
) -> str:
    """The CSV text of one export (see `write_csv`)."""
    out = io.StringIO()
    await write_csv(session, coop_id, kind, out, period)
    return out.getvalue()


def filename_for(kind: str, period: Period) -> str:
    label = _UNSAFE_FILENAME.sub("-", period.label).strip("-").lower() or "all"
    return f"coopbot-{kind}-{label}.csv"


async def export(ctx: Context, kind: str, period: str | None = None) -> Export:
    """`export <kind> [period:]` (default all time), recorded in the audit log."""
    coop = ctx.require_coop()
    what = _check_kind(kind, ctx.prefix)
    window = resolve_period(ctx, period, DEFAULT_EXPORT_PERIOD)
    out = io.StringIO()
    rows, hidden = await write_csv(ctx.session, coop.id, what, out, window)
    # An export hands out members' data: who took it is worth recording.
    ctx.audit("export", what, period=window.label, rows=rows)
    return Export(
        kind=what,
        period=window,
        filename=filename_for(what, window),
        text=out.getvalue(),
        rows=rows,
        hidden_secret=hidden,
    )
