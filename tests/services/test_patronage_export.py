"""Stewards split a surplus by contribution and export the co-op's records as CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.app import Core
from bot.db.models import Coop
from bot.domain.periods import parse_period
from bot.invocation import RoomRef
from bot.render.document import Reply
from bot.render.plain import render_plain
from bot.services.exports import export_csv
from tests.support import invocation, say, setup_coop


async def _work(core: Core) -> None:
    """In 2026 bob works 2 h, carol and dan 1 h each; carol gets kudos (weight 0)."""
    await setup_coop(core, members=("bob", "carol", "dan"))
    await say(core, "bob", "!log 2 accounts")
    await say(core, "carol", "!log 1 cleaning")
    await say(core, "dan", "!log 1 cooking")
    await say(core, "bob", "!kudos @carol points:5 thanks")


def _amounts(reply: str) -> dict[str, Decimal]:
    """member → allocation from the patronage table."""
    found = {}
    for row in reply.splitlines():
        cells = row.split()
        if cells and cells[0].startswith("@"):
            found[cells[0][1:]] = Decimal(cells[-1].replace(",", ""))
    return found


async def test_patronage_keeps_the_reserve_and_splits_the_rest_in_exact_cents(core: Core) -> None:
    await _work(core)
    await say(core, "alice", "!coop settings reserve_share:10%")
    reply = await say(core, "alice", "!patronage 1000.01 period:2026")
    # Reserve 100.001 → 100.00; 900.01 split 2:1:1 leaves one cent, which goes to the largest
    # fractional part (bob's 450.005).
    assert "Patronage of 1,000.01 for 2026 — reserve 100.00 (10%), 900.01 to 3 members" in reply
    assert _amounts(reply) == {
        "bob": Decimal("450.01"),
        "carol": Decimal("225.00"),
        "dan": Decimal("225.00"),
    }
    assert sum(_amounts(reply).values()) + Decimal("100.00") == Decimal("1000.01")
    assert reply.index("@bob") < reply.index("@carol") < reply.index("@dan")


async def test_patronage_without_reserve_rounds_thirds_to_a_whole(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol"))
    for name in ("alice", "bob", "carol"):
        await say(core, name, "!log 3 shifts")
    reply = await say(core, "alice", "!patronage 100 period:all")
    assert "reserve 0.00 (0%), 100.00 to 3 members" in reply
    amounts = _amounts(reply)
    assert sorted(amounts.values()) == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]
    assert sum(amounts.values()) == Decimal(100)


async def test_patronage_refusals(core: Core) -> None:
    await _work(core)
    assert "Only stewards can run `!patronage`" in await say(core, "bob", "!patronage 100")
    # The default period is last year, when nobody contributed.
    empty = await say(core, "alice", "!patronage 100")
    assert "Nobody has a weighted contribution in 2025" in empty
    assert "period:all" in empty
    assert "at most 2 decimals" in await say(core, "alice", "!patronage 10.001 period:2026")
    assert "more than 0" in await say(core, "alice", "!patronage 0 period:2026")


async def _export(core: Core, user: str, text: str) -> tuple[str, list[dict[str, str]], Reply]:
    replies = await core.handle(invocation(user, text))
    assert len(replies) == 1
    reply = replies[0]
    if not reply.attachments:
        return render_plain(reply), [], reply
    attachment = reply.attachments[0]
    assert attachment.content_type == "text/csv"
    assert attachment.filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(attachment.data.decode("utf-8"))))
    return render_plain(reply), rows, reply


async def test_export_contributions_as_csv(core: Core) -> None:
    await _work(core)
    summary, rows, reply = await _export(core, "alice", "!export contributions period:2026")
    assert summary == "Export of contributions for 2026: 4 rows (coopbot-contributions-2026.csv)"
    assert reply.attachments[0].filename == "coopbot-contributions-2026.csv"
    assert [(r["member"], r["kind"], r["amount"], r["giver"], r["note"]) for r in rows] == [
        ("bob", "hours", "2.00", "", "accounts"),
        ("carol", "hours", "1.00", "", "cleaning"),
        ("dan", "hours", "1.00", "", "cooking"),
        ("carol", "kudos", "5.00", "bob", "thanks"),
    ]
    assert rows[0]["created_at"] == "2026-11-16T09:00:00Z"
    _, none, _ = await _export(core, "alice", "!export contributions period:2025")
    assert none == []
    refused, _, _ = await _export(core, "bob", "!export contributions")
    assert "Only stewards can run `!export`" in refused


async def test_export_tasks_and_decisions(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose =HYPERLINK(evil) please")
    await say(core, "alice", "!task add Fix the gate points:3 from:#1")
    await say(core, "bob", "!task done 1")
    _, tasks, _ = await _export(core, "alice", "!export tasks")
    assert [(t["number"], t["title"], t["points"], t["status"], t["holder"]) for t in tasks] == [
        ("1", "Fix the gate", "3.00", "done", "bob")
    ]
    assert tasks[0]["from_decision"] == "1"
    _, decisions, _ = await _export(core, "alice", "!export decisions")
    # A title that starts like a formula can't run in a spreadsheet.
    assert decisions[0]["title"] == "'=HYPERLINK(evil) please"
    assert (decisions[0]["status"], decisions[0]["eligible"]) == ("open", "3")


async def test_secret_ballots_never_show_a_choice_in_any_export(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Open question")
    await say(core, "alice", "!propose Secret question secret:yes")
    await say(core, "bob", "!vote 1 yes reason:sounds good")
    await say(core, "bob", '!vote 2 no reason:"my hidden motive"')
    await say(core, "carol", "!vote 2 abstain")
    await say(core, "carol", "!vote 2 yes")
    await say(core, "alice", "!close 2")

    summary, votes, reply = await _export(core, "alice", "!export votes")
    assert "3 rows" in summary and "2 secret ballots show who voted, never how" in summary
    assert [(v["decision"], v["member"], v["choice"], v["reason"]) for v in votes] == [
        ("1", "bob", "yes", "sounds good"),
        ("2", "bob", "(secret)", ""),
        ("2", "carol", "(secret)", ""),
    ]
    data = reply.attachments[0].data.decode()
    assert "hidden motive" not in data

    _, audit, reply = await _export(core, "alice", "!export audit")
    text = reply.attachments[0].data.decode()
    assert "hidden motive" not in text
    secret_votes = [a for a in audit if a["subject"] == "decision:2" and "vote" in a["action"]]
    assert [a["actor"] for a in secret_votes] == ["bob", "carol", "carol"]
    assert all(a["detail"] == "" for a in secret_votes)
    open_votes = [a for a in audit if a["subject"] == "decision:1" and "vote" in a["action"]]
    assert '"choice": "yes"' in open_votes[0]["detail"]


async def test_export_csv_for_the_cli_stays_within_one_coop(core: Core) -> None:
    await _work(core)
    other = RoomRef("console", "elsewhere")
    assert "set up" in await say(core, "zed", "!coop setup Other Co-op", other)
    await say(core, "zed", "!log 7 other work", other)
    async with core.sessions() as session:
        coops = {c.name: c.id for c in (await session.scalars(select(Coop))).all()}
        text = await export_csv(session, coops["Riverside Co-op"], "contributions")
        others = await export_csv(
            session,
            coops["Other Co-op"],
            "contributions",
            parse_period("2026", ZoneInfo("UTC"), core.clock.now()),
        )
        assert "other work" not in await export_csv(
            session,
            coops["Other Co-op"],
            "contributions",
            parse_period("2025", ZoneInfo("UTC"), core.clock.now()),
        )
    assert text.startswith("entry,created_at,member,kind,amount,category,task,giver,note\r\n")
    assert "other work" not in text and "accounts" in text
    assert "other work" in others and "accounts" not in others
