"""Seeds a database: the app's own migrations (Alembic upgrade head), then the base rows in
bulk, then the derived rows (bench.seed.derive); reports the time of each stage."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.seed.derive import STATEMENTS, spelled
from bench.seed.load import Loader, PostgresLoader, SqliteLoader
from bench.seed.plan import Plan
from bench.seed.rows import Seeder
from bot.db.engine import is_sqlite, make_engine
from bot.db.migrate import upgrade
from bot.files import sqlite_path


@dataclass
class SeedReport:
    plan: Plan
    seconds: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)


async def migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _loader(url: str) -> Loader:
    if is_sqlite(url):
        path = sqlite_path(url)
        assert path is not None, url
        return SqliteLoader(str(path))
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
    return await PostgresLoader.connect(dsn)


async def seed(url: str, fraction: float) -> SeedReport:
    """Populate the empty database at `url` with one co-op at `fraction` of the goal size."""
    report = SeedReport(Plan.at(fraction))
    began = time.perf_counter()

    def stage(name: str, since: float) -> float:
        now = time.perf_counter()
        report.stages[name] = now - since
        return now

    mark = began
    if is_sqlite(url):
        path = sqlite_path(url)
        if path is not None:
            path.touch(mode=0o600)
    await migrate(url)
    mark = stage("schema (alembic upgrade head)", mark)
    loader = await _loader(url)
    for table in Seeder(report.plan, loader.codec).tables():
        report.rows[table.name] = await loader.load(table)
        mark = stage(f"load {table.name}", mark)
    for name, sql in STATEMENTS:
        await loader.run(spelled(sql, loader.dialect))
        mark = stage(f"derive {name}", mark)
    await loader.finish()
    stage("finish (checkpoint / sequences, ANALYZE)", mark)
    report.seconds = time.perf_counter() - began
    return report
