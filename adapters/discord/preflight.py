"""`coopbot check` for Discord: the token signs in (GET /users/@me), the members intent is
on when roles are synced, and the bot can see and post in each bound channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import discord

from bot.config import Settings
from bot.ports import Finding

SUBJECT = "discord"
TOKEN_HINT = (
    "reset it in the Discord Developer Portal (your application → Bot → Reset Token) "
    "and set discord.token"
)
INTENT_HINT = (
    "turn on 'Server Members Intent' in the Developer Portal (your application → Bot), "
    "or leave member_role and steward_role empty"
)
# What posting cards, results and charts in a channel needs.
CHANNEL_PERMISSIONS = ("view_channel", "send_messages", "embed_links", "attach_files")
MAX_CHANNELS_CHECKED = 50


def refused_token(exc: BaseException) -> str:
    return f"discord.token was refused by Discord ({' '.join(str(exc).split())})"


async def _channel_findings(client: discord.Client, rooms: Sequence[str]) -> list[Finding]:
    findings: list[Finding] = []
    guilds: dict[int, tuple[discord.Guild, discord.Member]] = {}
    assert client.user is not None
    for room in rooms[:MAX_CHANNELS_CHECKED]:
        try:
            seen = await client.fetch_channel(int(room))
            if not isinstance(seen, discord.abc.GuildChannel):
                continue
            if seen.guild.id not in guilds:
                guild = await client.fetch_guild(seen.guild.id, with_counts=False)
                guilds[guild.id] = (guild, await guild.fetch_member(client.user.id))
            guild, member = guilds[seen.guild.id]
            channel = await guild.fetch_channel(int(room))
        except (discord.NotFound, discord.Forbidden) as exc:
            findings.append(
                Finding(
                    "warn",
                    SUBJECT,
                    f"the bot cannot see the bound channel {room} ({exc.status})",
                    "add the bot to that server again, or give it access to the channel",
                )
            )
            continue
        if not isinstance(channel, discord.abc.GuildChannel):
            continue
        allowed = channel.permissions_for(member)
        missing = [name for name in CHANNEL_PERMISSIONS if not getattr(allowed, name)]
        if missing:
            findings.append(
                Finding(
                    "warn",
                    SUBJECT,
                    f"in #{channel.name} ({room}) the bot lacks: {', '.join(missing)}",
                    "grant them to the bot's role in that channel",
                )
            )
    if len(rooms) > MAX_CHANNELS_CHECKED:
        findings.append(
            Finding(
                "ok",
                SUBJECT,
                f"checked the first {MAX_CHANNELS_CHECKED} of {len(rooms)} bound channels",
            )
        )
    return findings


async def check(
    settings: Settings,
    rooms: Sequence[str],
    *,
    connector: aiohttp.BaseConnector | None = None,
    **_: Any,
) -> list[Finding]:
    """Sign in over HTTP only (no gateway session), look, and sign out."""
    section = settings.discord
    client = discord.Client(intents=discord.Intents.none(), connector=connector)
    try:
        await client.login(section.token)
        assert client.user is not None
        findings = [Finding("ok", SUBJECT, f"signed in as {client.user} (id {client.user.id})")]
        flags = client.application_flags
        if (section.member_role or section.steward_role) and not (
            flags.gateway_guild_members or flags.gateway_guild_members_limited
        ):
            findings.append(
                Finding("fail", SUBJECT, "role sync needs the Server Members intent", INTENT_HINT)
            )
        guilds = [guild async for guild in client.fetch_guilds(limit=200)]
        names = ", ".join(f"{g.name} ({g.id})" for g in guilds[:10])
        more = f" and {len(guilds) - 10} more" if len(guilds) > 10 else ""
        findings.append(Finding("ok", SUBJECT, f"in {len(guilds)} server(s): {names}{more}"))
        visible = {guild.id for guild in guilds}
        for guild_id in section.guild_ids:
            if guild_id not in visible:
                findings.append(
                    Finding(
                        "warn",
                        SUBJECT,
                        f"discord.guild_ids names {guild_id}, a server the bot is not in",
                        "invite the bot there (OAuth2 URL with the bot and "
                        "applications.commands scopes), or remove the id",
                    )
                )
        findings += await _channel_findings(client, rooms)
        return findings
    except discord.LoginFailure as exc:
        return [Finding("fail", SUBJECT, refused_token(exc), TOKEN_HINT)]
    except (aiohttp.ClientError, TimeoutError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return [
            Finding(
                "fail",
                SUBJECT,
                f"cannot reach Discord's API at discord.com: {reason}",
                "check the network (and any proxy) from this machine",
                transient=True,
            )
        ]
    except discord.HTTPException as exc:
        return [Finding("fail", SUBJECT, f"Discord answered {exc.status}: {exc.text}")]
    finally:
        await client.close()
