"""Fixtures for Matrix tests: members and the bot itself, on the one real Synapse of the
session (`synapse_server`, tests/conftest.py); and a check that no test leaves an HTTP
client session unclosed."""

from __future__ import annotations

import asyncio
import gc
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix import MatrixAdapter
from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import MatrixSettings, Settings
from bot.ports import CoreAPI
from tests.matrix.matrix_people import Person
from tests.matrix.synapse_server import Synapse

# What aiohttp has asyncio report (its exception handler logs it) when a ClientSession or its
# connector is collected unclosed: a Matrix client whose close was skipped.
UNCLOSED = ("Unclosed client session", "Unclosed connector")


class _Unclosed(logging.Handler):
    """Keeps the first line of every unclosed-session report asyncio logs."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(UNCLOSED):
            self.reports.append(message.splitlines()[0])


@pytest.fixture(autouse=True)
def _every_http_session_is_closed() -> Iterator[None]:
    """Fails a test after which an aiohttp client session (a nio client's) or connector was
    left unclosed: checked once every fixture has closed what it made and garbage is
    collected (aiohttp reports it only when the session is collected)."""
    unclosed = _Unclosed()
    asyncio_log = logging.getLogger("asyncio")
    asyncio_log.addHandler(unclosed)
    try:
        yield
        gc.collect()
    finally:
        asyncio_log.removeHandler(unclosed)
    if unclosed.reports:
        pytest.fail("left unclosed: " + "; ".join(unclosed.reports), pytrace=False)


@pytest.fixture
def homeserver(synapse_server: Synapse) -> Synapse:
    # A test that stops Synapse restarts it, but a failed one may not have: start it here.
    synapse_server.start()
    return synapse_server


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


PersonFactory = Callable[..., Awaitable[Person]]


@pytest.fixture
async def people(homeserver: Synapse, tmp_path: Path) -> AsyncIterator[PersonFactory]:
    """`await people("alice")` registers a fresh account and logs a client in;
    `await people("alice", e2e=True)` gives the client a crypto store."""
    made: list[Person] = []

    async def make(name: str, e2e: bool = False) -> Person:
        localpart = unique(name)
        user_id = await asyncio.to_thread(homeserver.register, localpart, "secret-" + name)
        store = tmp_path / "clients" / localpart if e2e else None
        person = await Person.login(homeserver.url, user_id, "secret-" + name, store)
        made.append(person)
        return person

    yield make
    for person in made:
        await person.close()


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    """The real core over a fresh SQLite file; time stands still unless a test moves it."""
    settings = Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/coop.db")
    built = await create_core(settings, ManualClock())
    yield built
    await built.close()


class RunningBot:
    """The real adapter, run as a task in the test's event loop; `restart()` stops it and
    starts a new adapter over the same store, as a process restart would."""

    def __init__(self, settings: MatrixSettings, core: CoreAPI, **options: Any) -> None:
        self.settings = settings
        self.core = core
        self.options = {"outbox_poll_seconds": 0.2, "max_retry_wait": 1.0, **options}
        self.adapter: MatrixAdapter | None = None
        self.task: asyncio.Task[None] | None = None

    @property
    def user_id(self) -> str:
        return self.settings.user_id

    async def start(self) -> None:
        self.adapter = MatrixAdapter(self.settings, **self.options)
        self.task = asyncio.create_task(self.adapter.run(self.core))
        ready = asyncio.ensure_future(self.adapter.ready.wait())
        await asyncio.wait({ready, self.task}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
        if self.task.done():
            self.task.result()  # it crashed: show why
        assert ready.done(), "the bot did not finish its first sync"

    async def stop(self) -> None:
        if self.adapter is not None and self.task is not None:
            await self.adapter.stop()
            await asyncio.wait_for(self.task, timeout=30)
        self.adapter = None
        self.task = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


BotFactory = Callable[..., Awaitable[RunningBot]]


@pytest.fixture
async def matrix_bot(homeserver: Synapse, tmp_path: Path) -> AsyncIterator[BotFactory]:
    """`await matrix_bot(core)` registers a bot account and starts the adapter for it;
    with `start=False` the account exists but the adapter has not run yet; other keywords
    go to MatrixAdapter."""
    bots: list[RunningBot] = []

    async def make(
        core: CoreAPI, start: bool = True, allowed_inviters: tuple[str, ...] = (), **options: Any
    ) -> RunningBot:
        localpart = unique("coopbot")
        user_id = await asyncio.to_thread(homeserver.register, localpart, "bot-password")
        settings = MatrixSettings(
            homeserver=homeserver.url,
            user_id=user_id,
            password="bot-password",
            store_path=str(tmp_path / "bot-store" / localpart),
            allowed_inviters=list(allowed_inviters),
        )
        bot = RunningBot(settings, core, **options)
        bots.append(bot)
        if start:
            await bot.start()
        return bot

    yield make
    for bot in bots:
        await bot.stop()
