"""Replies about the ledger: hours logged, kudos given, the tally, a patronage split, an export."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from bot.db.models import Contribution, Member
from bot.domain.patronage import Weights
from bot.render.document import (
    Attachment,
    Bold,
    Code,
    Line,
    Mention,
    Reply,
    Table,
    command,
    line,
)
from bot.render.people import mention, named
from bot.render.tasks import number
from bot.services.contributions import Kudos, Tally, TallyLines, TallyRow
from bot.services.exports import Export, csv_cell, filename_for
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
        line(named(row.member)),
        line(number(row.hours)),
        line(number(row.points)),
        line(number(row.kudos)),
        line(weighted(row.weighted)),
        line(percent(row.share)),
    )


def tally(result: Tally, attach: bool = False) -> Reply:
    """Per member: hours, task points, kudos, weighted total and share, largest first.

    A tally longer than a page shows that page, then the asker's own row (when it is on
    another page) and everyone's totals, says how to get the next page, and attaches the
    whole table as CSV where the platform takes attachments."""
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
    rows = [_row(r) for r in result.rows]
    if result.pages == 1:
        table = Table(header=TALLY_HEADER, rows=tuple(rows))
        return Reply(blocks=(head, table, line(formula(result.weights), indent=1)))
    if result.own is not None:
        rows.append(_row(result.own[1]))
    hours, points, kudos = result.totals
    rows.append((
        line(f"all {result.count:,} members"), line(number(hours)), line(number(points)),
        line(number(kudos)), line(weighted(result.total)), line("100%"),
    ))  # fmt: skip
    table = Table(header=TALLY_HEADER, rows=tuple(rows))
    last = result.first_rank + len(result.rows) - 1
    where: list[str | Bold | Code | Mention] = [
        f"Page {result.page} of {result.pages:,}: members {result.first_rank:,}–{last:,} "
        f"of {result.count:,}"
    ]
    if result.own is not None:
        where += ["; ", named(result.own[1].member), f" is #{result.own[0]:,}"]
    if result.page < result.pages:
        where += [" — next page: ", command(f"tally period:{result.asked} page:{result.page + 1}")]
    blocks: list[Line | Table] = [
        head,
        table,
        line(formula(result.weights), indent=1),
        line(*where, indent=1),
    ]
    attachments: tuple[Attachment, ...] = ()
    if attach and result.table is not None:
        filename = filename_for("tally", result.period)
        blocks.append(line(f"the whole table is attached ({filename})", indent=1))
        attachments = (
            Attachment(
                filename=filename,
                content_type="text/csv",
                data=tally_csv(result.table).encode("utf-8"),
                alt=f"Contributions — {label}: {result.count:,} members",
            ),
        )
    return Reply(blocks=tuple(blocks), attachments=attachments)


TALLY_HEADER = ("member", "hours", "task pts", "kudos", "weighted", "share")
CSV_HEADER = ("rank", "member", "hours", "task_points", "kudos", "weighted", "share")


def _fixed(numerator: int, denominator: int, places: int) -> str:
    """`numerator / denominator` rounded half up to `places` decimals, written as `number`
    writes a Decimal (no trailing zeros): integers only, for thousands of rows at once."""
    scale = 10**places
    magnitude = (abs(numerator) * scale * 2 + denominator) // (2 * denominator)
    whole, part = divmod(magnitude, scale)
    text = str(whole) if not part else f"{whole}.{part:0{places}d}".rstrip("0")
    return "-" + text if numerator < 0 and magnitude else text


def tally_csv(table: TallyLines) -> str:
    """Every row of a tally as CSV, in tally order; numbers as in the reply."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    total = table.total_scaled
    for rank, x in enumerate(table.lines, 1):
        writer.writerow((
            rank, csv_cell(x.name), _fixed(x.hours_cents, 100, 2), _fixed(x.points_cents, 100, 2),
            _fixed(x.kudos_cents, 100, 2), _fixed(x.scaled, table.scale, 2),
            f"{_fixed(x.scaled * 100, total, 1) if total else '0'}%",
        ))  # fmt: skip
    return out.getvalue()


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
                line(named(r.member)),
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
