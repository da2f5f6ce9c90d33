"""Matrix support: the adapter that connects a homeserver's rooms to the core."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.matrix.adapter import MatrixAdapter, MatrixError
from bot.clock import Clock
from bot.config import Settings
from bot.ports import Finding

__all__ = ["MatrixAdapter", "MatrixError", "check", "create_adapter"]


def create_adapter(settings: Settings, clock: Clock) -> MatrixAdapter:
    """The adapter for the `[matrix]` section, as `coopbot run` starts it."""
    return MatrixAdapter(
        settings.matrix,
        prefix=settings.matrix.command_prefix,
        clock=clock,
        outbox_poll_seconds=settings.outbox_poll_seconds,
    )


async def check(settings: Settings, rooms: Sequence[str], **options: Any) -> Sequence[Finding]:
    """The pre-flight checks of `[matrix]` (`coopbot check`, and `run` before it starts)."""
    from adapters.matrix.preflight import check as check_matrix

    return await check_matrix(settings, rooms, **options)
