"""The simcord world Discord stories run in: a guild, its channel, and its people."""

from __future__ import annotations

from dataclasses import dataclass

import discord
import simcord

from adapters.discord import DiscordAdapter
from bot.config import DiscordSettings
from bot.ports import CoreAPI

TOKEN = "simcord-token"


def make_adapter(core: CoreAPI) -> DiscordAdapter:
    """The adapter as `coopbot run` builds it; simcord stands in for Discord's gateway."""
    return DiscordAdapter(
        DiscordSettings(token=TOKEN), core=core, clock=getattr(core, "clock", None)
    )


@dataclass
class Server:
    """A guild with one channel, an admin who may set the co-op up, and helpers to add
    people."""

    env: simcord.Env
    guild: simcord.GuildHandle
    channel: simcord.ChannelHandle
    admins: simcord.RoleHandle

    def person(self, name: str, *, admin: bool = False) -> simcord.MemberActor:
        user = self.env.create_user(name)
        return self.guild.add_member(user, roles=[self.admins] if admin else [])

    async def give_role(self, member: simcord.MemberActor, role: simcord.RoleHandle) -> None:
        """A server admin gives `member` the role; the bot sees the member update."""
        self.env.backend.add_member_role(self.guild.id, member.id, role.id)
        await self.env.settle()

    async def take_role(self, member: simcord.MemberActor, role: simcord.RoleHandle) -> None:
        self.env.backend.remove_member_role(self.guild.id, member.id, role.id)
        await self.env.settle()

    def message(self, message_id: int) -> discord.Message:
        """The message as it is now (after the bot's edits)."""
        found = [m for m in self.channel.history() if m.id == message_id]
        assert found, f"message {message_id} is not in #{self.channel.name}"
        return found[0]

    async def coop_with(self, steward: simcord.MemberActor, *members: simcord.MemberActor) -> None:
        """`steward` sets up a co-op in the channel and admits `members`."""
        result = await steward.slash(self.channel, "coop setup", name="Riverside Co-op")
        assert result.response is not None and "set up" in result.response.content
        for member in members:
            added = await steward.slash(self.channel, "member add", member=member)
            assert added.response is not None, added
            assert not added.ephemeral, added.response.content


def card_text(message: discord.Message) -> str:
    """What a member reads on a decision card: its title and description."""
    embeds = message.embeds
    assert embeds, f"no embed on {message!r}"
    # Markdown escapes (`\#1`) are for Discord's renderer, not for the reader.
    return f"{embeds[0].title}\n{embeds[0].description}".replace("\\", "")


def button_labels(message: discord.Message) -> list[str]:
    labels: list[str] = []
    for row in message.components:
        for item in getattr(row, "children", [row]):
            label = getattr(item, "label", None)
            if label:
                labels.append(str(label))
    return labels
