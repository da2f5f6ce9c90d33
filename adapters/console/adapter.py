"""Reads one message per line from a stream and prints the bot's replies (SPEC §3 console)."""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from bot.invocation import CAP_ATTACHMENTS, Actor, RoomRef, build_invocation
from bot.ports import CoreAPI, Delivery, OutboxPump
from bot.render.document import Reply
from bot.render.plain import render_plain

PLATFORM = "console"
# `@bob: !vote 1 yes` is sent by console user bob.
_SPEAKER = re.compile(r"^@([\w.\-]{1,64}):\s?(.*)$", re.DOTALL)


class ConsoleAdapter:
    """One console room (`console:<room>`); every input line is a message in it."""

    platform = PLATFORM
    capabilities = frozenset({CAP_ATTACHMENTS})

    def __init__(
        self,
        *,
        user: str,
        prefix: str,
        attachments_dir: Path,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
        room: str = "local",
        poll_seconds: float = 1.0,
        tick: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self.user = user
        self.prefix = prefix
        self.room = RoomRef(PLATFORM, room)
        self.attachments_dir = attachments_dir
        self._stdin = stdin or sys.stdin
        self._stdout = stdout or sys.stdout
        self._poll_seconds = poll_seconds
        self._tick = tick
        self._stopping = asyncio.Event()
        self._interactive = self._stdin.isatty()
        self._pump: OutboxPump | None = None
        self._pump_core: CoreAPI | None = None

    def founder(self) -> Actor:
        """The console's user, who founds its local co-op (bot.ports.HomeRoom)."""
        return self.actor(self.user)

    def actor(self, name: str) -> Actor:
        # A console user runs the terminal: they are its room admin.
        return Actor(PLATFORM, name, name, is_room_admin=True)

    async def run(self, core: CoreAPI) -> None:
        """Handle lines until end of input (then deliver what is pending and return)."""
        pump = self._outbox(core)
        pump.start()
        try:
            while not self._stopping.is_set():
                text = await asyncio.to_thread(self._stdin.readline)
                if not text:
                    break
                await self.handle_line(core, text.rstrip("\r\n"))
        finally:
            await pump.stop()
        await self.deliver_pending(core)

    async def stop(self) -> None:
        self._stopping.set()

    def parse_line(self, text: str) -> tuple[str, str] | None:
        """(speaker, command text without prefix), or None for a line that is not a command."""
        speaker, body = self.user, text.strip()
        if match := _SPEAKER.match(body):
            speaker, body = match.group(1), match.group(2).strip()
        if not body.startswith(self.prefix):
            return None
        return speaker, body[len(self.prefix) :].strip()

    async def handle_line(self, core: CoreAPI, text: str) -> None:
        parsed = self.parse_line(text)
        if parsed is None:
            if text.strip() and self._interactive:
                self._print(f"(commands start with {self.prefix} — try {self.prefix}help)")
            return
        speaker, command = parsed
        # A console user runs the terminal: they are its room admin.
        invocation = build_invocation(
            self.room,
            speaker,
            command,
            uuid.uuid4().hex,
            is_room_admin=True,
            capabilities=self.capabilities,
        )
        for answer in await core.answer(invocation):
            if answer.delivery is None:
                self.show(answer.reply, to=speaker)
            else:
                await core.deliver(answer.delivery, self._send)
        await self.deliver_pending(core)

    async def deliver_pending(self, core: CoreAPI) -> int:
        return await self._outbox(core).round()

    def _outbox(self, core: CoreAPI) -> OutboxPump:
        """The core's drain loop for the console, printing through `_send`."""
        if self._pump is None or self._pump_core is not core:
            self._pump = core.pump(
                PLATFORM, self._send, every=self._poll_seconds, before_round=self._tick
            )
            self._pump_core = core
        return self._pump

    async def _send(self, delivery: Delivery) -> None:
        # An answer delivered after a restart looks as it would have at once: a private
        # one is addressed to the member who gave the command.
        if delivery.room == self.room:
            self.show(delivery.reply, to=delivery.recipient)
        return None

    def show(self, reply: Reply, to: str | None = None) -> None:
        """Print a reply. The console is one terminal, so "only for you" is a label: an
        ephemeral reply to a command is marked `(to @name)`, and so is every private reply,
        with the one console user it is for (one for someone elsewhere is not printed)."""
        text = render_plain(reply, self.prefix)
        if reply.private:
            reader = reply.recipient
            if reader is None or reader.platform != PLATFORM:
                return
            text = f"(to @{reader.user_id}) {text}"
        elif reply.ephemeral and to is not None:
            text = f"(to @{to}) {text}"
        for attachment in reply.attachments:
            self.attachments_dir.mkdir(parents=True, exist_ok=True)
            path = self.attachments_dir / f"{uuid.uuid4().hex[:8]}-{attachment.filename}"
            path.write_bytes(attachment.data)
            text += f"\n  [attachment: {path}]"
        self._print(text)

    def _print(self, text: str) -> None:
        self._stdout.write(text + "\n")
        self._stdout.flush()
