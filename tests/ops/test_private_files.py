"""Files that hold secrets are the bot user's alone, whatever the umask: the database and
its -wal/-shm, the Matrix store, the console's attachments."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.matrix.state import AdapterState, Session
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runner import running_core
from tests.console.conftest import console_env, coopbot_command
from tests.support import setup_coop


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.mark.usefixtures("open_umask")
async def test_a_new_database_and_its_wal_are_private(tmp_path: Path, clock: ManualClock) -> None:
    live = tmp_path / "coopbot.db"
    settings = load_settings(None, database_url=f"sqlite+aiosqlite:///{live}")
    async with running_core(settings, clock) as core:
        await setup_coop(core)
        files = [p for p in sorted(tmp_path.glob("coopbot.db*"))]  # noqa: ASYNC240
        assert {p.name for p in files} >= {"coopbot.db", "coopbot.db-wal", "coopbot.db-shm"}
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}


@pytest.mark.usefixtures("open_umask")
async def test_an_existing_readable_database_is_made_private(
    tmp_path: Path, clock: ManualClock
) -> None:
    live = tmp_path / "coopbot.db"
    settings = load_settings(None, database_url=f"sqlite+aiosqlite:///{live}")
    async with running_core(settings, clock):
        pass
    live.chmod(0o644)
    async with running_core(settings, clock):
        assert _mode(live) == 0o600


@pytest.mark.usefixtures("open_umask")
def test_the_matrix_store_is_private(tmp_path: Path) -> None:
    state = AdapterState(tmp_path / "matrix-store")
    state.prepare()
    state.save_session(Session("@bot:x", "DEV", "syt_secret"))
    state.save_sync_token("s1")
    assert _mode(tmp_path / "matrix-store") == 0o700
    assert _mode(tmp_path / "matrix-store" / "session.json") == 0o600


def test_console_attachments_are_private_whatever_the_umask(tmp_path: Path) -> None:
    done = subprocess.run(
        [*coopbot_command(), "console", "--db", f"sqlite+aiosqlite:///{tmp_path}/c.db"],
        input="!log 2 gate\n!export contributions\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=console_env(COOPBOT_ATTACHMENTS_DIR=str(tmp_path / "att")),
        timeout=120,
        preexec_fn=lambda: os.umask(0o022),
    )
    assert done.returncode == 0, done.stderr
    saved = list((tmp_path / "att").iterdir())
    assert saved and _mode(tmp_path / "att") == 0o700
    assert all(_mode(path) == 0o600 for path in saved)
    assert _mode(tmp_path / "c.db") == 0o600


def test_gitignore_covers_every_default_state_path() -> None:
    root = Path(__file__).resolve().parents[2]
    settings = load_settings(None)
    ignored = [
        "coopbot.db",
        "coopbot.db-wal",
        "coopbot.db-shm",
        "coopbot.db-lock",
        "coopbot.db.before-restore-20260101T000000Z",
        settings.matrix.store_path.removeprefix("./") + "/session.json",
        settings.attachments_dir.removeprefix("./") + "/chart.png",
        "config.toml",
    ]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", *ignored],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert set(done.stdout.split()) == set(ignored), done.stdout
