"""Starting the bot does not import what only some commands need (matplotlib for charts)
or what only a schema change needs (Alembic, for migrations)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory

from bot.db import revisions
from bot.db.migrate import alembic_config

_START = """
import asyncio, sys
from bot.app import create_core
from bot.clock import SystemClock
from bot.config import load_settings

async def main() -> None:
    settings = load_settings(None, database_url=sys.argv[1])
    core = await create_core(settings, SystemClock())
    await core.close()

asyncio.run(main())
print(sorted(sys.modules))
"""


def _loaded(code: str, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    ).stdout


def test_importing_the_bot_leaves_matplotlib_for_the_first_chart() -> None:
    code = "import sys, bot.app, bot.cli, bot.services.summaries; print(sorted(sys.modules))"
    loaded = _loaded(code)
    assert "matplotlib" not in loaded
    assert "numpy" not in loaded


def test_importing_the_bot_and_its_runner_leaves_alembic_for_migrations() -> None:
    code = "import sys, bot.app, bot.cli, bot.runner, bot.preflight; print(sorted(sys.modules))"
    assert "'alembic" not in _loaded(code)


def test_starting_on_an_up_to_date_database_imports_no_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/coopbot.db"
    first = _loaded(_START, url)  # creates the database: the migrations run
    assert "'alembic" in first
    again = _loaded(_START, url)
    assert "'alembic" not in again
    assert "'matplotlib" not in again


def test_the_revisions_read_from_the_files_are_alembics() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert revisions.heads() == list(script.get_heads())
    assert revisions.head_revision() == script.get_current_head()
    assert set(revisions.revisions()) == {r.revision for r in script.walk_revisions()}
    assert revisions.known_revision("0001") and not revisions.known_revision("9999")
