"""The contribution export's bytes stay what outside scripts read: every cell as `csv_cell`
writes it, quoted as the csv module quotes it, for values that test quoting and formulas."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot import write_watch
from bot.app import Core
from bot.db.models import Contribution, Coop, Member, Task
from bot.domain.vocabulary import Role, TaskStatus
from bot.services.exports import BATCH, csv_cell, export_csv, write_csv

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NAMES = (
    "Ann, Jr.",
    'Bo "Boss" B',
    "=cmd|' /C calc'!A0",
    "-minus",
    "@at",
    "\tTab",
    "Zoë 🌱",
    "new\nline",
    '+plus, "both"',
    "\rcr",
)
# (kind, amount, category, note, created_at, member, giver, task)
ENTRIES = (
    ("hours", Decimal("2.00"), "garden", "plain", datetime(2026, 1, 5, 9, 0, tzinfo=UTC), 0, None,
     False),
    ("hours", Decimal("0.05"), None, "", datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN), 1, None,
     True),
    ("kudos", Decimal("5.00"), "a,b", 'quote " inside', datetime(2026, 3, 29, 3, 30,
     tzinfo=BERLIN), 2, 0, False),
    ("points", Decimal("-1.50"), '"q"', "comma, here", datetime(2026, 11, 1, 1, 59, 59, 999999,
     tzinfo=NEW_YORK), 3, None, True),
    ("hours", Decimal("1234567890.12"), "=SUM(A1)", "line\r\nbreak", datetime(2026, 11, 1, 1,
     59, 59, 999999, tzinfo=NEW_YORK), 4, 9, False),
    ("hours", Decimal("3"), "", "cr\ronly and lf\nonly", datetime(2026, 12, 31, 23, 59, 59,
     999999, tzinfo=UTC), 5, None, False),
    ("kudos", Decimal("0.10"), "ümlaut", "-1 hours", datetime(2027, 1, 1, 0, 0, tzinfo=BERLIN),
     6, 7, True),
    ("hours", Decimal("7.25"), "-x", "@mention", datetime(2026, 6, 1, 12, 0, tzinfo=UTC), 7,
     None, False),
    ("hours", Decimal("1.00"), "\ttab", "\ttab-start", datetime(2026, 6, 1, 12, 0, tzinfo=UTC),
     8, 5, False),
    ("points", Decimal("4.00"), "+", "\rcr-start, and \"more\"", datetime(2026, 6, 1, 12, 0,
     tzinfo=UTC), 9, 8, True),
    ("hours", Decimal("9999999999.99"), "x", "emoji 👍 and ß, \"ok\"\n", datetime(2026, 7, 1,
     tzinfo=UTC), 0, 1, False),
    ("hours", Decimal("0.01"), "=", "=", datetime(2026, 7, 2, tzinfo=UTC), 2, 3, False),
)  # fmt: skip

# What main's export (5c5b6e1) wrote for ENTRIES, byte for byte, on SQLite and PostgreSQL.
HEADER = "entry,created_at,member,kind,amount,category,task,giver,note\r\n"
EXPECTED = (
    '1,2026-01-05T09:00:00Z,"Ann, Jr.",hours,2.00,garden,,,plain\r\n'
    '2,2026-03-29T00:30:00Z,"Bo ""Boss"" B",hours,0.05,,7,,\r\n'
    "3,2026-03-29T01:30:00Z,'=cmd|' /C calc'!A0,kudos,"
    '5.00,"a,b",,"Ann, Jr.","quote "" inside"\r\n'
    "8,2026-06-01T12:00:00Z,\"new\nline\",hours,7.25,'-x,,,'@mention\r\n"
    '9,2026-06-01T12:00:00Z,"\'+plus, ""both""",hours,1.00,\'\ttab,,\'\tTab,\'\ttab-start\r\n'
    "10,2026-06-01T12:00:00Z,\"'\rcr\",points,4.00,'+,7,\"'+plus,"
    ' ""both""","\'\rcr-start, and ""more"""\r\n'
    '11,2026-07-01T00:00:00Z,"Ann, Jr.",hours,9999999999.99,'
    'x,,"Bo ""Boss"" B","emoji 👍 and ß, ""ok""\n"\r\n'
    "12,2026-07-02T00:00:00Z,'=cmd|' /C calc'!A0,hours,0.01,'=,,'-minus,'=\r\n"
    '4,2026-11-01T05:59:59Z,\'-minus,points,-1.50,"""q""",7,,"comma, here"\r\n'
    "5,2026-11-01T05:59:59Z,'@at,hours,1234567890.12,'=SUM(A1),,\"'\rcr\",\"line\r\n"
    'break"\r\n'
    '7,2026-12-31T23:00:00Z,Zoë 🌱,kudos,0.10,ümlaut,7,"new\nline",\'-1 hours\r\n'
    '6,2026-12-31T23:59:59Z,\'\tTab,hours,3.00,,,,"cr\ronly and lf\nonly"\r\n'
)
# SQLite only: its first row (the earliest), after the header.
NUL_ROW = '13,2026-01-01T00:00:00Z,"Ann, Jr.",hours,1.00,,,,"nul\x00, inside"\r\n'


async def _seed(core: Core, nul: bool) -> int:
    """A co-op with ENTRIES; on SQLite one note also holds a NUL character."""
    async with core.sessions() as session, session.begin():
        at = datetime(2026, 1, 1, tzinfo=UTC)
        coop = Coop(name="Bytes Co-op", created_at=at)
        session.add(coop)
        await write_watch.due_changed(session)  # a new co-op is due a summary
        await session.flush()
        members = [
            Member(coop_id=coop.id, name=name, role=Role.MEMBER, joined_at=at) for name in NAMES
        ]
        session.add_all(members)
        await session.flush()
        task = Task(coop_id=coop.id, number=7, title="Gate", status=TaskStatus.DONE,
                    created_by=members[0].id, created_at=at)  # fmt: skip
        session.add(task)
        await session.flush()
        for kind, amount, category, note, created_at, member, giver, on_task in ENTRIES:
            session.add(
                Contribution(
                    coop_id=coop.id,
                    member_id=members[member].id,
                    kind=kind,
                    amount=amount,
                    category=category,
                    note=note,
                    created_at=created_at,
                    giver_id=None if giver is None else members[giver].id,
                    task_id=task.id if on_task else None,
                )
            )
            await session.flush()
        if nul:
            session.add(
                Contribution(coop_id=coop.id, member_id=members[0].id, kind="hours",
                             amount=Decimal(1), note="nul\x00, inside", created_at=at)
            )  # fmt: skip
        return coop.id


async def _reference(core: Core, coop_id: int) -> str:
    """The export as the csv module writes `csv_cell` of each value read through the ORM."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(("entry", "created_at", "member", "kind", "amount", "category", "task",
                     "giver", "note"))  # fmt: skip
    async with core.sessions() as session:
        names = dict((await session.execute(select(Member.id, Member.name))).tuples().all())
        numbers = dict((await session.execute(select(Task.id, Task.number))).tuples().all())
        entries = await session.scalars(
            select(Contribution)
            .where(Contribution.coop_id == coop_id)
            .order_by(Contribution.created_at, Contribution.id)
        )
        for e in entries:
            writer.writerow([csv_cell(v) for v in (
                e.id, e.created_at, names.get(e.member_id), e.kind, e.amount, e.category,
                numbers.get(e.task_id) if e.task_id else None,
                names.get(e.giver_id) if e.giver_id else None, e.note,
            )])  # fmt: skip
    return out.getvalue()


async def test_contribution_export_bytes_are_the_csv_module_s(core: Core) -> None:
    nul = core.engine.dialect.name == "sqlite"  # PostgreSQL text cannot hold NUL
    coop_id = await _seed(core, nul)
    async with core.sessions() as session:
        text = await export_csv(session, coop_id, "contributions")
    assert text == await _reference(core, coop_id)
    assert text.encode() == (HEADER + (NUL_ROW if nul else "") + EXPECTED).encode()
    assert len(list(csv.reader(io.StringIO(text)))) == len(ENTRIES) + 1 + nul


class _FailingFile(io.StringIO):
    """A file that fails once `limit` characters are in it, as a full disk does."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def write(self, text: str) -> int:
        if self.tell() + len(text) > self.limit:
            raise OSError(28, "No space left on device")
        return super().write(text)


async def test_export_of_several_batches_and_a_file_that_fails_midway(core: Core) -> None:
    """Rows across batch ends come out whole and in order; a write that fails while the next
    batch is being read leaves the session usable."""
    coop_id = await _seed(core, nul=False)
    async with core.sessions() as session, session.begin():
        member = await session.scalar(select(Member.id).where(Member.coop_id == coop_id))
        at = datetime(2025, 1, 1, tzinfo=UTC)
        session.add_all(
            Contribution(coop_id=coop_id, member_id=member, kind="hours", amount=Decimal(k),
                         note=f"bulk {k}, \"n\"", created_at=at)
            for k in range(2 * BATCH + 1)
        )  # fmt: skip
    async with core.sessions() as session:
        text = await export_csv(session, coop_id, "contributions")
    assert text == await _reference(core, coop_id)
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 2 * BATCH + 1 + len(ENTRIES)
    assert [r[8] for r in rows[1:4]] == ['bulk 0, "n"', 'bulk 1, "n"', 'bulk 2, "n"']
    async with core.sessions() as session:
        failing = _FailingFile(limit=len(text) // 2)
        with pytest.raises(OSError, match="No space left"):
            await write_csv(session, coop_id, "contributions", failing)
        assert await session.scalar(select(Coop.name).where(Coop.id == coop_id)) == "Bytes Co-op"
