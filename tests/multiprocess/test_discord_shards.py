"""Discord across processes: each process connects only the shards `shard_ids` names, and
the shard settings are checked with one line each. (simcord models one bot per Discord world:
two processes' bots cannot share a simulated guild list, so each shard set is driven in its
own world here; the election of shard holders is tested on PostgreSQL in test_holders.)"""

from __future__ import annotations

from pathlib import Path

import discord
import pytest
import simcord
from sqlalchemy import select

from adapters.discord.adapter import DiscordAdapter
from bot.app import Core
from bot.config import ConfigError, load_settings
from bot.db.models import Coop
from bot.holders import discord_role
from bot.runner import role_of

TOKEN = "test-token"


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[discord]\ntoken = "{TOKEN}"\n{body}')
    return path


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("shard_ids = [0, 1]\n", "discord: shard_ids needs shard_count"),
        ("shard_count = 2\nshard_ids = [1, 2]\n", "shard id(s) 2 out of range"),
        ("shard_count = 4\nshard_ids = [-1]\n", "shard id(s) -1 out of range"),
        ("shard_count = 4\nshard_ids = [1, 3, 1]\n", "shard id(s) 1 listed twice"),
        ("shard_count = 0\n", "discord.shard_count"),
    ],
)
def test_shard_settings_that_cannot_work_are_refused_in_one_line(
    tmp_path: Path, body: str, said: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        load_settings(_config(tmp_path, body))
    assert len(refused.value.problems) == 1
    (problem,) = refused.value.problems
    assert said in problem and "\n" not in problem, problem


def test_shard_ids_from_the_environment_and_the_role_they_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COOPBOT_DISCORD__SHARD_IDS", "3,1")
    settings = load_settings(_config(tmp_path, "shard_count = 4\n"))
    assert settings.discord.shard_ids == [3, 1]
    role = role_of(settings, "discord")
    assert role == discord_role([1, 3]) and role.shards == (1, 3)
    assert role.label == "discord shards 1,3"
    # Without shard_ids a process holds the whole bot: one holder at a time.
    assert discord_role([]).shards == () and discord_role([]).label == "discord (all shards)"


async def test_a_process_connects_only_its_shards_and_serves_their_guilds(
    tmp_path: Path, core: Core
) -> None:
    settings = load_settings(_config(tmp_path, "shard_count = 3\nshard_ids = [2]\n"))
    adapter = DiscordAdapter.from_settings(settings)
    adapter.attach(core)
    assert isinstance(adapter.client, discord.AutoShardedClient)
    assert adapter.client.shard_ids == [2] and adapter.client.shard_count == 3
    async with simcord.run(adapter.client) as env:
        guild = env.create_guild("Riverside", shard_id=2)
        channel = guild.create_text_channel("general")
        admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
        alice = guild.add_member(env.create_user("alice"), roles=[admins])
        await alice.slash(channel, "coop setup", name="Riverside Co-op")
        assert sorted(adapter.client.shards) == [2]  # shards 0 and 1 belong to other processes
        listing = await alice.slash(channel, "member list")
        assert listing.response is not None
        assert "Riverside Co-op: 1 member" in listing.response.content
        await adapter.stop()


async def test_two_processes_with_disjoint_shard_sets_each_serve_their_own_guilds(
    tmp_path: Path, core: Core
) -> None:
    # One database (the core), two processes' adapters: shards 0 and 1 of 2. simcord gives
    # each bot its own Discord; each world holds the guild on that process's shard.
    served: dict[int, list[int]] = {}
    for shard in (0, 1):
        env_settings = load_settings(_config(tmp_path, f"shard_count = 2\nshard_ids = [{shard}]\n"))
        adapter = DiscordAdapter.from_settings(env_settings)
        adapter.attach(core)
        async with simcord.run(adapter.client) as env:
            guild = env.create_guild(f"Guild {shard}", shard_id=shard)
            channel = guild.create_text_channel("general")
            admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
            alice = guild.add_member(env.create_user(f"alice{shard}"), roles=[admins])
            await alice.slash(channel, "coop setup", name=f"Co-op {shard}")
            served[shard] = sorted(adapter.client.shards)
            assert [g.shard_id for g in adapter.client.guilds] == [shard]
            await adapter.stop()
    assert served == {0: [0], 1: [1]}
    async with core.sessions() as session:
        names = (await session.scalars(select(Coop.name).order_by(Coop.name))).all()
    assert list(names) == ["Co-op 0", "Co-op 1"]  # both processes' co-ops, one database
