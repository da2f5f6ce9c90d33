"""A long tally is paged: the top rows, the asker's own row and everyone's totals, with the
whole table attached as CSV."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Core
from bot.clock import ManualClock
from bot.render.plain import render_plain
from tests.support import invocation, say, setup_coop

MEMBERS = 30


async def _thirty_members_log(core: Core, clock: ManualClock) -> None:
    """m01 … m30 each log i/2 hours in one week; then the week is over."""
    names = tuple(f"m{i:02d}" for i in range(1, MEMBERS + 1))
    await setup_coop(core, members=names)
    for i, name in enumerate(names, 1):
        assert "Logged" in await say(core, name, f"!log {i / 2} work")
    clock.advance(timedelta(days=7))


async def test_a_long_tally_shows_a_page_the_askers_row_and_the_totals(
    core: Core, clock: ManualClock
) -> None:
    await _thirty_members_log(core, clock)
    [reply] = await core.handle(invocation("m01", "!tally"))
    lines = render_plain(reply).splitlines()
    assert lines[0] == "Contributions — Week 47 (16–22 Nov 2026)"
    rows = [x.split() for x in lines[2:-3]]
    # 25 rows of the page, largest first, then m01's own row (rank 30), then the totals.
    assert [r[0] for r in rows[:25]] == [f"@m{i:02d}" for i in range(30, 5, -1)]
    assert rows[0] == ["@m30", "15", "0", "0", "15", "6.5%"]
    assert rows[25] == ["@m01", "0.5", "0", "0", "0.5", "0.2%"]
    assert rows[26] == ["all", "30", "members", "232.5", "0", "0", "232.5", "100%"]
    assert len(rows) == 27
    assert "hours × 1 + task points × 1 + kudos × 0" in lines[-3]
    assert lines[-2].strip() == (
        "Page 1 of 2: members 1–25 of 30; @m01 is #30 — next page: !tally period:week page:2"
    )
    assert lines[-1].strip().startswith("the whole table is attached (coopbot-tally-week-47")
    [attachment] = reply.attachments
    assert attachment.content_type == "text/csv"
    csv_lines = attachment.data.decode("utf-8").split("\r\n")
    assert csv_lines[0] == "rank,member,hours,task_points,kudos,weighted,share"
    assert csv_lines[1] == "1,m30,15,0,0,15,6.5%"
    assert csv_lines[30] == "30,m01,0.5,0,0,0.5,0.2%"
    assert csv_lines[31:] == [""]


async def test_the_next_page_has_the_rest_and_a_page_too_far_is_refused(
    core: Core, clock: ManualClock
) -> None:
    await _thirty_members_log(core, clock)
    second = (await say(core, "m30", "!tally period:week page:2")).splitlines()
    rows = [x.split() for x in second[2:-3]]
    # The asker, m30, is #1: their row follows the page's.
    assert [r[0] for r in rows] == ["@m05", "@m04", "@m03", "@m02", "@m01", "@m30", "all"]
    assert second[-2].strip() == "Page 2 of 2: members 26–30 of 30; @m30 is #1"

    too_far = await say(core, "m30", "!tally page:3")
    assert "There are 2 pages of the tally for Week 47" in too_far
    assert "!tally period:week page:1" in too_far
    assert "There are 2 pages" in await say(core, "m30", "!tally page:0")


async def test_without_attachments_the_page_says_nothing_of_a_file(
    core: Core, clock: ManualClock
) -> None:
    await _thirty_members_log(core, clock)
    [reply] = await core.handle(invocation("m30", "!tally", capabilities=frozenset()))
    assert reply.attachments == ()
    text = render_plain(reply)
    assert "attached" not in text
    # m30 is on the first page: no separate own row.
    assert text.count("@m30") == 1


async def test_a_short_tally_is_one_page_as_before(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    await say(core, "bob", "!log 2 work")
    clock.advance(timedelta(days=7))
    [reply] = await core.handle(invocation("carol", "!tally"))
    assert reply.attachments == ()
    assert render_plain(reply).splitlines()[2:] == [
        "  @bob    2      0         0      2         100%",
        "  weighted = hours × 1 + task points × 1 + kudos × 0",
    ]
