"""Platform roles as the registry: admit, promote, remove; never lose the last steward."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from bot.app import Core
from bot.invocation import RoomRef
from bot.services.registry_sync import RoleHolder
from tests.support import say

ROOM = RoomRef("discord", "77")


async def _pages(*pages: Sequence[RoleHolder]) -> AsyncIterator[Sequence[RoleHolder]]:
    for page in pages:
        yield page


def _holder(user: str, role: str = "member") -> RoleHolder:
    return RoleHolder(f"discord:{_snowflake(user)}", f"user{user}", role)


def _snowflake(user: str) -> str:
    return f"1000000000000000{user:0>2}"


async def test_role_holders_join_and_leave_in_pages(core: Core) -> None:
    await say(core, _snowflake("1"), "/coop setup Guild Co-op", ROOM)
    result = await core.sync_role_members(
        ROOM, _pages([_holder("2"), _holder("3", "steward")], [_holder("4")])
    )
    assert (result.added, result.changed, result.removed) == (3, 0, 1)  # founder had no role
    listing = await say(core, _snowflake("3"), "/member list", ROOM)
    assert "user3" in listing and "user2" in listing and "user4" in listing

    again = await core.sync_role_members(ROOM, _pages([_holder("2"), _holder("3", "steward")]))
    assert again.removed == 1  # user4 lost the role
    assert "user4" not in await say(core, _snowflake("3"), "/member list", ROOM)


async def test_without_a_steward_role_stewards_stay_stewards(core: Core) -> None:
    await say(core, _snowflake("1"), "/coop setup Guild Co-op", ROOM)
    await core.sync_role_members(ROOM, _pages([_holder("1"), _holder("2")]), manage_roles=False)
    promoted = await say(core, _snowflake("1"), f"/member role <@{_snowflake('2')}> steward", ROOM)
    assert "is now a steward" in promoted
    await core.sync_role_members(ROOM, _pages([_holder("1"), _holder("2")]), manage_roles=False)
    assert "Only stewards" not in await say(core, _snowflake("2"), "/close 99", ROOM)


async def test_the_last_steward_is_never_demoted_or_removed(core: Core) -> None:
    await say(core, _snowflake("1"), "/coop setup Guild Co-op", ROOM)
    result = await core.sync_role_members(ROOM, _pages([_holder("1", "member")]))
    assert result.changed == 0 and result.removed == 0
    assert "Only stewards" not in await say(core, _snowflake("1"), "/close 99", ROOM)
