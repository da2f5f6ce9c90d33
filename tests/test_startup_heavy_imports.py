"""Starting the core on SQLite (bot.app, its runner and CLI, create_core) imports neither
chat SDK, nor the PostgreSQL dialect, nor what only some commands or operator steps need:
each of those costs megabytes of memory in every bot process (issue 11: ≤ 70 MB after
imports)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# Module → why it stays out of a console bot on SQLite.
HEAVY = {
    "discord": "the Discord adapter imports it",
    "nio": "the Matrix adapter imports it",
    "aiohttp": "the HTTP endpoint and the chat SDKs import it",
    "matplotlib": "the first chart imports it",
    "numpy": "the first chart imports it",
    "alembic": "a migration imports it",
    "asyncpg": "a PostgreSQL URL imports it",
    "sqlalchemy.dialects.postgresql": "a PostgreSQL URL imports it (bot.db.upsert)",
    "rich": "nothing needs it",
    "jsonschema": "the Matrix SDK imports it",
    "prometheus_client": "GET /metrics imports it ([http] listen)",
}

_START = """
import asyncio, sys
import bot.app, bot.runner, bot.cli
from bot.app import create_core
from bot.clock import SystemClock
from bot.config import load_settings

async def main() -> None:
    settings = load_settings(None, database_url=sys.argv[1])
    core = await create_core(settings, SystemClock())
    await core.close()

asyncio.run(main())
print(" ".join(sorted(sys.modules)))
"""


def _modules_after(code: str, *args: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    ).stdout
    return set(out.split())


def _heavy_in(loaded: set[str]) -> dict[str, str]:
    return {
        name: why
        for name, why in HEAVY.items()
        if any(m == name or m.startswith(name + ".") for m in loaded)
    }


def test_importing_the_bot_imports_no_heavy_module() -> None:
    code = "import sys, bot.app, bot.runner, bot.cli; print(' '.join(sorted(sys.modules)))"
    assert _heavy_in(_modules_after(code)) == {}


def test_starting_the_core_on_sqlite_imports_no_heavy_module(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/coopbot.db"
    _modules_after(_START, url)  # creates and migrates the database (Alembic runs)
    assert _heavy_in(_modules_after(_START, url)) == {}
