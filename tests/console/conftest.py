"""Runs `coopbot console` as a real subprocess, as a newcomer or a script would."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest


@dataclass
class ConsoleRun:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()


def coopbot_command() -> list[str]:
    """The installed `coopbot` script beside this interpreter (what a user runs)."""
    script = Path(sys.executable).with_name("coopbot")
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def console_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COOPBOT_")}
    env.update(extra)
    return env


@dataclass
class Console:
    workdir: Path

    @property
    def db_url(self) -> str:
        return f"sqlite+aiosqlite:///{self.workdir}/coopbot.db"

    def command(self, user: str = "alice") -> list[str]:
        return [*coopbot_command(), "console", "--db", self.db_url, "--user", user]

    def run(self, script: str, user: str = "alice", **env: str) -> ConsoleRun:
        done = subprocess.run(
            self.command(user),
            input=script,
            capture_output=True,
            text=True,
            cwd=self.workdir,
            env=console_env(**env),
            timeout=120,
        )
        return ConsoleRun(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def console(tmp_path: Path) -> Console:
    return Console(tmp_path)
