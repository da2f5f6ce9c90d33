"""Starting the core on SQLite (bot.app, its runner, CLI and pre-flight checks, create_core)
imports neither chat SDK, nor the PostgreSQL dialect, nor what only some commands or
operator steps need (matplotlib, which only the weekly chart's child process imports;
Alembic for a schema change): each of those costs megabytes of memory in every bot process
(issue 11: ≤ 70 MB after imports).
A Matrix or Discord bot imports its own SDK, and still none of the others. Each check is a
fresh process, read through sys.modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from bot.db import revisions
from bot.db.migrate import alembic_config

# Module → why it stays out of a console bot on SQLite.
HEAVY = {
    "discord": "the Discord adapter imports it",
    "nio": "the Matrix adapter imports it",
    "aiohttp": "the HTTP endpoint and the chat SDKs import it",
    "matplotlib": "only the chart child imports it",
    "numpy": "only the chart child imports it",
    "PIL": "only the chart child imports it (matplotlib writes the PNG through Pillow)",
    "pyparsing": "only the chart child imports it (matplotlib's font and mathtext parsers)",
    "mpl_toolkits": "only the chart child imports it (matplotlib registers its 3-D axes)",
    "alembic": "a migration imports it",
    "asyncpg": "a PostgreSQL URL imports it",
    "sqlalchemy.dialects.postgresql": "a PostgreSQL URL imports it (bot.db.upsert)",
    "rich": "nothing needs it",
    "jsonschema": "the Matrix SDK imports it",
    "prometheus_client": "GET /metrics imports it ([http] listen)",
}
# What each chat SDK brings along (a Matrix or a Discord bot imports these at start).
SDK_BRINGS = {
    "matrix": {"nio", "aiohttp", "jsonschema"},
    "discord": {"discord", "aiohttp"},
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

# What `coopbot run` imports for a configured platform before its supervisor starts it:
# the platform by name (its entry point) and its pre-flight checks.
_PLATFORM = """
import sys
import bot.app, bot.runner, bot.cli
from bot.platforms import load
load(sys.argv[1])
__import__(f"adapters.{sys.argv[1]}.preflight")
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
    # bot.services.summaries has the weekly chart drawn in a child process (matplotlib and
    # numpy are never imported here); bot.preflight (`coopbot check`) leaves Alembic for a
    # migration.
    code = (
        "import sys, bot.app, bot.runner, bot.cli, bot.preflight, bot.services.summaries; "
        "print(' '.join(sorted(sys.modules)))"
    )
    assert _heavy_in(_modules_after(code)) == {}


def test_starting_the_core_on_sqlite_imports_no_heavy_module(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/coopbot.db"
    first = _modules_after(_START, url)  # creates and migrates the database
    assert "alembic" in first  # the migrations did run, through Alembic
    # On an up-to-date database: no Alembic, no matplotlib, nothing else heavy.
    assert _heavy_in(_modules_after(_START, url)) == {}


@pytest.mark.parametrize("kind", ["matrix", "discord"])
def test_a_platform_bot_imports_nothing_heavy_beyond_its_sdk(kind: str) -> None:
    loaded = _modules_after(_PLATFORM, kind)
    heavy = _heavy_in(loaded)
    assert SDK_BRINGS[kind] <= set(heavy)  # it did load the platform
    assert {name: why for name, why in heavy.items() if name not in SDK_BRINGS[kind]} == {}


def test_the_revisions_read_from_the_files_are_alembics() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert revisions.heads() == list(script.get_heads())
    assert revisions.head_revision() == script.get_current_head()
    assert set(revisions.revisions()) == {r.revision for r in script.walk_revisions()}
    assert revisions.known_revision("0001") and not revisions.known_revision("9999")
