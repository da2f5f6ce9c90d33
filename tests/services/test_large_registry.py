"""A large co-op: `member list` comes in pages, and an open decision's card and reminder
name the first non-voters and count the rest."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import insert, select

from bot.app import Core
from bot.clock import ManualClock
from bot.db.models import Coop, Identity, Member, Membership
from tests.support import announcements, say, setup_coop


async def _admit(core: Core, count: int) -> None:
    """`count` more members, p0000 … (admitted in bulk: the commands are tested elsewhere)."""
    async with core.sessions() as session, session.begin():
        coop = await session.scalar(select(Coop))
        assert coop is not None
        ids = []
        for i in range(count):
            ids.append(
                await session.scalar(
                    insert(Member)
                    .values(
                        coop_id=coop.id,
                        name=f"p{i:04d}",
                        role="member",
                        active=True,
                        joined_at=core.clock.now(),
                    )
                    .returning(Member.id)
                )
            )
        await session.execute(
            insert(Identity),
            [
                {"coop_id": coop.id, "member_id": m, "identity": f"console:p{i:04d}"}
                for i, m in enumerate(ids)
            ],
        )
        coop.membership_seq += 1  # they joined at one tick of the membership clock
        await session.execute(
            insert(Membership),
            [{"coop_id": coop.id, "member_id": m, "joined_seq": coop.membership_seq} for m in ids],
        )


async def test_member_list_of_a_large_coop_comes_in_pages(core: Core) -> None:
    await setup_coop(core)
    await _admit(core, 450)  # with alice, bob and carol: 453
    first = (await say(core, "bob", "!member list")).splitlines()
    assert first[0] == "Riverside Co-op: 453 members"
    assert first[1].strip() == "stewards: alice"
    names = first[2].split()
    assert names[0] == "members:" and names[1:3] == ["bob", "carol"]
    assert names[3:] == [f"p{i:04d}" for i in range(197)]  # 199 members after alice
    assert first[3].strip() == "Page 1 of 3: 1–200 of 453 — next page: !member list page:2"

    last = (await say(core, "bob", "!member list page:3")).splitlines()
    assert last[0] == "Riverside Co-op: 453 members"
    assert last[1].split()[1:] == [f"p{i:04d}" for i in range(397, 450)]
    assert last[2].strip() == "Page 3 of 3: 401–453 of 453"

    refused = await say(core, "bob", "!member list page:4")
    assert "There are 3 pages of members" in refused
    assert "!member list page:1" in refused


async def test_a_small_member_list_is_one_page_as_before(core: Core) -> None:
    await setup_coop(core)
    assert (await say(core, "bob", "!member list")).splitlines() == [
        "Riverside Co-op: 3 members",
        "  stewards: alice",
        "  members: bob carol",
    ]
    assert "There is 1 page of members" in await say(core, "bob", "!member list page:2")


async def test_the_card_names_20_non_voters_and_counts_the_rest(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await _admit(core, 120)
    assert "opened" in await say(core, "alice", "!propose Paint the hall closes:3d")
    await say(core, "bob", "!vote 1 yes")
    await say(core, "p0000", "!vote 1 no")
    shown = await say(core, "carol", "!show 1")
    waiting = [x for x in shown.splitlines() if "not yet voted" in x]
    # 123 eligible, 2 voted: alice, carol and p0001 … p0018 shown, 101 more.
    expected = ["@alice", "@carol", *(f"@p{i:04d}" for i in range(1, 19))]
    assert waiting == ["  not yet voted: " + " ".join(expected) + " … and 101 more"]

    # The reminder a day before closing names up to 50 and counts the rest.
    await announcements(core)
    clock.advance(timedelta(days=2, hours=1))
    await core.run_due_work()
    [reminder] = [a for a in await announcements(core) if "Reminder" in a]
    first = reminder.splitlines()[0]
    assert first.startswith("Reminder: @alice @carol @p0001")
    assert first.endswith("@p0048 … and 71 more")
