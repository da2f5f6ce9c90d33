"""Platform roles as the registry, per binding: a bound server only admits, changes and
removes the people it admitted, only once a steward turned its sync on, and steward rights
flow in only where a steward allowed that. Every change is audited and can be undone."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from sqlalchemy import select

from bot.app import Core
from bot.db.models import AuditEvent, Member, SyncChange
from bot.invocation import CAP_ROLE_SYNC, RoomRef
from bot.services.registry_sync import RoleHolder, SyncResult
from tests.support import one_time_code, say

ROOM = RoomRef("discord", "77")  # the founders' server
OTHER = RoomRef("discord", "88")  # a second server, bound later
SYNCS = frozenset({CAP_ROLE_SYNC})


async def _pages(*pages: Sequence[RoleHolder]) -> AsyncIterator[Sequence[RoleHolder]]:
    yield []  # as the Discord adapter does: the core looks the binding up first
    for page in pages:
        yield page


def _holder(user: str, role: str = "member") -> RoleHolder:
    return RoleHolder(f"discord:{_snowflake(user)}", f"user{user}", role)


def _snowflake(user: str) -> str:
    return f"1000000000000000{user:0>2}"


async def _as(core: Core, user: str, text: str, room: RoomRef = ROOM) -> str:
    return await say(core, _snowflake(user), text, room, capabilities=SYNCS)


async def _sync(
    core: Core, room: RoomRef, *holders: RoleHolder, knows_stewards: bool = True
) -> SyncResult:
    return await core.sync_role_members(room, _pages(holders), manage_roles=knows_stewards)


async def registry(core: Core) -> dict[str, str]:
    """Each active member's name and role, as stored."""
    async with core.sessions() as session:
        members = (await session.scalars(select(Member).where(Member.active))).all()
        return {m.name: m.role for m in members}


async def test_nothing_syncs_until_a_steward_turns_it_on_for_the_room(core: Core) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    result = await _sync(core, ROOM, _holder("2"), _holder("3", "steward"))
    assert (result.added, result.changed, result.removed) == (0, 0, 0)
    assert await registry(core) == {_snowflake("1"): "steward"}

    refused = await _as(core, "2", "/coop sync members")
    assert "Only members of this co-op can do that" in refused
    turned_on = await _as(core, "1", "/coop sync stewards")
    assert "Role sync for this room: stewards" in turned_on

    result = await _sync(core, ROOM, _holder("2"), _holder("3", "steward"))
    assert (result.added, result.changed, result.removed) == (2, 0, 0)
    assert await registry(core) == {
        _snowflake("1"): "steward",  # the founder was admitted by a person: sync leaves them
        "user2": "member",
        "user3": "steward",
    }


async def test_role_holders_join_and_leave_in_pages(core: Core) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    await _as(core, "1", "/coop sync stewards")
    result = await core.sync_role_members(
        ROOM, _pages([_holder("2"), _holder("3", "steward")], [_holder("4")])
    )
    assert (result.added, result.changed, result.removed) == (3, 0, 0)
    listing = await _as(core, "3", "/member list")
    assert "user3" in listing and "user2" in listing and "user4" in listing

    again = await _sync(core, ROOM, _holder("2"), _holder("3", "steward"))
    assert again.removed == 1  # user4 lost the role
    assert "user4" not in await _as(core, "3", "/member list")


async def test_members_mode_admits_but_never_makes_stewards(core: Core) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    await _as(core, "1", "/coop sync members")
    await _sync(core, ROOM, _holder("2", "steward"))
    assert (await registry(core))["user2"] == "member"
    assert "Only stewards" in await _as(core, "2", "/close 99")


async def test_without_a_steward_role_stewards_stay_stewards(core: Core) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    await _as(core, "1", "/coop sync stewards")
    await _sync(core, ROOM, _holder("1"), _holder("2"), knows_stewards=False)
    promoted = await _as(core, "1", f"/member role <@{_snowflake('2')}> steward")
    assert "is now a steward" in promoted
    await _sync(core, ROOM, _holder("1"), _holder("2"), knows_stewards=False)
    assert "Only stewards" not in await _as(core, "2", "/close 99")


async def test_the_last_steward_is_never_demoted_or_removed(core: Core) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    await _as(core, "1", "/coop sync stewards")
    await _sync(core, ROOM, _holder("2", "steward"))
    await say(core, _snowflake("1"), f"/member remove <@{_snowflake('1')}>", ROOM)
    result = await _sync(core, ROOM, _holder("2", "member"))
    assert result.changed == 0 and result.removed == 0
    result = await _sync(core, ROOM)
    assert result.removed == 0
    assert await registry(core) == {"user2": "steward"}


async def test_a_second_server_cannot_touch_the_first_servers_members(core: Core) -> None:
    # The founders' server syncs members and stewards; carol is its steward-role holder.
    await _as(core, "1", "/coop setup Guild Co-op")
    await _as(core, "1", "/coop sync stewards")
    await _sync(core, ROOM, _holder("2"), _holder("3", "steward"))

    # A second server is bound. Its roles do nothing until a steward says so.
    code = one_time_code(await _as(core, "1", "/coop code"))
    assert "now bound" in await say(core, _snowflake("9"), f"/coop bind {code}", OTHER)
    result = await _sync(core, OTHER, _holder("8", "steward"), _holder("9", "steward"))
    assert (result.added, result.changed, result.removed) == (0, 0, 0)

    # Its admin cannot turn its sync on: binding a room makes nobody a steward.
    refused = await _as(core, "9", "/coop sync stewards", OTHER)
    assert "Only members of this co-op can do that" in refused

    # A steward allows it to admit members: its steward-role holders come in as members,
    # and its pass (where the first server's people hold no role) removes none of them.
    assert "Role sync for this room: members" in await _as(core, "1", "/coop sync members", OTHER)
    result = await _sync(core, OTHER, _holder("8", "steward"), _holder("3", "member"))
    assert (result.added, result.changed, result.removed) == (1, 0, 0)
    assert await registry(core) == {
        _snowflake("1"): "steward",
        "user2": "member",
        "user3": "steward",  # the first server's steward, although the second says member
        "user8": "member",  # the second server's steward role makes nobody a steward
    }

    # Nor can the first server remove the second server's people.
    result = await _sync(core, ROOM, _holder("2"), _holder("3", "steward"))
    assert result.removed == 0
    assert "user8" in await registry(core)

    # Even with steward rights granted, the second server only changes its own people.
    await _as(core, "1", "/coop sync stewards", OTHER)
    result = await _sync(core, OTHER, _holder("8", "steward"), _holder("3", "member"))
    assert (result.added, result.changed, result.removed) == (0, 1, 0)
    assert (await registry(core))["user3"] == "steward"
    assert (await registry(core))["user8"] == "steward"

    # Turning it off stops it: losing every role there removes nobody.
    await _as(core, "1", "/coop sync off", OTHER)
    assert (await _sync(core, OTHER)).removed == 0
    assert "user8" in await registry(core)


async def test_every_automatic_change_is_audited_and_listed(core: Core) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    await _as(core, "1", "/coop sync stewards")
    await _sync(core, ROOM, _holder("2"), _holder("3"))
    await _sync(core, ROOM, _holder("2", "steward"))

    async with core.sessions() as session:
        audited = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action.like("member.%")).order_by(AuditEvent.id)
            )
        ).all()
    assert [(a.action, a.detail.get("change")) for a in audited] == [
        ("member.add", 1),
        ("member.add", 2),
        ("member.role", 3),
        ("member.remove", 4),
    ]
    assert all(a.detail["source"] == "role sync" and a.detail["binding"] for a in audited)

    shown = await _as(core, "1", "/coop sync")
    assert f"discord room {ROOM.room_id} (this room): stewards" in shown
    assert "4: removed @user3 from discord room 77" in shown
    assert "3: changed the role of @user2 (member → steward) from discord room 77" in shown
    assert "1: admitted @user2 from discord room 77" in shown


async def test_an_undone_admission_is_not_redone_until_the_server_changes_its_mind(
    core: Core,
) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    await _as(core, "1", "/coop sync members")
    await _sync(core, ROOM, _holder("2"))
    assert "user2" in await registry(core)

    undone = await _as(core, "1", "/coop undo 1")
    assert "Undid change 1: @user2 is no longer a member" in undone
    assert "Change 1 was undone already" in await _as(core, "1", "/coop undo 1")

    # The server still gives user2 the role: the next syncs leave them out.
    assert (await _sync(core, ROOM, _holder("2"))).added == 0
    assert (await _sync(core, ROOM, _holder("2"))).added == 0
    assert "user2" not in await registry(core)

    # The server takes the role away, later gives it again: that is news, and it counts.
    await _sync(core, ROOM)
    assert (await _sync(core, ROOM, _holder("2"))).added == 1
    assert "user2" in await registry(core)


async def test_an_undone_removal_and_role_change_stay_undone(core: Core) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    await _as(core, "1", "/coop sync stewards")
    await _sync(core, ROOM, _holder("2"), _holder("3"))
    await _sync(core, ROOM, _holder("2", "steward"))  # 3: user2 promoted, 4: user3 removed

    assert "@user3 is a member again" in await _as(core, "1", "/coop undo 4")
    assert "@user2 is a member again" in await _as(core, "1", "/coop undo 3")
    result = await _sync(core, ROOM, _holder("2", "steward"))
    assert (result.changed, result.removed) == (0, 0)
    assert await registry(core) == {
        _snowflake("1"): "steward",
        "user2": "member",
        "user3": "member",
    }

    # An undo that no longer matches what is stored is refused and changes nothing.
    await say(core, _snowflake("1"), "/member remove @user3", ROOM)
    refused = await _as(core, "1", "/coop undo 2")
    assert "Change 2 no longer holds" in refused
    assert "There is no role sync change 99" in await _as(core, "1", "/coop undo 99")
    async with core.sessions() as session:
        held = (await session.scalars(select(SyncChange.number).where(SyncChange.held))).all()
    assert sorted(held) == [3, 4]


async def test_sync_is_set_in_a_bound_room_of_a_platform_that_syncs(core: Core) -> None:
    await _as(core, "1", "/coop setup Guild Co-op")
    console = await say(core, _snowflake("1"), "/coop sync members", ROOM)
    assert "This room's platform does not sync roles here" in console
    assert "Role sync for this room: off" in await say(
        core, _snowflake("1"), "/coop sync off", ROOM
    )
