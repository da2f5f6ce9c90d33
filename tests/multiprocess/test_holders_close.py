"""Closing a process's platform roles (bot.holders) on PostgreSQL: a closer cancelled
while it waits for the keep-alive to end ends cancelled (its caller's cancellation is not
swallowed)."""

from __future__ import annotations

from bot.holders import Holders, matrix_role
from tests.test_close_cancelled import cancel_while_it_closes, running_task

MATRIX = matrix_role("@coopbot:example.org")


async def test_closing_the_holders_cancelled_ends_cancelled(pg_url: str) -> None:
    holders = Holders(pg_url, "bot-a", keepalive_seconds=0.5, poll_seconds=0.1)
    try:
        assert await holders.claim(MATRIX)
        keepalive = running_task("holder-keepalive")
        closer = await cancel_while_it_closes(holders.close, keepalive)
        assert closer.cancelled(), "the closer's cancellation was swallowed"
    finally:
        await holders.close()
    assert not holders.holds(MATRIX)
