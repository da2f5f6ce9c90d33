"""The Alembic migrations build exactly the schema the models describe, and keep data."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from bot.config import Settings
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.db.models import Base


async def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)

        def diff(connection: object) -> list[object]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_upgrading_again_keeps_existing_rows(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO coops (name, created_at, settings, next_decision_number, "
                    "next_task_number) VALUES ('Kept', '2026-11-16 09:00:00', '{}', 1, 1)"
                )
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            names = (await connection.execute(text("SELECT name FROM coops"))).scalars().all()
        assert names == ["Kept"]
    finally:
        await engine.dispose()
