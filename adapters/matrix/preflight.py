"""`coopbot check` for Matrix: the homeserver answers, the token is the bot's, and the bot
is in each bound room with the power to post (and to redact typed secret votes)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import ClientError
from nio import (
    AsyncClient,
    AsyncClientConfig,
    JoinedRoomsResponse,
    LoginInfoResponse,
    RoomGetStateEventResponse,
    WhoamiResponse,
)
from nio.crypto import ENCRYPTION_ENABLED

from adapters.matrix.state import AdapterState
from bot.config import Settings
from bot.ports import Finding

SUBJECT = "matrix"
TOKEN_HINT = (
    "get a new access token by logging in as the bot (docs/DEPLOY.md, 'Rotating tokens') "
    "and set matrix.access_token"
)


def unreachable(homeserver: str, exc: BaseException) -> str:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return f"cannot reach the Matrix homeserver {homeserver}: {reason}"


def _level(content: dict[str, Any], user_id: str, event: str | None, key: str) -> tuple[int, int]:
    """(the bot's power level, the level needed for `event` or the `key` action)."""
    users = content.get("users", {})
    mine = int(users.get(user_id, content.get("users_default", 0)))
    if event is not None:
        needed = content.get("events", {}).get(event, content.get("events_default", 0))
    else:
        needed = content.get(key, 50)
    return mine, int(needed)


async def _room_findings(client: AsyncClient, user_id: str, rooms: Sequence[str]) -> list[Finding]:
    joined = await client.joined_rooms()
    if not isinstance(joined, JoinedRoomsResponse):
        return [Finding("warn", SUBJECT, f"could not list the bot's rooms: {joined}")]
    findings = []
    missing = [room for room in rooms if room not in joined.rooms]
    for room in missing:
        findings.append(
            Finding(
                "warn",
                SUBJECT,
                f"the bot is not in the bound room {room}",
                "invite the bot there again (it joins when auto_join is on)",
            )
        )
    for room in (r for r in rooms if r in joined.rooms):
        levels = await client.room_get_state_event(room, "m.room.power_levels")
        if not isinstance(levels, RoomGetStateEventResponse):
            continue
        content = levels.content
        mine, send = _level(content, user_id, "m.room.message", "")
        if mine < send:
            findings.append(
                Finding(
                    "warn",
                    SUBJECT,
                    f"the bot may not post in {room} (power {mine}, needs {send})",
                    "raise the bot's power level in that room",
                )
            )
        _, redact = _level(content, user_id, None, "redact")
        if mine < redact:
            findings.append(
                Finding(
                    "warn",
                    SUBJECT,
                    f"the bot may not redact in {room} (power {mine}, needs {redact})",
                    "typed secret votes stay visible there; raise the bot's power level",
                )
            )
    summary = f"in {len(joined.rooms)} room(s), {len(rooms) - len(missing)}/{len(rooms)} bound"
    findings.append(Finding("ok", SUBJECT, summary))
    return findings


def encryption_findings(enabled: bool) -> list[Finding]:
    """A warning when matrix-nio runs without end-to-end encryption (its vodozemac package
    is missing): the bot would start, but never read a message in an encrypted room."""
    if enabled:
        return []
    return [
        Finding(
            "warn",
            SUBJECT,
            "end-to-end encryption is unavailable (the vodozemac package is missing): "
            "the bot cannot read messages in encrypted rooms",
            "install coopbot with its matrix extra (pip install 'coopbot[matrix]'), "
            "which brings matrix-nio[e2e]",
        )
    ]


async def check(settings: Settings, rooms: Sequence[str], **_: Any) -> list[Finding]:
    """Encryption support, sign-in, rooms and power levels, without syncing or creating a
    device."""
    return [*encryption_findings(ENCRYPTION_ENABLED), *await _signed_in(settings, rooms)]


async def _signed_in(settings: Settings, rooms: Sequence[str]) -> list[Finding]:
    """Sign-in, rooms and power levels."""
    section = settings.matrix
    client = AsyncClient(
        section.homeserver,
        section.user_id,
        config=AsyncClientConfig(
            encryption_enabled=False, store_sync_tokens=False, max_timeouts=1, request_timeout=15
        ),
    )
    try:
        token = section.access_token
        if not token:
            saved = AdapterState(Path(section.store_path)).load_session(section.user_id)
            token = saved.access_token if saved else ""
        if not token:
            info = await client.login_info()
            if not isinstance(info, LoginInfoResponse):
                return [Finding("fail", SUBJECT, f"{section.homeserver} answered: {info}")]
            if "m.login.password" not in info.flows:
                return [
                    Finding(
                        "fail",
                        SUBJECT,
                        f"{section.homeserver} does not take password logins",
                        "set matrix.access_token instead",
                    )
                ]
            return [
                Finding(
                    "ok",
                    SUBJECT,
                    f"{section.homeserver} answers; the password is tried at the first start "
                    "(checking it here would create a device)",
                )
            ]
        client.access_token = token
        who = await client.whoami()
        if not isinstance(who, WhoamiResponse):
            setting = "matrix.access_token" if section.access_token else "the saved session"
            return [
                Finding(
                    "fail",
                    SUBJECT,
                    f"{section.homeserver} refused {setting}: {who}",
                    TOKEN_HINT if section.access_token else "delete session.json to log in again",
                )
            ]
        if who.user_id != section.user_id:
            return [
                Finding(
                    "fail",
                    SUBJECT,
                    f"matrix.access_token belongs to {who.user_id}, not {section.user_id}",
                    "set matrix.user_id to the bot's account, or use the bot's token",
                )
            ]
        found = [
            Finding(
                "ok",
                SUBJECT,
                f"signed in as {who.user_id} on {section.homeserver} (device {who.device_id})",
            )
        ]
        client.user_id = who.user_id
        found += await _room_findings(client, who.user_id, rooms)
        return found
    except (ClientError, TimeoutError) as exc:
        return [
            Finding(
                "fail",
                SUBJECT,
                unreachable(section.homeserver, exc),
                "check matrix.homeserver (the https:// URL of the client API) and the network",
                transient=True,
            )
        ]
    finally:
        await client.close()
