"""The command line: version, db upgrade, export, and one-line config errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.console.conftest import Console, console_env, coopbot_command


def _cli(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*coopbot_command(), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=console_env(**env),
        timeout=120,
    )


def test_version(tmp_path: Path) -> None:
    done = _cli("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == "coopbot 0.1.0"


def test_db_upgrade_creates_and_keeps_a_database(console: Console) -> None:
    done = _cli("db", "upgrade", "--db", console.db_url, cwd=console.workdir)
    assert done.returncode == 0, done.stderr
    assert "up to date" in done.stdout
    console.run("!member add @bob\n")
    again = _cli("db", "upgrade", "--db", console.db_url, cwd=console.workdir)
    assert again.returncode == 0
    assert "bob" in console.run("!member list\n").stdout  # the data survived the upgrade


def test_export_writes_csv_to_stdout(console: Console) -> None:
    console.run("!member add @bob\n!log 2.5 fixed the gate\n@bob: !log 1 newsletter\n")
    done = _cli("export", "contributions", "--db", console.db_url, cwd=console.workdir)
    assert done.returncode == 0, done.stderr
    rows = done.stdout.strip().splitlines()
    assert rows[0].startswith("id,") or "," in rows[0]
    assert len(rows) == 3
    assert any("fixed the gate" in row for row in rows)
    bad = _cli("export", "secrets", "--db", console.db_url, cwd=console.workdir)
    assert bad.returncode == 2
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_an_invalid_config_is_one_line_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[defaults]\ntimezone = "Mars/Olympus"\n')
    done = _cli("console", "--config", str(config), cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "defaults.timezone" in done.stderr and "Mars/Olympus" in done.stderr
    assert "Traceback" not in done.stderr

    config.write_text("[defaults\n")
    broken = _cli("run", "--config", str(config), cwd=tmp_path)
    assert broken.returncode == 2 and "not valid TOML" in broken.stderr

    config.write_text('database_url = "sqlite+aiosqlite:///x.db"\nbogus = 1\n')
    unknown = _cli("run", "--config", str(config), cwd=tmp_path)
    assert unknown.returncode == 2 and "bogus" in unknown.stderr


def test_environment_overrides_nested_settings(tmp_path: Path) -> None:
    done = _cli(
        "console",
        "--db",
        f"sqlite+aiosqlite:///{tmp_path}/e.db",
        cwd=tmp_path,
        COOPBOT_DEFAULTS__TIMEZONE="Nowhere/Land",
    )
    assert done.returncode == 2
    assert "defaults.timezone" in done.stderr


def test_the_example_config_is_valid(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "config.example.toml"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from pathlib import Path; from bot.config import load_settings; "
            "s = load_settings(Path(sys.argv[1])); "
            "print(s.matrix.configured, s.discord.configured)",
            str(example),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=console_env(),
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False False"
