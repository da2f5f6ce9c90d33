"""Shared fixtures: a manual clock, a database URL (SQLite, and PostgreSQL when
COOPBOT_TEST_DATABASE_URL is set), a core built on them, and the session's Synapse."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings, load_settings
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from tests import write_signals
from tests.matrix.synapse_server import Synapse

PG_ENV = "COOPBOT_TEST_DATABASE_URL"
DATABASES = ["sqlite"] + (["postgres"] if os.environ.get(PG_ENV) else [])

write_signals.install()


# simcord's settle() waits until the bot's work is done, failing after 5 s by default: a
# chart drawn in its child process or a Discord command queued in its member's lane can take
# longer than that when the machine is busy. The wait ends as soon as the work does, so a
# longer limit only changes how long a real hang takes to fail.
SIMCORD_SETTLE_SECONDS = 60.0


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        marker = item.get_closest_marker("simcord")
        if marker is not None and "settle_timeout" not in marker.kwargs:
            limit = {"settle_timeout": SIMCORD_SETTLE_SECONDS}
            item.add_marker(pytest.mark.simcord(*marker.args, **marker.kwargs, **limit), False)


@pytest.fixture(autouse=True)
def _every_due_change_is_signalled() -> Iterator[None]:
    """Fails a test in which a service wrote what is due (or a room's binding) without
    saying so to bot.write_watch (tests/write_signals.py)."""
    write_signals.take_missing()
    yield
    missing = write_signals.take_missing()
    assert not missing, missing


@pytest.fixture
def clock() -> ManualClock:
    # Monday 16 Nov 2026, 09:00 UTC.
    return ManualClock(datetime(2026, 11, 16, 9, 0, tzinfo=UTC))


def _admin_url(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


@contextlib.contextmanager
def fresh_postgres(url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of `url`, dropped afterwards."""
    import asyncio

    import asyncpg

    name = f"coopbot_{uuid.uuid4().hex[:12]}"
    dsn = _admin_url(url, "postgres").replace("postgresql+asyncpg", "postgresql")

    async def admin(sql: str) -> None:
        connection = await asyncpg.connect(dsn)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield _admin_url(url, name)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/coopbot.db"
        return
    with fresh_postgres(os.environ[PG_ENV]) as url:
        yield url


@pytest.fixture
async def settings(database_url: str, tmp_path: object) -> Settings:
    """Settings on a migrated database (PostgreSQL is upgraded here, as an operator would
    with `coopbot db upgrade`; SQLite upgrades itself)."""
    if not database_url.startswith("sqlite"):
        engine = make_engine(database_url)
        await upgrade(engine)
        await engine.dispose()
    return load_settings(None, database_url=database_url, attachments_dir=f"{tmp_path}/attachments")


@pytest.fixture
async def core(settings: Settings, clock: ManualClock) -> AsyncIterator[Core]:
    built = await create_core(settings, clock)
    try:
        yield built
    finally:
        await built.close()


@pytest.fixture(scope="session")
def synapse_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """One real Synapse for the whole session, shared by the Matrix tests and the adapter
    contract suite (tests/contract)."""
    try:
        import synapse.app.homeserver  # noqa: F401
    except ImportError as exc:  # pragma: no cover - only where Synapse is not installed
        pytest.skip(f"Synapse cannot be imported here ({exc}); install matrix-synapse")
    server = Synapse.prepare(tmp_path_factory.mktemp("synapse"))
    server.start()
    yield server
    server.stop()
