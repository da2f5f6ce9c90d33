"""The statement that records a command's message as handled, once: the dedupe insert that
the dispatcher and the fast vote both run."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import bindparam

from bot.db import upsert
from bot.db.models import HandledMessage

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert


def handled_insert(dialect: str) -> Insert:
    """Record a message as handled unless it was: ON CONFLICT DO NOTHING, values bound
    (`platform`, `message_id`, `handled_at`)."""
    return (
        upsert.insert(dialect, HandledMessage.__table__)
        .values(
            platform=bindparam("platform"),
            message_id=bindparam("message_id"),
            handled_at=bindparam("handled_at", type_=HandledMessage.handled_at.type),
        )
        .on_conflict_do_nothing(index_elements=["platform", "message_id"])
    )
