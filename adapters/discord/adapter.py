"""The Discord adapter: slash commands and voting controls in, rendered replies and outbox
announcements out, over a real discord.py client (plain or auto-sharded)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

import discord
from discord import app_commands
from discord.ext import tasks

from adapters.discord.answer import InteractionAnswer
from adapters.discord.client import CoopClient, ShardedCoopClient, intents_for
from adapters.discord.live import LiveCards
from adapters.discord.outgoing import Outgoing
from adapters.discord.preflight import INTENT_HINT, TOKEN_HINT, refused_token
from adapters.discord.reads import Reads
from adapters.discord.render import PLATFORM
from adapters.discord.role_sync import RoleSync
from adapters.discord.roles import DEFAULT_PAGE_SIZE
from adapters.discord.slash import SlashCall, build_app_commands, slash_text
from adapters.discord.threads import room_channel_id
from adapters.discord.turns import Turns
from adapters.discord.views import DYNAMIC_ITEMS
from bot.clock import Clock, SystemClock
from bot.commands.spec import Command
from bot.config import DiscordSettings, Settings
from bot.errors import UserError
from bot.failure_log import log_failure
from bot.invocation import (
    CAP_ATTACHMENTS,
    CAP_BUTTONS,
    CAP_EPHEMERAL,
    CAP_ROLE_SYNC,
    Invocation,
    RoomRef,
    build_invocation,
)
from bot.ports import (
    Answer,
    CardClosed,
    CardUpdated,
    CoreAPI,
    Delivery,
    Intent,
    OutboxPump,
    PrivateReply,
)
from bot.render.document import Choices, Reply, error
from bot.supervise import AdapterHealth, PlatformRefused

log = logging.getLogger(__name__)

__all__ = ["CAPABILITIES", "CoopClient", "DiscordAdapter", "ShardedCoopClient", "intents_for"]

CAPABILITIES = frozenset({CAP_BUTTONS, CAP_EPHEMERAL, CAP_ATTACHMENTS})
# Discord wants an answer within 3 s; past this the adapter defers and answers later.
DEFER_AFTER_SECONDS = 2.0
SOMETHING_WRONG = "Something went wrong on our side; nothing was changed. Please try again."
DRAIN_SECONDS = 10.0
GUILDS_LISTED = 10
# Gateway close codes that no reconnect can cure: authentication failed, bad intents.
FATAL_CLOSE_CODES = frozenset({4004, 4013, 4014})


def _commands_of(source: Any) -> list[Command]:
    commands = getattr(source, "commands", source)
    if isinstance(commands, dict):
        commands = commands.values()
    return [c for c in commands if isinstance(c, Command)]


def _default_commands(core: CoreAPI | None) -> list[Command]:
    tree = getattr(core, "tree", None)
    if tree is None:
        from bot.commands.tree import build_command_tree

        tree = build_command_tree()
    return _commands_of(tree)


class DiscordAdapter:
    """Connects the core to Discord. `client` is the discord.py client; tests hand it to
    simcord, production runs it with `run(core)`."""

    platform = PLATFORM
    capabilities = CAPABILITIES

    def __init__(
        self,
        settings: DiscordSettings,
        *,
        core: CoreAPI | None = None,
        commands: Iterable[Command] | None = None,
        poll_seconds: float = 2.0,
        sharded: bool = False,
        shard_count: int | None = None,
        shard_ids: Sequence[int] = (),
        sync_commands: bool = True,
        defer_after: float = DEFER_AFTER_SECONDS,
        role_page_size: int = DEFAULT_PAGE_SIZE,
        connector: Any = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.core = core
        self._commands = list(commands) if commands is not None else None
        self._poll_seconds = poll_seconds
        self._sync_commands = sync_commands
        self._pump: OutboxPump | None = None
        # discord.py's own timer runs the core's rounds: it stops with the client.
        self._timer: tasks.Loop[Any] | None = None
        options: dict[str, Any] = {}
        if settings.application_id is not None:
            options["application_id"] = settings.application_id
        if connector is not None:  # an aiohttp connector (tests reach a loopback API)
            options["connector"] = connector
        self.client: CoopClient | ShardedCoopClient
        if sharded or shard_ids:
            self.client = ShardedCoopClient(
                self, shard_count=shard_count, shard_ids=shard_ids, **options
            )
        else:
            self.client = CoopClient(self, **options)
        self.role_sync = RoleSync(settings, self.client, self._core, page_size=role_page_size)
        self.outgoing = Outgoing(self.client, self._core)
        self.reads = Reads(self.client, self._core)
        self.live = LiveCards(self.outgoing, self._core, clock or SystemClock())
        self._joined: CoreAPI | None = None  # the core whose hub `live` hears changes from
        self.turns = Turns(self._core, defer_after)
        # The core lets a steward turn role sync on only where the platform does sync roles.
        self.capabilities = CAPABILITIES | (
            {CAP_ROLE_SYNC} if self.role_sync.enabled else frozenset()
        )

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> DiscordAdapter:
        """The adapter `coopbot run` starts when `[discord]` has a token."""
        section = settings.discord
        # `sharded` / `shard_count` are read only if the settings define them, so the
        # adapter needs no change when `[discord] sharded = true` is added to the config.
        return cls(
            section,
            poll_seconds=settings.outbox_poll_seconds,
            sharded=section.sharded,
            shard_count=section.shard_count,
            shard_ids=section.shard_ids,
            clock=clock,
        )

    # ------------------------------------------------------------------ lifecycle

    def attach(self, core: CoreAPI) -> None:
        if core is not self.core:
            self._pump = None
            if self._joined is not None:
                # The live cards follow the new core once connected (`ready`).
                self._joined.live_cards.leave(self.live)
                self._joined = None
        self.core = core

    def _outbox(self) -> OutboxPump:
        """The core's drain loop for Discord, sending through `outgoing.send_delivery`."""
        if self._pump is None:
            self._pump = self._core().pump(
                PLATFORM, self.outgoing.send_delivery, every=self._poll_seconds
            )
        return self._pump

    def _core(self) -> CoreAPI:
        if self.core is None:
            raise RuntimeError("DiscordAdapter used before a core was attached")
        return self.core

    async def run(self, core: CoreAPI) -> None:
        self.attach(core)
        try:
            async with self.client:
                await self.client.start(self.settings.token)
        except discord.LoginFailure as exc:
            raise PlatformRefused(f"{refused_token(exc)}; {TOKEN_HINT}") from exc
        except discord.PrivilegedIntentsRequired as exc:
            raise PlatformRefused(
                f"Discord refused the Server Members intent; {INTENT_HINT}"
            ) from exc
        except discord.ConnectionClosed as exc:
            if exc.code in FATAL_CLOSE_CODES:
                raise PlatformRefused(f"Discord closed the gateway ({exc}); {TOKEN_HINT}") from exc
            raise

    async def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._joined is not None:
            self._joined.live_cards.leave(self.live)
            self._joined = None
        self.role_sync.cancel()
        if self.core is not None:
            # Stopping (SIGTERM): what is pending goes out before the client closes.
            connected = self.client.is_ready() and not self.client.is_closed()
            await self._outbox().stop(DRAIN_SECONDS if connected else 0.0)
        await self.client.close()

    def health(self) -> AdapterHealth:
        return AdapterHealth(connected=self.client.is_ready() and not self.client.is_closed())

    async def setup(self, client: discord.Client, tree: app_commands.CommandTree[Any]) -> None:
        """Register the persistent controls and the slash commands, then sync them."""
        client.add_dynamic_items(*DYNAMIC_ITEMS)
        if self._commands is None:
            self._commands = _default_commands(self.core)
        for command in build_app_commands(self._commands, self):
            tree.add_command(command)
        if not self._sync_commands:
            return
        if self.settings.guild_ids:
            # Per-guild commands appear at once; global ones can take an hour to spread.
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                tree.copy_global_to(guild=guild)
                await tree.sync(guild=guild)
        else:
            await tree.sync()

    def ready(self) -> None:
        guilds = sorted(self.client.guilds, key=lambda guild: guild.id)
        listed = ", ".join(f"{g.name} ({g.id})" for g in guilds[:GUILDS_LISTED])
        more = f" and {len(guilds) - GUILDS_LISTED} more" if len(guilds) > GUILDS_LISTED else ""
        log.info(
            "Discord: connected as %s (id %s) in %d server(s): %s%s",
            self.client.user,
            self.client.user.id if self.client.user else "?",
            len(guilds),
            listed,
            more,
        )
        # Roles may have changed while the bot was away (discord.py fires this again
        # after a reconnect that could not resume, which may also have missed changes).
        self.role_sync.request_all()
        if self.core is not None and self._joined is None:
            # The live cards follow every vote from now on, on any platform, in any process.
            self.core.live_cards.join(self.live)
            self._joined = self.core
        if self._timer is None:
            self._timer = tasks.loop(seconds=self._poll_seconds)(self._tick)
        if not self._timer.is_running():
            self._timer.start()

    async def on_tree_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        name = interaction.command.qualified_name if interaction.command else "?"
        # The error's message may quote what the member typed (a secret choice).
        log_failure(log, error, "slash command %s failed in %s", name, interaction.channel_id)
        if not interaction.response.is_done():
            await interaction.response.send_message(SOMETHING_WRONG, ephemeral=True)

    # ---------------------------------------------------------------- interactions

    def _invocation(
        self,
        interaction: discord.Interaction[Any],
        text: str,
        mentioned: dict[str, str] | None = None,
        message_id: str | None = None,
    ) -> Invocation:
        user = interaction.user
        is_admin = isinstance(user, discord.Member) and user.guild_permissions.manage_guild
        return build_invocation(
            RoomRef(PLATFORM, str(room_channel_id(interaction))),
            str(user.id),
            text,
            message_id or str(interaction.id),
            display_name=user.display_name,
            is_room_admin=is_admin,
            capabilities=self.capabilities,
            mentioned=mentioned,
        )

    async def run_slash(self, interaction: discord.Interaction[Any], call: SlashCall) -> None:
        answer = InteractionAnswer(interaction)
        if call.error is not None:
            await self._answer(answer, [Answer(error(call.error.message, call.error.hint))])
            return

        async def respond(answers: Sequence[Answer]) -> None:
            await self._answer(answer, answers, public=call.public)
            # The core says when a command bound this channel or changed what its roles
            # may do: the roles are synced at once.
            if interaction.guild_id is not None and any(a.binding_changed for a in answers):
                self.role_sync.request(interaction.guild_id)

        invocation = self._invocation(interaction, call.text, dict(call.mentioned))
        await self.turns.run(answer, invocation, respond)

    async def cast_vote(
        self, interaction: discord.Interaction[Any], number: int, choice: str, reason: str = ""
    ) -> None:
        """A button, menu or form voted: the same `vote` command as `/vote`."""
        answer = InteractionAnswer(interaction)
        values = {"id": str(number), "choice": choice, "reason": reason}
        try:
            text = slash_text(self._command("vote"), values)
        except UserError as exc:
            await self._answer(answer, [Answer(error(exc.message, exc.hint))])
            return

        async def respond(answers: Sequence[Answer]) -> None:
            await self._answer(answer, answers)

        try:
            await self.turns.run(answer, self._invocation(interaction, text), respond)
        except Exception as exc:
            # Not discord.py's own report: it names the control (a choice's label).
            log_failure(
                log, exc, "a vote by control on #%s failed in %s", number, interaction.channel_id
            )
            if not interaction.response.is_done():
                await interaction.response.send_message(SOMETHING_WRONG, ephemeral=True)

    def _command(self, name: str) -> Command:
        commands = self._commands if self._commands is not None else _default_commands(self.core)
        found = next((c for c in commands if c.name == name), None)
        if found is None:
            raise RuntimeError(f"the command tree has no {name!r} command")
        return found

    async def suggest(
        self, interaction: discord.Interaction[Any], kind: str, prefix: str
    ) -> Sequence[tuple[int, str]]:
        room = RoomRef(PLATFORM, str(room_channel_id(interaction)))
        return await self._core().suggest(room, kind, prefix)

    async def vote_choices(
        self, interaction: discord.Interaction[Any], number: int
    ) -> Choices | None:
        room = RoomRef(PLATFORM, str(room_channel_id(interaction)))
        return await self._core().vote_choices(room, number)

    async def _answer(
        self, answer: InteractionAnswer, answers: Sequence[Answer], *, public: bool = False
    ) -> None:
        channel_id = str(answer.interaction.channel_id)
        guild_id = answer.interaction.guild_id
        actor = f"{PLATFORM}:{answer.interaction.user.id}"
        for item in answers:
            intent = item.intent
            reply = await self.reads.shown(item.reply, intent, channel_id, guild_id, public)

            async def respond(
                _: Delivery | None = None, reply: Reply = reply, intent: Intent = intent
            ) -> str | None:
                if isinstance(intent, PrivateReply) and intent.to != actor:
                    # Meant for someone else than who is answered here: only their DMs will do.
                    direct = await self.outgoing.send_direct(reply)
                    return str(direct) if direct is not None else None
                if isinstance(intent, CardUpdated | CardClosed):
                    edited = await self.outgoing.edit_cards(reply, intent.ref)
                    if edited and not isinstance(intent, CardClosed):
                        return None
                if not isinstance(intent, PrivateReply):
                    reply = await self.outgoing.threads.route(reply, intent, channel_id)
                sent = await self.outgoing.post(reply, intent, channel_id, answer.send)
                return str(sent) if sent is not None else None

            if item.delivery is None:
                await respond()
            else:
                # An answer that could not be given through the interaction (it expired,
                # Discord failed) is sent later from the outbox: in the channel, or as a
                # direct message when it is private.
                await self._core().deliver(item.delivery, respond)
        await answer.finish()

    # ---------------------------------------------------------------- outbox

    async def _tick(self) -> None:
        try:
            # Votes another process handled make cards stale too (once per window).
            await self._core().live_cards.look()
            await self.live.flush()
        except Exception:
            # The timer outlives one failed refresh: the card stays stale, tried next tick.
            log.exception("could not refresh the live cards now; will retry")
        await self._outbox().tick()

    async def deliver_pending(self) -> int:
        """Send every due outbox delivery to its channel; returns how many were sent. The
        core retries a failed send with back-off (discord.py itself waits out 429s); a
        channel that is gone or forbids the bot makes a dead letter at once."""
        return await self._outbox().round()
