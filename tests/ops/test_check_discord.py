"""`coopbot check` signs in to Discord over HTTP (GET /users/@me) and looks at servers,
channels and permissions. There is no real Discord here: discord.py talks, unchanged, to a
loopback server standing in for discord.com's API (tests/ops/discord_api.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.discord import preflight
from bot.config import load_settings
from tests.ops.discord_api import CHANNEL_ID, GUILD_ID, HIDDEN_CHANNEL_ID, DiscordApi


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[DiscordApi]:
    server = DiscordApi(tmp_path)
    await server.start()
    yield server
    await server.stop()


async def test_a_good_token_shows_the_bot_its_servers_and_missing_permissions(
    api: DiscordApi,
) -> None:
    settings = load_settings(None, discord={"token": api.token, "guild_ids": [GUILD_ID, 42]})
    found = await preflight.check(
        settings, [CHANNEL_ID, HIDDEN_CHANNEL_ID], connector=api.connector()
    )
    lines = [" ".join(f.lines()) for f in found]
    assert not [f for f in found if f.level == "fail"], lines
    assert any("signed in as coopbot" in line for line in lines)
    assert any(f"in 1 server(s): Riverside ({GUILD_ID})" in line for line in lines)
    assert any("guild_ids names 42" in line for line in lines)
    assert any("lacks: embed_links, attach_files" in line for line in lines)
    assert any(f"cannot see the bound channel {HIDDEN_CHANNEL_ID}" in line for line in lines)
    assert "GET /api/v10/users/@me" in api.requests


async def test_a_wrong_token_names_the_setting_and_where_to_get_a_new_one(
    api: DiscordApi,
) -> None:
    settings = load_settings(None, discord={"token": "MTEw.revoked.xyz"})
    (finding,) = await preflight.check(settings, [], connector=api.connector())
    assert finding.level == "fail" and not finding.transient
    assert "discord.token was refused" in finding.message
    assert finding.hint is not None and "Reset Token" in finding.hint


async def test_role_sync_without_the_members_intent_is_caught(api: DiscordApi) -> None:
    settings = load_settings(None, discord={"token": api.token, "member_role": "Member"})
    found = await preflight.check(settings, [], connector=api.connector())
    failed = [f for f in found if f.level == "fail"]
    assert len(failed) == 1 and "Server Members intent" in failed[0].message
    api.members_intent = True
    found = await preflight.check(settings, [], connector=api.connector())
    assert not [f for f in found if f.level == "fail"]
