"""The console driver: the console adapter's own line handling, its output as the room."""

from __future__ import annotations

import io
import re
from pathlib import Path

from adapters.console import ConsoleAdapter
from bot.app import Core

PREFIX = "!"
# What a terminal shows as a crowd mention or a user's mention, un-neutralised.
_CROWD = re.compile(r"(?<!\u200b)@(everyone|here|room)\b")
_USER = re.compile(r"<@!?(\d+)>")


class Transcript(io.StringIO):
    """The console's standard output; each write is one message (the adapter prints each
    reply with one write)."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def write(self, text: str) -> int:
        self.messages.append(text.rstrip("\n"))
        return super().write(text)


class ConsoleDriver:
    platform = "console"
    patience = 0.0
    edits_cards = False  # a terminal does not rewrite what it printed
    direct_messages = False
    threads = False  # a terminal is one stream of lines

    def __init__(self, core: Core, attachments_dir: Path) -> None:
        self.out = Transcript()
        self.attachments_dir = attachments_dir
        self.core = core
        self.adapter: ConsoleAdapter | None = None
        self._start(core)

    def _start(self, core: Core) -> None:
        self.core = core
        self.adapter = ConsoleAdapter(
            user="console",
            prefix=PREFIX,
            attachments_dir=self.attachments_dir,
            stdin=io.StringIO(""),
            stdout=self.out,
        )

    def _running(self) -> ConsoleAdapter:
        assert self.adapter is not None, "the console crashed and was not restarted"
        return self.adapter

    async def setup(self, steward: str, *members: str) -> None:
        await self.send(steward, "coop setup Riverside")
        assert "set up" in self.out.messages[-1], self.out.messages
        for member in members:
            await self.send(steward, f"member add @{member}")
            assert "joined" in self.out.messages[-1], self.out.messages

    async def send(self, member: str, text: str) -> None:
        # One input line, as `coopbot console` reads it (`@bob: !vote 1 yes`).
        await self._running().handle_line(self.core, f"@{member}: {PREFIX}{text}")

    async def press(self, member: str, number: int, choice: str) -> None:
        await self.send(member, f"vote {number} {choice}")  # text is the console's only means

    async def vote_privately(self, member: str, number: int, choice: str) -> None:
        raise NotImplementedError("the console has no direct messages")

    async def send_in_thread(self, member: str, number: int, text: str) -> None:
        raise NotImplementedError("the console has no threads")

    async def thread_messages(self, number: int, reader: str | None = None) -> list[str]:
        return []

    async def thread_count(self) -> int:
        return 0

    async def room_messages(self) -> list[str]:
        return [m for m in self.out.messages if not m.startswith("(to @")]

    async def private_messages(self, member: str) -> list[str]:
        return [m for m in self.out.messages if m.startswith(f"(to @{member}) ")]

    async def card(self, number: int) -> str:
        cards = [m for m in await self.room_messages() if re.search(rf"#{number}\b", m)]
        assert cards, f"no card for #{number}: {self.out.messages}"
        return cards[-1]  # the latest one printed

    async def controls(self, number: int) -> list[str]:
        # Text only: the card's control is the vote it shows how to type.
        hint = re.search(rf"vote: {re.escape(PREFIX)}vote {number} (\S+)", await self.card(number))
        return hint.group(1).split("|") if hint else []

    def mention(self, member: str) -> str:
        return f"@{member}"

    async def notified(self, since: int = 0) -> set[str]:
        found: set[str] = set()
        for message in (await self.room_messages())[since:]:
            found.update(_CROWD.findall(message))
            found.update(_USER.findall(message))
        return found

    async def settle(self) -> None:
        await self._running().deliver_pending(self.core)

    async def crash(self) -> None:
        self.adapter = None  # gone, with nothing drained

    async def restart(self, core: Core) -> None:
        self._start(core)
        await self.settle()  # a console starts by sending what is pending
