"""Role sync: the Discord roles `member_role` and `steward_role` decide who is in the
co-op's registry, read a page at a time so large servers never make one giant list."""

from __future__ import annotations

import discord
import pytest
import simcord
from discord_world import TOKEN, Server
from sqlalchemy import select

from adapters.discord import DiscordAdapter
from adapters.discord.adapter import intents_for
from adapters.discord.roles import DEFAULT_PAGE_SIZE, role_holders
from bot.app import Core
from bot.config import DiscordSettings
from bot.db.models import Member
from tests.support import one_time_code

pytestmark = pytest.mark.simcord

MEMBER_ROLE = "Co-op member"
STEWARD_ROLE = "Steward"


@pytest.fixture
def role_page_size() -> int:
    return DEFAULT_PAGE_SIZE


@pytest.fixture
def adapter(core: Core, role_page_size: int) -> DiscordAdapter:
    settings = DiscordSettings(token=TOKEN, member_role=MEMBER_ROLE, steward_role=STEWARD_ROLE)
    return DiscordAdapter(settings, core=core, role_page_size=role_page_size)


async def registry(core: Core) -> dict[str, str]:
    """What is stored: each active member's Discord identity and role."""
    async with core.sessions() as session:
        members = (await session.scalars(select(Member).where(Member.active))).all()
        return {i.identity: m.role for m in members for i in m.identities}


def join(server: Server, name: str, *roles: simcord.RoleHandle) -> simcord.MemberActor:
    """Someone joins the server holding `roles`."""
    joined: simcord.MemberActor = server.guild.add_member(server.env.create_user(name), roles=roles)
    return joined


async def set_up_synced(
    server: Server, steward: simcord.MemberActor, mode: str = "stewards"
) -> None:
    """`steward` sets the co-op up in the server's channel and lets its roles decide."""
    await steward.slash(server.channel, "coop setup", name="Riverside Co-op")
    turned_on = await steward.slash(server.channel, "coop sync", mode=mode)
    assert f"Role sync for this room: {mode}" in turned_on.response.content


async def member_list(person: simcord.MemberActor, channel: simcord.ChannelHandle) -> str:
    """What `person` reads after `/member list`."""
    listing = await person.slash(channel, "member list")
    assert listing.response is not None
    return listing.response.content


def guild_of(server: Server) -> discord.Guild:
    guild = server.env.bot.get_guild(server.guild.id)
    assert isinstance(guild, discord.Guild)
    return guild


async def test_role_holders_come_in_pages_with_stewards_marked(server: Server) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    for n in range(5):
        server.guild.add_member(server.env.create_user(f"m{n}"), roles=[members])
    join(server, "s", members, stewards)
    server.person("visitor")

    pages = [
        page
        async for page in role_holders(
            guild_of(server), member_role=MEMBER_ROLE, steward_role=STEWARD_ROLE, page_size=2
        )
    ]

    assert [len(page) for page in pages] == [2, 2, 2]
    holders = [holder for page in pages for holder in page]
    assert sorted(h.display_name for h in holders) == ["m0", "m1", "m2", "m3", "m4", "s"]
    assert {h.display_name: h.role for h in holders}["s"] == "steward"
    assert all(h.identity.startswith("discord:") for h in holders)


@pytest.mark.parametrize("role_page_size", [2, DEFAULT_PAGE_SIZE])
async def test_role_holders_join_the_registry_when_the_coop_is_set_up(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    alice = join(server, "alice", server.admins, stewards)
    bob = join(server, "bob", members)
    carol = join(server, "carol", members)
    dan = join(server, "dan", members, stewards)
    erin = server.person("erin")  # in the server, but not in the co-op

    await set_up_synced(server, alice)
    await adapter.role_sync.wait()

    assert await member_list(erin, server.channel) == (
        "**Riverside Co-op: 4 members**\n"
        "\u2003stewards: **alice** **dan**\n"
        "\u2003members: **bob** **carol**"
    )
    assert await registry(core) == {
        f"discord:{alice.id}": "steward",
        f"discord:{bob.id}": "member",
        f"discord:{carol.id}": "member",
        f"discord:{dan.id}": "steward",
    }


async def test_losing_the_role_means_leaving_and_a_new_role_changes_the_registry(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    alice = join(server, "alice", server.admins, stewards)
    bob = join(server, "bob", members)
    carol = join(server, "carol", members)
    await set_up_synced(server, alice)
    await adapter.role_sync.wait()

    await server.take_role(bob, members)
    await server.give_role(carol, stewards)
    await adapter.role_sync.wait()

    listing = await member_list(carol, server.channel)
    assert "bob" not in listing
    assert "stewards: **alice** **carol**" in listing
    assert await registry(core) == {
        f"discord:{alice.id}": "steward",
        f"discord:{carol.id}": "steward",
    }
    refused = await bob.slash(server.channel, "propose", title="Buy a 3D printer")
    assert refused.ephemeral

    # Whoever gets the role later is admitted, with no steward involved.
    await server.give_role(bob, members)
    await adapter.role_sync.wait()
    assert (await registry(core))[f"discord:{bob.id}"] == "member"
    opened = await bob.slash(server.channel, "propose", title="Buy a 3D printer")
    assert not opened.ephemeral


async def test_a_burst_of_role_changes_shares_passes_and_unbound_channels_cost_none(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    server.guild.create_text_channel("random")  # not bound to any co-op
    alice = join(server, "alice", server.admins, stewards)
    newcomers = [join(server, f"new{n}") for n in range(5)]
    await set_up_synced(server, alice)
    await adapter.role_sync.wait()
    before = len(member_listings(server.env))

    # A server admin hands out five roles at once.
    for person in newcomers:
        server.env.backend.add_member_role(server.guild.id, person.id, members.id)
    await server.env.settle()
    await adapter.role_sync.wait()

    assert len(await registry(core)) == 6
    # Changes that arrive while a pass runs share one more pass: never one pass each.
    assert 1 <= len(member_listings(server.env)) - before <= 2


async def test_the_last_steward_stays_even_without_the_role(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    server.guild.create_role(STEWARD_ROLE)
    alice = server.person("alice", admin=True)  # sets the co-op up; holds neither role
    bob = join(server, "bob", members)
    await set_up_synced(server, alice)
    await adapter.role_sync.wait()

    assert await registry(core) == {
        f"discord:{alice.id}": "steward",
        f"discord:{bob.id}": "member",
    }


async def test_someone_leaving_the_server_leaves_the_coop(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    alice = join(server, "alice", server.admins, stewards)
    bob = join(server, "bob", members)
    await set_up_synced(server, alice)
    await adapter.role_sync.wait()

    server.guild.remove_member(bob)
    await server.env.settle()
    await adapter.role_sync.wait()

    assert await registry(core) == {f"discord:{alice.id}": "steward"}


async def test_a_misspelt_role_name_leaves_the_registry_alone(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    alice = join(server, "alice", server.admins, stewards)
    bob = join(server, "bob", members)
    await set_up_synced(server, alice)
    await adapter.role_sync.wait()
    admitted = {f"discord:{alice.id}": "steward", f"discord:{bob.id}": "member"}
    assert await registry(core) == admitted

    # A server admin renames it "Coop member": the configured "Co-op member" is gone.
    server.env.backend.edit_role(server.guild.id, members.id, {"name": "Coop member"})
    await server.env.settle()
    await adapter.role_sync.wait()

    # Nobody seems to hold the member role, yet nobody is removed for it.
    assert await registry(core) == admitted


async def test_roles_changed_while_the_bot_was_away_are_synced_at_start_up(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    alice = join(server, "alice", server.admins, stewards)
    bob = join(server, "bob", members)
    await set_up_synced(server, alice)
    await adapter.role_sync.wait()
    await adapter.stop()

    # While the bot is down, bob loses the role and carol joins with it.
    server.env.backend.remove_member_role(server.guild.id, bob.id, members.id)
    carol = join(server, "carol", members)
    restarted = DiscordAdapter(adapter.settings, core=core)
    await server.env.restart_bot(restarted.client)
    await server.env.settle()
    await restarted.role_sync.wait()

    assert await registry(core) == {
        f"discord:{alice.id}": "steward",
        f"discord:{carol.id}": "member",
    }
    await restarted.stop()


# Admitting 1,000 people takes SQLite a few seconds, longer than simcord's default wait.
@pytest.mark.simcord(settle_timeout=120)
@pytest.mark.parametrize("role_page_size", [100])
async def test_a_thousand_member_server_is_synced_a_page_at_a_time(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    alice = join(server, "alice", server.admins, stewards)
    for n in range(1000):
        server.guild.add_member(server.env.create_user(f"m{n:04}"), roles=[members])
    await server.env.settle()

    # Reading role holders asks Discord for 1,000 members at a time, and only when needed.
    before = len(member_listings(server.env))
    pages = role_holders(
        guild_of(server), member_role=MEMBER_ROLE, steward_role=STEWARD_ROLE, page_size=100
    )
    first = await anext(pages)
    assert len(first) == 100
    assert len(member_listings(server.env)) == before + 1
    sizes = [len(first)] + [len(page) async for page in pages]
    assert max(sizes) == 100 and sum(sizes) == 1001

    await set_up_synced(server, alice)
    await adapter.role_sync.wait()

    assert "Riverside Co-op: 1001 members" in await member_list(alice, server.channel)
    stored = await registry(core)
    assert len(stored) == 1001
    assert sum(role == "steward" for role in stored.values()) == 1


async def test_the_auto_sharded_client_syncs_roles_on_every_shard(core: Core) -> None:
    settings = DiscordSettings(token=TOKEN, member_role=MEMBER_ROLE, steward_role=STEWARD_ROLE)
    adapter = DiscordAdapter(settings, core=core, sharded=True, shard_count=2)
    async with simcord.run(adapter.client) as env:
        for shard in (0, 1):
            guild = env.create_guild(f"Shard {shard}", shard_id=shard)
            channel = guild.create_text_channel("general")
            admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
            server = Server(env, guild, channel, admins)
            members = guild.create_role(MEMBER_ROLE)
            stewards = guild.create_role(STEWARD_ROLE)
            alice = guild.add_member(env.create_user(f"alice{shard}"), roles=[admins, stewards])
            bob = guild.add_member(env.create_user(f"bob{shard}"), roles=[members])
            await alice.slash(channel, "coop setup", name=f"Co-op {shard}")
            await alice.slash(channel, "coop sync", mode="stewards")
            await adapter.role_sync.wait()

            await server.take_role(bob, members)
            await adapter.role_sync.wait()
            assert f"Co-op {shard}: 1 member**" in await member_list(alice, channel)
            await server.give_role(bob, members)
            await adapter.role_sync.wait()
            assert f"Co-op {shard}: 2 members" in await member_list(alice, channel)
        assert isinstance(adapter.client, discord.AutoShardedClient)
        assert sorted(adapter.client.shards) == [0, 1]
        await adapter.stop()


def member_listings(env: simcord.Env) -> list[simcord.HttpLogEntry]:
    """Discord's List Guild Members requests the bot made so far."""
    return [r for r in env.http_requests if r.method == "GET" and r.path.endswith("/members")]


def test_the_members_intent_is_asked_for_only_when_roles_are_synced() -> None:
    assert not intents_for(DiscordSettings(token=TOKEN)).members
    assert intents_for(DiscordSettings(token=TOKEN, member_role=MEMBER_ROLE)).members
    assert intents_for(DiscordSettings(token=TOKEN, steward_role=STEWARD_ROLE)).members
    assert not intents_for(DiscordSettings(token=TOKEN)).message_content


async def test_a_second_server_bound_to_the_coop_cannot_change_the_first_ones_members(
    server: Server, core: Core, adapter: DiscordAdapter
) -> None:
    members = server.guild.create_role(MEMBER_ROLE)
    stewards = server.guild.create_role(STEWARD_ROLE)
    founder = server.env.create_user("alice")
    alice = server.guild.add_member(founder, roles=[server.admins, stewards])
    bob = join(server, "bob", members)
    await set_up_synced(server, alice)
    await adapter.role_sync.wait()
    first = {f"discord:{alice.id}": "steward", f"discord:{bob.id}": "member"}
    assert await registry(core) == first

    # Mallory runs another server with the same role names; she and trent are its stewards.
    other = server.env.create_guild("Elsewhere")
    hall = other.create_text_channel("hall")
    admins = other.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    other.create_role(MEMBER_ROLE)
    its_stewards = other.create_role(STEWARD_ROLE)
    mallory = other.add_member(server.env.create_user("mallory"), roles=[admins, its_stewards])
    trent = other.add_member(server.env.create_user("trent"), roles=[its_stewards])
    alice_there = other.add_member(founder)

    # Alice gives her a bind code; the hall is bound, and every server syncs (as at start-up).
    issued = await alice.slash(server.channel, "coop code")
    code = one_time_code(issued.response.content)
    assert "now bound" in (await mallory.slash(hall, "coop bind", code=code)).response.content
    adapter.role_sync.request_all()
    await adapter.role_sync.wait()
    assert await registry(core) == first
    refused = await mallory.slash(hall, "coop sync", mode="stewards")
    assert refused.ephemeral and "Only members" in refused.response.content

    # A steward lets the hall's roles admit members: its stewards join as members only.
    allowed = await alice_there.slash(hall, "coop sync", mode="members")
    assert "Role sync for this room: members" in allowed.response.content
    await adapter.role_sync.wait()
    adapter.role_sync.request_all()
    await adapter.role_sync.wait()
    assert await registry(core) == first | {
        f"discord:{mallory.id}": "member",
        f"discord:{trent.id}": "member",
    }
    shown = await alice.slash(server.channel, "coop sync")
    assert f"discord room {hall.id}: members" in shown.response.content
    assert f"discord room {server.channel.id} (this room): stewards" in shown.response.content
