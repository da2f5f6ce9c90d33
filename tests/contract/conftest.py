"""The adapter contract suite's fixtures: `driver`, one per platform (DRIVERS), each on the
core of tests/conftest.py (SQLite, and PostgreSQL when COOPBOT_TEST_DATABASE_URL is set).
Matrix members and the bot come from tests/matrix on the session's one Synapse; Discord
is the real adapter under simcord (tests/discord)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import discord
import pytest
import simcord

from adapters.discord import DiscordAdapter
from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from tests.conftest import DATABASES
from tests.contract.drivers import Driver, NewCore
from tests.contract.drivers.console import ConsoleDriver
from tests.contract.drivers.discord import DiscordDriver
from tests.contract.drivers.matrix import MatrixDriver
from tests.discord.discord_world import Server, make_adapter
from tests.matrix.conftest import homeserver, matrix_bot, people

__all__ = ["homeserver", "matrix_bot", "people"]  # the Matrix fixtures, used here too

HERE = Path(__file__).parent
# A new adapter joins the suite with a driver and a line here.
DRIVERS = [
    pytest.param("console"),
    pytest.param("matrix", marks=pytest.mark.synapse),
    pytest.param("discord", marks=pytest.mark.simcord),
]


DRIVER_CLASSES: dict[str, type[Driver]] = {
    "console": ConsoleDriver,
    "matrix": MatrixDriver,
    "discord": DiscordDriver,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "platform_has(feature): a contract case only for drivers whose `feature` is true",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A case for a feature some platforms lack is skipped for them, with the reason, before
    any fixture runs. Matrix cases cost a real homeserver's round trips: where PostgreSQL
    is configured (CI) they run on it alone, which keeps the suite within a few minutes;
    the console and Discord cases run on every database."""
    for item in items:
        if item.path.parent != HERE:
            continue
        params = getattr(getattr(item, "callspec", None), "params", {})
        platform = params.get("driver")
        for mark in item.iter_markers("platform_has"):
            feature = mark.args[0]
            if platform in DRIVER_CLASSES and not getattr(DRIVER_CLASSES[platform], feature):
                item.add_marker(pytest.mark.skip(reason=f"{platform} has no {feature}"))
        on_synapse = item.get_closest_marker("synapse") is not None
        if on_synapse and "postgres" in DATABASES and params.get("database_url") == "sqlite":
            item.add_marker(pytest.mark.skip(reason="Synapse cases here run on PostgreSQL"))


@pytest.fixture
def discord_adapter(core: Core) -> DiscordAdapter:
    made: DiscordAdapter = make_adapter(core)
    return made


@pytest.fixture
def simcord_bot(discord_adapter: DiscordAdapter) -> discord.Client:
    return discord_adapter.client


@pytest.fixture
def discord_server(simcord_env: simcord.Env) -> Server:
    guild = simcord_env.create_guild("Riverside")
    channel = guild.create_text_channel("general")
    admins = guild.create_role("Admins", permissions=discord.Permissions(manage_guild=True))
    return Server(simcord_env, guild, channel, admins)


@pytest.fixture
async def new_core(settings: Settings, clock: ManualClock) -> AsyncIterator[NewCore]:
    """`await new_core()`: the core of a restarted process (same database, same clock);
    closed after the driver's adapters have stopped."""
    made: list[Core] = []

    async def make() -> Core:
        made.append(await create_core(settings, clock))
        return made[-1]

    yield make
    for core in made:
        await core.close()


@pytest.fixture(params=DRIVERS)
def driver(request: pytest.FixtureRequest, core: Core, new_core: NewCore, tmp_path: Path) -> Driver:
    """The members of one co-op room on the platform named by the parameter."""
    if request.param == "console":
        return ConsoleDriver(core, tmp_path / "attachments")
    if request.param == "matrix":
        people = request.getfixturevalue("people")
        return MatrixDriver(core, people, request.getfixturevalue("matrix_bot"))
    server = request.getfixturevalue("discord_server")
    return DiscordDriver(server, request.getfixturevalue("discord_adapter"))
