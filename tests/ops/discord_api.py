"""A loopback stand-in for discord.com's HTTP API, enough for signing in and looking at
guilds, channels and permissions. discord.py talks to it unchanged: a resolver sends
discord.com to 127.0.0.1 and a certificate made here for discord.com is trusted."""

from __future__ import annotations

import datetime
import json
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BOT_ID = "1100000000000000001"
GUILD_ID = "1200000000000000001"
CHANNEL_ID = "1300000000000000001"
HIDDEN_CHANNEL_ID = "1300000000000000002"
# VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY, but not EMBED_LINKS / ATTACH_FILES.
BOT_ROLE_PERMISSIONS = str((1 << 10) | (1 << 11) | (1 << 16))


def _json(data: Any, status: int = 200) -> web.Response:
    # discord.py reads a body as JSON only when the type is exactly application/json.
    return web.Response(
        body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"}
    )


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "discord.com")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("discord.com")]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "discord.pem", directory / "discord.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class _Loopback(AbstractResolver):
    def __init__(self, port: int) -> None:
        self._port = port

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host != "discord.com":
            raise OSError(f"this test reaches only discord.com, not {host}")
        return [
            ResolveResult(
                hostname=host,
                host="127.0.0.1",
                port=self._port,
                family=socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


@dataclass
class DiscordApi:
    """The fake API. `token` is the one it accepts; `requests` lists what was asked."""

    directory: Path
    token: str = "MTEw.good-bot-token.abc"
    members_intent: bool = False
    requests: list[str] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _cert: Path | None = None

    async def start(self) -> None:
        app = web.Application(middlewares=[self._auth])
        base = "/api/v10"
        app.router.add_get(f"{base}/users/@me", self._me)
        app.router.add_get(f"{base}/oauth2/applications/@me", self._application)
        app.router.add_get(f"{base}/users/@me/guilds", self._guilds)
        app.router.add_get(f"{base}/guilds/{{guild}}", self._guild)
        app.router.add_get(f"{base}/guilds/{{guild}}/members/{{user}}", self._member)
        app.router.add_get(f"{base}/channels/{{channel}}", self._channel)
        self._cert, key = _certificate(self.directory)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self._cert, key)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        server = site._server
        assert server is not None
        self.port = int(server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def connector(self) -> aiohttp.TCPConnector:
        """A connector for discord.py that reaches this server as https://discord.com."""
        assert self._cert is not None
        trust = ssl.create_default_context(cafile=str(self._cert))
        return aiohttp.TCPConnector(resolver=_Loopback(self.port), ssl=trust)

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(f"{request.method} {request.path}")
        if request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    @staticmethod
    def _user() -> dict[str, Any]:
        return {
            "id": BOT_ID,
            "username": "coopbot",
            "discriminator": "0",
            "global_name": None,
            "avatar": None,
            "bot": True,
        }

    async def _me(self, _: web.Request) -> web.Response:
        return _json({**self._user(), "flags": 0, "mfa_enabled": False})

    async def _application(self, _: web.Request) -> web.Response:
        flags = (1 << 15) if self.members_intent else 0
        return _json(
            {
                "id": "1000000000000000001",
                "name": "coopbot",
                "icon": None,
                "description": "",
                "rpc_origins": [],
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self._user(),
                "summary": "",
                "verify_key": "00",
                "team": None,
                "flags": flags,
                "interactions_endpoint_url": None,
            }
        )

    async def _guilds(self, _: web.Request) -> web.Response:
        return _json(
            [
                {
                    "id": GUILD_ID,
                    "name": "Riverside",
                    "icon": None,
                    "owner": False,
                    "permissions": BOT_ROLE_PERMISSIONS,
                    "features": [],
                }
            ]
        )

    async def _guild(self, request: web.Request) -> web.Response:
        if request.match_info["guild"] != GUILD_ID:
            return _json({"message": "Unknown Guild", "code": 10004}, status=404)
        everyone = {
            "id": GUILD_ID,
            "name": "@everyone",
            "color": 0,
            "hoist": False,
            "position": 0,
            "permissions": "0",
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }
        bot_role = {**everyone, "id": "1400000000000000001", "name": "coopbot", "position": 1}
        bot_role["permissions"] = BOT_ROLE_PERMISSIONS
        return _json(
            {
                "id": GUILD_ID,
                "name": "Riverside",
                "icon": None,
                "owner_id": "1500000000000000001",
                "roles": [everyone, bot_role],
                "emojis": [],
                "features": [],
                "verification_level": 0,
                "default_message_notifications": 0,
                "explicit_content_filter": 0,
                "mfa_level": 0,
                "system_channel_flags": 0,
                "premium_tier": 0,
                "preferred_locale": "en-US",
                "nsfw_level": 0,
                "stickers": [],
            }
        )

    async def _member(self, request: web.Request) -> web.Response:
        return _json(
            {
                "user": self._user(),
                "roles": ["1400000000000000001"],
                "joined_at": "2026-01-01T00:00:00+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
            }
        )

    async def _channel(self, request: web.Request) -> web.Response:
        channel = request.match_info["channel"]
        if channel == HIDDEN_CHANNEL_ID:
            return _json({"message": "Missing Access", "code": 50001}, status=403)
        return _json(
            {
                "id": channel,
                "type": 0,
                "guild_id": GUILD_ID,
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            }
        )
