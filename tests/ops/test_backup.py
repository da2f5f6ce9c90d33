"""Backups while the bot works: a copy taken during a burst of votes is whole and holds
every acknowledged vote; restore refuses while a bot runs on the database."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.backup import backup, restore
from bot.db.models import Member, Vote
from bot.operator_errors import OperatorError
from bot.runner import running_core
from tests.console.conftest import console_env, coopbot_command
from tests.support import invocation, say, setup_coop

VOTERS = tuple(f"m{i:02d}" for i in range(40))


def _voters_in(path: Path) -> set[str]:
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        rows = connection.execute(
            "SELECT members.name FROM votes JOIN members ON members.id = votes.member_id"
        ).fetchall()
    finally:
        connection.close()
    return {name for (name,) in rows}


async def test_a_backup_during_a_burst_of_votes_restores_whole(
    tmp_path: Path, clock: ManualClock
) -> None:
    live = tmp_path / "coopbot.db"
    settings = load_settings(None, database_url=f"sqlite+aiosqlite:///{live}")
    acknowledged: list[str] = []
    async with running_core(settings, clock) as core:
        await setup_coop(core, members=VOTERS)
        assert "Proposal #1" in await say(core, "alice", "!propose Buy a printer closes:3d")

        ten_in = asyncio.Event()

        async def vote(name: str) -> None:
            replies = await core.handle(invocation(name, "!vote 1 yes"))
            assert replies and replies[0].kind != "error"
            acknowledged.append(name)
            if len(acknowledged) >= 10:
                ten_in.set()

        burst = [asyncio.create_task(vote(name)) for name in VOTERS]
        await ten_in.wait()
        before = set(acknowledged)
        during = tmp_path / "during.db"
        info = await asyncio.to_thread(backup, live, during)
        await asyncio.gather(*burst)
        after = tmp_path / "after.db"
        await asyncio.to_thread(backup, live, after)
        with pytest.raises(OperatorError, match="the bot is running"):
            restore(during, live)

    assert info.revision is not None and stat.S_IMODE(during.stat().st_mode) == 0o600
    in_backup = _voters_in(during)
    assert before <= in_backup <= set(VOTERS)  # every vote acknowledged before it began
    assert _voters_in(after) == set(VOTERS)

    kept = restore(during, live)  # the bot has stopped now
    assert kept is not None and _voters_in(kept) == set(VOTERS)
    assert _voters_in(live) == in_backup
    # The restored database runs.
    async with running_core(settings, clock) as core, core.sessions() as session:
        names = await session.scalars(select(Member.name).join(Vote, Vote.member_id == Member.id))
        assert set(names.all()) == in_backup


def test_backup_and_restore_from_the_command_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/c.db"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*coopbot_command(), *args, "--db", url],
            input="!member add @bob\n",
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=console_env(),
            timeout=120,
        )

    assert cli("console").returncode == 0
    made = cli("db", "backup", str(tmp_path / "b.db"))
    assert made.returncode == 0 and "checked" in made.stdout, made.stderr
    again = cli("db", "backup", str(tmp_path / "b.db"))
    assert again.returncode == 1 and "exists already" in again.stderr
    missing = cli("db", "restore", str(tmp_path / "typo.db"))
    assert missing.returncode == 1 and "no SQLite database" in missing.stderr
    assert not (tmp_path / "typo.db").exists()
    done = cli("db", "restore", str(tmp_path / "b.db"))
    assert done.returncode == 0 and "kept as" in done.stdout, done.stderr
    current = cli("db", "current")
    assert current.returncode == 0 and "up to date" in current.stdout


def test_postgresql_backups_are_pg_dump(tmp_path: Path) -> None:
    done = subprocess.run(
        [*coopbot_command(), "db", "backup", str(tmp_path / "b"), "--db", "postgresql://u@h/db"],
        capture_output=True,
        text=True,
        env=console_env(),
        timeout=60,
    )
    assert done.returncode == 2 and "pg_dump" in done.stderr and "Traceback" not in done.stderr
