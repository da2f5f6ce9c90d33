"""Autocomplete: decisions and tasks a member is likely to mean by what they typed."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Decision, Task
from bot.domain.vocabulary import ACTIVE_TASK, LIVE


async def suggestions(
    session: AsyncSession, coop_id: int, kind: str, prefix: str, limit: int = 25
) -> Sequence[tuple[int, str]]:
    """(number, title) of open decisions or open/claimed tasks matching `prefix`, newest
    first: the number starts with it, or the title contains it (any case)."""
    text = prefix.strip().lstrip("#").lower()
    model: type[Decision] | type[Task] = Decision if kind == "decision" else Task
    states = LIVE if kind == "decision" else ACTIVE_TASK
    query = select(model.number, model.title).where(
        model.coop_id == coop_id, model.status.in_(states)
    )
    if text:
        query = query.where(
            or_(
                cast(model.number, String).like(f"{text}%"),
                func.lower(model.title).contains(text, autoescape=True),
            )
        )
    rows = await session.execute(query.order_by(model.number.desc()).limit(limit))
    return [(number, title) for number, title in rows.all()]
