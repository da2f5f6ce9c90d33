"""The engine the core runs on: a SQLite file created and upgraded, any other database
checked to be at the schema head."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.db.engine import is_sqlite, make_engine
from bot.db.migrate import upgrade
from bot.db.optimize import optimize
from bot.db.prepare import prepare_sqlite
from bot.db.status import schema_status
from bot.operator_errors import OperatorError


async def open_engine(settings: Settings, *, read_only: bool = False) -> AsyncEngine:
    """The engine on `settings.database_url`. For running, a missing SQLite file is
    created (where its folder exists) and upgraded here; PostgreSQL is upgraded by
    `coopbot db upgrade` (one operator step, not a race between several bot processes).
    `read_only` (exports) creates and upgrades nothing, needs the schema at head and never
    takes SQLite's write lock."""
    prepare_sqlite(settings.database_url, create=not read_only)
    engine = make_engine(settings.database_url, read_only=read_only)
    try:
        if is_sqlite(settings.database_url) and not read_only:
            await upgrade(engine)
            await optimize(engine, at_start=True)
        else:
            status = await schema_status(engine)
            if not status.at_head:
                raise OperatorError(
                    f"the database is not ready: {status.describe()}",
                    "run `coopbot db upgrade` (SQLite: or start the bot once), then try again",
                )
    except BaseException:
        await engine.dispose()
        raise
    return engine
