"""Matrix support: the adapter that connects a homeserver's rooms to the core."""

from __future__ import annotations

from adapters.matrix.adapter import MatrixAdapter, MatrixError
from bot.clock import Clock
from bot.config import Settings

__all__ = ["MatrixAdapter", "MatrixError", "create_adapter"]


def create_adapter(settings: Settings, clock: Clock) -> MatrixAdapter:
    """The adapter for the `[matrix]` section, as `coopbot run` starts it."""
    return MatrixAdapter(
        settings.matrix,
        prefix=settings.matrix.command_prefix,
        clock=clock,
        outbox_poll_seconds=settings.outbox_poll_seconds,
    )
