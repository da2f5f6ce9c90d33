"""A careless operator gets one line saying what failed and what to do, a non-zero exit,
and no traceback (unless --debug); read-only commands never create a database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.console.conftest import console_env, coopbot_command

UNREACHABLE_PG = "postgresql+asyncpg://coopbot:hunter2-secret@127.0.0.1:1/coopbot"


def _cli(
    *args: str, cwd: Path, stdin: str | None = "", **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*coopbot_command(), *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=console_env(**env),
        timeout=120,
    )


def _one_failure(done: subprocess.CompletedProcess[str]) -> str:
    """The failure: one `coopbot:` line and at most one hint line after it (log lines
    of a starting bot may come before)."""
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    failure = [i for i, line in enumerate(lines) if line.startswith("coopbot: ")]
    assert len(failure) == 1 and len(lines) - failure[0] <= 2, done.stderr
    return "\n".join(lines[failure[0] :])


@pytest.mark.parametrize("command", [["export", "votes"], ["db", "current"], ["db", "upgrade"]])
def test_an_unreachable_database_is_one_line_naming_it_without_the_password(
    tmp_path: Path, command: list[str]
) -> None:
    done = _cli(*command, "--db", UNREACHABLE_PG, cwd=tmp_path)
    text = _one_failure(done)
    assert "127.0.0.1:1" in text and "check database_url" in text
    assert "hunter2-secret" not in text


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    done = _cli("--debug", "db", "current", "--db", UNREACHABLE_PG, cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_a_database_without_the_schema_says_to_run_db_upgrade(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    url = f"sqlite+aiosqlite:///{empty}"
    assert "coopbot db upgrade" in _one_failure(_cli("export", "votes", "--db", url, cwd=tmp_path))
    current = _cli("db", "current", "--db", url, cwd=tmp_path)
    assert current.returncode == 1 and "no coopbot schema" in current.stdout


@pytest.mark.parametrize("command", [["export", "votes"], ["db", "current"], ["check"]])
def test_read_only_commands_never_create_a_database(tmp_path: Path, command: list[str]) -> None:
    typo = tmp_path / "cooopbot.db"
    done = _cli(*command, "--db", f"sqlite+aiosqlite:///{typo}", cwd=tmp_path)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert str(typo) in done.stdout + done.stderr
    assert not typo.exists()


def test_run_creates_a_database_only_where_its_folder_exists(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "coopbot.db"
    config = tmp_path / "c.toml"
    config.write_text(
        '[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@b:x"\n'
        'access_token = "syt_abcdefgh"\n'
    )
    done = _cli("run", "--config", str(config), "--db", f"sqlite:///{missing}", cwd=tmp_path)
    assert "no folder" in _one_failure(done) and not missing.parent.exists()


def test_run_without_a_platform_and_without_a_terminal_refuses_the_console(tmp_path: Path) -> None:
    done = _cli("run", "--db", f"sqlite+aiosqlite:///{tmp_path}/c.db", cwd=tmp_path, stdin="")
    assert done.returncode == 2
    assert "coopbot console" in _one_failure(done) and "not a terminal" in done.stderr


def test_every_settings_problem_at_once_with_did_you_mean(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        'log_level = "loud"\ndatabase_url = "mysql://x/y"\n'
        '[matrix]\nhomeservr = "https://m.example.org"\n[defaults]\nsummary_cron = "0 0 30 2 *"\n'
    )
    done = _cli("check", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 4, done.stderr
    assert any(
        "matrix.homeservr" in line and "did you mean matrix.homeserver" in line for line in lines
    )
    assert any("log_level" in line and "'loud'" in line for line in lines)
    assert any("database_url" in line and "mysql" in line for line in lines)
    assert any("summary_cron" in line and "day-of-month" in line for line in lines)


def test_lists_from_the_environment_take_commas(tmp_path: Path) -> None:
    done = _cli(
        "check",
        "--db",
        f"sqlite+aiosqlite:///{tmp_path}/none.db",
        cwd=tmp_path,
        COOPBOT_DISCORD__GUILD_IDS="1,2",
        COOPBOT_MATRIX__ALLOWED_INVITERS="@a:x, *:example.org",
        COOPBOT_LOG_LEVEL="info",
    )
    assert "Traceback" not in done.stderr and "COOPBOT" not in done.stderr, done.stderr
    code = (
        "from bot.config import load_settings; s = load_settings(); "
        "print(s.discord.guild_ids, s.matrix.allowed_inviters, s.log_level)"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=console_env(
            COOPBOT_DISCORD__GUILD_IDS="1,2",
            COOPBOT_MATRIX__ALLOWED_INVITERS="@a:x, *:example.org",
            COOPBOT_LOG_LEVEL="info",
        ),
        timeout=60,
    )
    assert shown.stdout.strip() == "[1, 2] ['@a:x', '*:example.org'] INFO", shown.stderr


def test_a_missing_extra_names_the_pip_command(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(
        f'database_url = "sqlite+aiosqlite:///{tmp_path}/c.db"\n[discord]\ntoken = "abcdefgh"\n'
    )
    # As if discord.py were not installed: importing it fails as it would then.
    code = (
        "import sys; sys.modules['discord'] = None; from bot.cli import main; "
        f"sys.argv = ['coopbot', 'run', '--config', {str(config)!r}]; main()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=console_env(),
        timeout=60,
    )
    assert done.returncode == 2
    assert "pip install 'coopbot[discord]'" in _one_failure(done)


def test_check_passes_when_the_bot_would_run(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/c.db"
    assert _cli("db", "upgrade", "--db", url, cwd=tmp_path).returncode == 0
    done = _cli("check", "--db", url, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ok    database:" in done.stdout and "(up to date)" in done.stdout
    assert "warn  platforms:" in done.stdout  # run would need a terminal


def test_run_on_a_database_without_its_migrations_stops_with_one_line(
    tmp_path: Path, database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite is migrated by the bot itself at start")
    config = tmp_path / "c.toml"
    config.write_text(
        '[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@b:x"\n'
        'access_token = "syt_abcdefgh"\n'
    )
    done = _cli("run", "--config", str(config), "--db", database_url, cwd=tmp_path)
    text = _one_failure(done)
    assert "no coopbot schema" in text and "coopbot db upgrade" in text
