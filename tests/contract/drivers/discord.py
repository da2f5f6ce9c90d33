"""The Discord driver: members in a simcord guild using slash commands and buttons."""

from __future__ import annotations

import re
from typing import Any

import discord
import simcord

from adapters.discord import DiscordAdapter
from bot.app import Core
from tests.discord.discord_world import Server, button_labels, make_adapter

# The slash commands the contract uses, with their positional options in order (the last
# one takes the rest of the text, as typed commands do).
SLASH_POSITIONALS: dict[str, tuple[str, ...]] = {
    "coop setup": ("name",),
    "coop code": (),
    "coop bind": ("code",),
    "coop settings": ("changes",),
    "member add": ("member",),
    "member link": ("code",),
    "propose": ("title",),
    "poll": ("question",),
    "vote": ("id", "choice"),
    "show": ("id",),
    "close": ("id",),
    "list": ("state",),
    "help": ("command",),
}
_OPTION = re.compile(r"\s(\w+):(\"[^\"]*\"|\S+)")
_NUMBERS = frozenset({"id"})


def message_text(message: discord.Message) -> str:
    """What a member reads in a message: its content and its embeds' titles and text
    (Markdown escapes are for Discord's renderer, not for the reader)."""
    parts = [message.content]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""]
        parts += [f"{field.name} {field.value}" for field in embed.fields]
    return "\n".join(p for p in parts if p).replace("\\", "")


class DiscordDriver:
    platform = "discord"
    patience = 0.0
    edits_cards = True
    direct_messages = False  # the commands are guild-only
    threads = True  # a thread started from the card's message

    def __init__(self, server: Server, adapter: DiscordAdapter) -> None:
        self.server = server
        self.adapter = adapter
        self.people: dict[str, simcord.MemberActor] = {}
        self._ephemeral: dict[str, list[str]] = {}

    @property
    def env(self) -> simcord.Env:
        return self.server.env

    def person(self, name: str, admin: bool = False) -> simcord.MemberActor:
        if name not in self.people:
            self.people[name] = self.server.person(name, admin=admin)
        return self.people[name]

    async def setup(self, steward: str, *members: str) -> None:
        lead = self.person(steward, admin=True)
        await self.server.coop_with(lead, *(self.person(m) for m in members))

    def slash_call(self, text: str) -> tuple[str, dict[str, Any]]:
        """`vote 1 yes reason:"fine"` as the slash command and the options a member fills."""
        words = text.split()
        name = next(
            (" ".join(words[:n]) for n in (2, 1) if " ".join(words[:n]) in SLASH_POSITIONALS),
            None,
        )
        assert name is not None, f"add {words[0]!r} to SLASH_POSITIONALS"
        rest = " " + text[len(name) :].strip()
        options: dict[str, Any] = {key: value.strip('"') for key, value in _OPTION.findall(rest)}
        rest = _OPTION.sub("", rest).strip()
        positionals = SLASH_POSITIONALS[name]
        for index, param in enumerate(positionals):
            if not rest:
                break
            last = index == len(positionals) - 1
            value, _, rest = (rest, "", "") if last else rest.partition(" ")
            options[param] = value
        for key, value in list(options.items()):
            if key in _NUMBERS:
                options[key] = int(value)
            elif isinstance(value, str) and value.startswith("@") and value[1:] in self.people:
                options[key] = self.people[value[1:]]
        return name, options

    async def send(self, member: str, text: str) -> None:
        name, options = self.slash_call(text)
        result = await self.person(member).slash(self.server.channel, name, **options)
        self._record(member, result)

    def _record(self, member: str, result: simcord.InteractionResult) -> None:
        response = result.response
        if response is not None and result.ephemeral:
            self._ephemeral.setdefault(member, []).append(message_text(response.message))

    def _card_message(self, number: int) -> discord.Message:
        """The first card posted for decision #number (the one the room votes on)."""
        for message in self.server.channel.history():
            if message.flags.ephemeral or not message.embeds:
                continue
            if re.search(rf"#{number}\b", message.embeds[0].title or ""):
                return message
        raise AssertionError(f"no card for #{number} in #{self.server.channel.name}")

    async def press(self, member: str, number: int, choice: str) -> None:
        card = self._card_message(number)
        result = await self.person(member).click(card, label=choice)
        self._record(member, result)

    async def vote_privately(self, member: str, number: int, choice: str) -> None:
        raise NotImplementedError("coopbot's Discord commands are for the server's channels")

    def _thread(self, number: int) -> simcord.ChannelHandle | None:
        """The thread started from decision #number's card (Discord gives it the card's id)."""
        card = self._card_message(number)
        return next((t for t in self.server.channel.threads if t.id == card.id), None)

    async def send_in_thread(self, member: str, number: int, text: str) -> None:
        thread = self._thread(number)
        assert thread is not None, f"decision #{number} has no thread"
        name, options = self.slash_call(text)
        result = await self.person(member).slash(thread, name, **options)
        self._record(member, result)

    async def thread_messages(self, number: int, reader: str | None = None) -> list[str]:
        thread = self._thread(number)
        if thread is None:
            return []
        if reader is not None:  # what that member's client shows, their ephemerals too
            return [message_text(m) for m in thread.history(viewer=self.person(reader))]
        return [message_text(m) for m in thread.history() if not m.flags.ephemeral]

    async def thread_count(self) -> int:
        return len(self.server.channel.threads)

    async def room_messages(self) -> list[str]:
        history = self.server.channel.history()
        return [message_text(m) for m in history if not m.flags.ephemeral]

    async def private_messages(self, member: str) -> list[str]:
        user = self.person(member)
        direct = [message_text(m) for m in user.user.dm_channel.history()]
        return [*self._ephemeral.get(member, []), *direct]

    async def card(self, number: int) -> str:
        return message_text(self._card_message(number))

    async def controls(self, number: int) -> list[str]:
        return button_labels(self._card_message(number))

    def mention(self, member: str) -> str:
        return self.person(member).mention

    async def notified(self, since: int = 0) -> set[str]:
        names = {person.id: name for name, person in self.people.items()}
        found: set[str] = set()
        posted = [m for m in self.server.channel.history() if not m.flags.ephemeral]
        for message in posted[since:]:
            if message.mention_everyone:
                found.add("everyone")
            found.update(role.name for role in message.role_mentions)
            found.update(names.get(user.id, user.name) for user in message.mentions)
        return found

    async def settle(self) -> None:
        await self.env.settle()
        await self.adapter.deliver_pending()  # one round of the adapter's outbox timer
        await self.env.settle()

    async def crash(self) -> None:
        # The bot's outbox timer runs only when simcord's virtual time moves, and it does
        # not move until the restart: from here on this adapter sends nothing.
        self.adapter.attach(_Gone())  # type: ignore[arg-type]

    async def restart(self, core: Core) -> None:
        self.adapter = make_adapter(core)
        await self.env.restart_bot(self.adapter.client)
        await self.settle()


class _Gone:
    """The core of a process that died: any use of it is a test error."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the crashed process was asked for {name}")
