"""The console adapter: the bot on stdin/stdout, for trying it out and for scripts."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from adapters.console.adapter import ConsoleAdapter
from bot.clock import Clock
from bot.config import Settings
from bot.ports import Finding

__all__ = ["ConsoleAdapter", "check", "create_adapter"]


def create_adapter(settings: Settings, clock: Clock) -> ConsoleAdapter:
    """The adapter `coopbot console` (or `run` at a terminal with no platform) starts."""
    del clock  # the console has no time of its own; scheduled work runs in the core
    return ConsoleAdapter(
        user=settings.console.user,
        prefix=settings.command_prefix,
        attachments_dir=Path(settings.attachments_dir),
        room=settings.console.room,
        poll_seconds=min(settings.outbox_poll_seconds, 1.0),
    )


async def check(settings: Settings, rooms: Sequence[str], **options: Any) -> Sequence[Finding]:
    """The console needs no credentials: nothing to check."""
    del settings, rooms, options
    return []
