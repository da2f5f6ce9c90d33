"""Sending one Matrix event: transaction ids, notices, attachments, reactions, redactions."""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import struct
from typing import Any

from aiohttp import ClientConnectionError
from nio import (
    AsyncClient,
    LocalProtocolError,
    MatrixRoom,
    RoomRedactResponse,
    RoomSendResponse,
    UploadResponse,
)

from adapters.matrix.render import render_reply
from bot.ports import PermanentSendError
from bot.render.document import Attachment, Reply

log = logging.getLogger(__name__)

_PERMANENT_SEND_ERRORS = frozenset({"M_FORBIDDEN", "M_NOT_FOUND", "M_UNKNOWN"})


class SendError(Exception):
    """A message could not be sent now; it may succeed later."""


class PermanentError(SendError, PermanentSendError):
    """A message can never be sent (the bot left the room, or was never in it)."""


def txn(*parts: str) -> str:
    """A transaction id derived from what is being answered: a resend after a crash is a
    no-op on the homeserver, which remembers the ids a device used."""
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"coopbot-{digest}"


def png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) >= 24 and data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return int(width), int(height)
    return None


class Sender:
    """Sends events into rooms the bot is in, and says which failures are for good."""

    def __init__(self, client: AsyncClient, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    async def send(self, room_id: str, event_type: str, content: dict[str, Any], txn: str) -> str:
        if room_id not in self.client.rooms:
            raise PermanentError(f"the bot is not in {room_id}")
        try:
            response = await self.client.room_send(
                room_id, event_type, content, tx_id=txn, ignore_unverified_devices=True
            )
        except LocalProtocolError as exc:  # e.g. an encrypted room whose members are unknown
            raise SendError(str(exc)) from exc
        if isinstance(response, RoomSendResponse):
            return str(response.event_id)
        code = getattr(response, "status_code", None)
        if code in _PERMANENT_SEND_ERRORS:
            raise PermanentError(f"{code}: {getattr(response, 'message', response)}")
        raise SendError(str(response))

    async def notice(self, room_id: str, reply: Reply, txn: str, in_reply_to: str | None) -> str:
        """A reply's notice alone, as an answer to `in_reply_to` when given."""
        content = render_reply(reply, self.prefix)
        if in_reply_to:
            content["m.relates_to"] = {"m.in_reply_to": {"event_id": in_reply_to}}
        return await self.send(room_id, "m.room.message", content, txn)

    async def content(self, room_id: str, reply: Reply, txn: str) -> str:
        """A reply's notice and attachments, nothing else (no poll, no hints)."""
        event_id = await self.send(room_id, "m.room.message", render_reply(reply, self.prefix), txn)
        await self.attachments(room_id, reply, txn)
        return event_id

    async def attachments(self, room_id: str, reply: Reply, txn: str) -> None:
        for index, attachment in enumerate(reply.attachments):
            await self.attachment(room_id, attachment, f"{txn}-a{index}")

    async def attachment(self, room_id: str, attachment: Attachment, txn: str) -> None:
        room = self.client.rooms.get(room_id)
        encrypt = bool(room and room.encrypted)
        upload, keys = await self.client.upload(
            io.BytesIO(attachment.data),
            content_type=attachment.content_type,
            filename=attachment.filename,
            encrypt=encrypt,
            filesize=len(attachment.data),
        )
        if not isinstance(upload, UploadResponse):
            raise SendError(f"upload of {attachment.filename} failed: {upload}")
        is_image = attachment.content_type.startswith("image/")
        info: dict[str, Any] = {"mimetype": attachment.content_type, "size": len(attachment.data)}
        size = png_size(attachment.data)
        if size:
            info["w"], info["h"] = size
        content: dict[str, Any] = {
            "msgtype": "m.image" if is_image else "m.file",
            "body": attachment.alt or attachment.filename,
            "filename": attachment.filename,
            "info": info,
        }
        if encrypt and keys is not None:
            content["file"] = {"url": upload.content_uri, **keys}
        else:
            content["url"] = upload.content_uri
        await self.send(room_id, "m.room.message", content, txn)

    async def react(self, room_id: str, event_id: str, key: str) -> None:
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        with contextlib.suppress(SendError):
            await self.send(room_id, "m.reaction", content, txn("react", event_id, key))

    async def redact(self, room: MatrixRoom, event_id: str, reason: str) -> bool:
        """Redact a member's message where the bot's power level allows; whether it did."""
        bot_id = str(self.client.user_id)
        levels = room.power_levels
        if not (
            levels.can_user_redact(bot_id)
            and levels.can_user_send_message(bot_id, "m.room.redaction")
        ):
            return False
        try:
            response = await self.client.room_redact(
                room.room_id, event_id, reason=reason, tx_id=txn("redact", event_id)
            )
        except (ClientConnectionError, TimeoutError) as exc:
            log.warning("could not redact %s in %s (%s)", event_id, room.room_id, exc)
            return False
        if not isinstance(response, RoomRedactResponse):
            log.warning("could not redact %s in %s: %s", event_id, room.room_id, response)
            return False
        return True
