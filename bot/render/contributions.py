"""Replies about the ledger: hours logged, kudos given, the tally, a patronage split, an export."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from bot.db.models import Contribution, Member
from bot.domain.patronage import Weights
from bot.render.document import Attachment, Bold, Code, Line, Reply, Table, command, line
from bot.render.people import mention
from bot.render.tasks import number
from bot.services.contributions import Kudos, Tally, TallyRow
from bot.services.exports import Export
from bot.services.patronage import Patronage


def percent(share: Fraction) -> str:
    """`37.5%`: a share shown to one decimal (the stored values stay exact)."""
    value = (Decimal(share.numerator) * 100 / Decimal(share.denominator)).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP
    )
    return f"{number(value)}%"


def weighted(value: Fraction) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return number(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def hours_text(value: Decimal) -> str:
    return f"{number(value)} h"


def logged(entry: Contribution, member: Member) -> Reply:
    """`Logged 2.5 h for @alice (entry 12) — fixed the gate [workshop]`."""
    parts: list[str | Bold | Code] = [f" (entry {entry.id})"]
    if entry.note:
        parts.append(f" — {entry.note}")
    if entry.category:
        parts.append(f" [{entry.category}]")
    return Reply(
        blocks=(
            line(Bold(text=f"Logged {hours_text(entry.amount)}"), " for ", mention(member), *parts),
        )
    )


def kudos(result: Kudos) -> Reply:
    """`@alice thanks @bob: +2 kudos (entry 13)`, the note, and the giver's weekly allowance."""
    amount = int(result.entry.amount)
    left = max(0, result.weekly_limit - result.given_this_week)
    return Reply(
        kind="announcement",
        blocks=(
            line(
                mention(result.giver), " thanks ", mention(result.receiver),
                Bold(text=f": +{amount} kudos"), f" (entry {result.entry.id})",
            ),
            line(result.entry.note, indent=1),
            line(f"{left} of {result.weekly_limit} kudos points left to give this week", indent=1),
        ),
        subject=f"contribution:{result.entry.coop_id}:{result.entry.id}",
    )  # fmt: skip


def formula(weights: Weights) -> str:
    return (
        f"weighted = hours × {number(weights.hours)} + task points × {number(weights.points)}"
        f" + kudos × {number(weights.kudos)}"
    )


def _row(row: TallyRow) -> tuple[Line, ...]:
    return (
        line(mention(row.member)),
        line(number(row.hours)),
        line(number(row.points)),
        line(number(row.kudos)),
        line(weighted(row.weighted)),
        line(percent(row.share)),
    )


def tally(result: Tally) -> Reply:
    """Per member: hours, task points, kudos, weighted total and share, largest first."""
    label = result.period.label
    if not result.rows:
        who = f" from @{result.only.name}" if result.only is not None else ""
        return Reply(
            blocks=(
                line(f"No contributions{who} in {label}."),
                line("log some with ", command("log 2.5 what you did"), indent=1),
            )
        )
    head = line(Bold(text=f"Contributions — {label}"))
    table = Table(
        header=("member", "hours", "task pts", "kudos", "weighted", "share"),
        rows=tuple(_row(r) for r in result.rows),
    )
    return Reply(blocks=(head, table, line(formula(result.weights), indent=1)))


def patronage(result: Patronage) -> Reply:
    """The reserve and each member's allocation, which add up exactly to the surplus."""
    split = result.split
    count = len(result.rows)
    head = line(
        Bold(text=f"Patronage of {money(split.surplus)} for {result.period.label}"),
        f" — reserve {money(split.reserve)} ({percent(result.reserve_share)}), "
        f"{money(split.distributed)} to {count} member{'s' if count != 1 else ''}",
    )
    if not result.rows:
        return Reply(blocks=(head,))
    table = Table(
        header=("member", "weighted", "share", "allocation"),
        rows=tuple(
            (
                line(mention(r.member)),
                line(weighted(r.weighted)),
                line(percent(r.share)),
                line(money(result.allocation(r))),
            )
            for r in result.rows
        ),
    )
    return Reply(blocks=(head, table, line(formula(result.weights), indent=1)))


def export(result: Export) -> Reply:
    """`Export of votes for 2026-Q4: 42 rows (coopbot-votes-2026-q4.csv)` with the CSV."""
    summary = (
        f"Export of {result.kind} for {result.period.label}: {result.rows} "
        f"row{'s' if result.rows != 1 else ''} ({result.filename})"
    )
    if result.hidden_secret:
        n = result.hidden_secret
        summary += f"; {n} secret ballot{'s show' if n != 1 else ' shows'} who voted, never how"
    return Reply(
        blocks=(line(summary),),
        attachments=(
            Attachment(
                filename=result.filename,
                content_type="text/csv",
                data=result.text.encode("utf-8"),
                alt=summary,
            ),
        ),
        ephemeral=True,
    )
