"""The weekly summary document: one line per section, and the chart as an attachment."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from bot.db.models import Decision
from bot.domain.timeparse import format_local
from bot.domain.vocabulary import DecisionStatus
from bot.render.document import Attachment, Bold, Code, Line, Mention, Reply, Text, line
from bot.render.people import named
from bot.render.tasks import number, points

if TYPE_CHECKING:
    from bot.services.contributions import TallyRow
    from bot.services.summary_model import DoneTask, OpenDecision, WeeklySummary

Part = str | Text | Bold | Code | Mention
SEPARATOR = " · "
# Longer lists are cut short with "and N more": a summary is read in a chat, not audited.
LIST_MAX = 12


def _amount(value: Decimal, one: str, many: str) -> str:
    return f"{number(value)} {one if value == 1 else many}"


def _contribution(row: TallyRow) -> list[Part]:
    amounts = []
    if row.hours:
        amounts.append(f"{number(row.hours)} h")
    if row.points:
        amounts.append(_amount(row.points, "pt", "pts"))
    if row.kudos:
        amounts.append(_amount(row.kudos, "kudos", "kudos"))
    return [named(row.member), " " + " + ".join(amounts)]


def _done(item: DoneTask) -> list[Part]:
    task = item.task
    holder: list[Part] = [named(item.holder), ", "] if item.holder is not None else []
    return [f"task {task.number} ", task.title, " (", *holder, f"{points(task)})"]


def _decided(decision: Decision) -> list[Part]:
    outcome = (
        "withdrawn" if decision.status == DecisionStatus.WITHDRAWN else decision.outcome or "closed"
    )
    return [f"#{decision.number} ", decision.title, f" — {outcome}"]


def _open(item: OpenDecision, data: WeeklySummary) -> list[Part]:
    decision, count = item.decision, item.count
    text = f" — closes {format_local(decision.closes_at, data.timezone)}"
    missing = count.votes_to_quorum
    if missing:
        text += f", {missing} vote{'s' if missing != 1 else ''} to quorum"
    elif count.needed:
        text += ", quorum met"
    return [f"#{decision.number} ", decision.title, text]


def _section(label: str, items: list[list[Part]], total: int, tail: str = "") -> Line:
    parts: list[Part] = [Bold(text=label), " "]
    for i, item in enumerate(items):
        if i:
            parts.append(SEPARATOR)
        parts.extend(item)
    if total > len(items):
        parts.append(f"{SEPARATOR}and {total - len(items)} more")
    if tail:
        parts.append(tail)
    return line(*parts)


def summary(data: WeeklySummary, chart: bytes | None) -> Reply:
    """`Week 47 (16–22 Nov 2026) at Riverside Co-op`, then contributions, tasks done,
    decisions closed, votes open and unclaimed tasks; empty task and decision sections
    are left out, and a week without contributions says so."""
    period = data.period
    blocks: list[Line] = [line(Bold(text=period.label), " at ", data.coop.name)]
    rows = data.contributions
    if rows:
        blocks.append(
            _section(
                "Contributions:",
                [_contribution(r) for r in rows[:LIST_MAX]],
                data.contributions_total,
                "  (chart attached)" if chart is not None else "",
            )
        )
    else:
        blocks.append(line(Bold(text="Contributions:"), " none logged"))
    if data.done:
        blocks.append(_section("Done:", [_done(d) for d in data.done], data.done_total))
    if data.decided:
        blocks.append(_section("Decided:", [_decided(d) for d in data.decided], data.decided_total))
    if data.open:
        blocks.append(_section("Open:", [_open(o, data) for o in data.open], data.open_total))
    if data.unclaimed:
        blocks.append(
            _section(
                "Nobody has claimed:",
                [[f"task {t.number} ", t.title, f" ({points(t)})"] for t in data.unclaimed],
                data.unclaimed_total,
            )
        )
    if len(blocks) == 2 and not rows:
        blocks.append(line("A quiet week: nothing done, decided or waiting.", indent=1))
    attachments: tuple[Attachment, ...] = ()
    if chart is not None:
        start = period.start.astimezone(data.timezone).date().isocalendar()
        attachments = (
            Attachment(
                filename=f"contributions-{start.year}-W{start.week:02d}.png",
                content_type="image/png",
                data=chart,
                alt=f"Bar chart of hours, task points and kudos per member, {period.label}",
            ),
        )
    return Reply(
        kind="announcement",
        blocks=tuple(blocks),
        attachments=attachments,
        subject=f"summary:{data.coop.id}:{period.start.date().isoformat()}",
    )
