"""Each bot process imports only the chat library of the platform it runs (issue 11: ≤ 70 MB
after imports): a console bot neither matrix-nio nor discord.py, a Matrix bot not
discord.py, a Discord bot not matrix-nio. Each check is a fresh process, read through
sys.modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

# A console bot as `coopbot console` runs it: settings, the database created, one command
# answered, end of input; then the modules the process holds.
_CONSOLE = """
import sys
from bot.cli import app
try:
    app(["console", "--db", sys.argv[1]])
except SystemExit as exit:
    assert not exit.code, exit.code
print("MODULES", " ".join(sorted(sys.modules)))
"""

# What `coopbot run` does for a configured platform before its supervisor starts it: load
# the platform by name, import its pre-flight checks, make an adapter.
_PLATFORM = """
import sys
from pathlib import Path
import bot.cli, bot.runner
from bot.clock import SystemClock
from bot.config import load_settings
from bot.platforms import load
from bot.runner import adapter_factory

kind = sys.argv[2]
settings = load_settings(Path(sys.argv[1]))
assert getattr(settings, kind).configured
load(kind).check  # `coopbot run` checks the platform first (its preflight module)
__import__(f"adapters.{kind}.preflight")
adapter_factory(settings, SystemClock(), kind)()
print("MODULES", " ".join(sorted(sys.modules)))
"""

CONFIG = {
    "matrix": '[matrix]\nhomeserver = "http://127.0.0.1:1"\nuser_id = "@bot:example.org"\n'
    'access_token = "not-a-token"\nstore_path = "{store}"\n',
    "discord": '[discord]\ntoken = "not-a-token"\n',
}
SDK = {"matrix": "nio", "discord": "discord"}


def _loaded(code: str, *args: str, stdin: str = "") -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    return set(line.split()[1:])


def _has(loaded: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in loaded)


def test_a_console_bot_imports_no_chat_sdk(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/coopbot.db"
    loaded = _loaded(_CONSOLE, url, stdin="!help\n")
    assert "adapters.console.adapter" in loaded  # it did run the console
    unused = ("nio", "discord", "aiohttp", "prometheus_client")
    assert {name for name in unused if _has(loaded, name)} == set()


@pytest.mark.parametrize("kind", ["matrix", "discord"])
def test_a_platform_bot_imports_only_its_own_chat_sdk(tmp_path: Path, kind: str) -> None:
    config = tmp_path / "coopbot.toml"
    store = tmp_path / "store"
    config.write_text(
        f'database_url = "sqlite+aiosqlite:///{tmp_path}/coopbot.db"\n'
        f'attachments_dir = "{tmp_path / "files"}"\n' + CONFIG[kind].format(store=store)
    )
    loaded = _loaded(_PLATFORM, str(config), kind)
    other = next(name for name in SDK if name != kind)
    assert _has(loaded, SDK[kind])  # the check does see the platform's own SDK
    assert not _has(loaded, SDK[other]), f"a {kind} bot imported {SDK[other]}"
    assert not _has(loaded, f"adapters.{other}"), f"a {kind} bot imported adapters.{other}"


def test_the_bench_measures_the_memory_of_each_kind_of_process_apart() -> None:
    from bench import measure, report

    kinds = measure.imports()["kinds"]
    assert set(kinds) == {"console", "matrix", "discord"}
    assert {"nio", "discord", "aiohttp"}.isdisjoint(kinds["console"]["loaded"])
    assert "nio" in kinds["matrix"]["loaded"] and "discord" not in kinds["matrix"]["loaded"]
    assert "discord" in kinds["discord"]["loaded"] and "nio" not in kinds["discord"]["loaded"]
    for found in kinds.values():  # each in a fresh process: the same core before the adapter
        assert found["rss_mb"] >= found["steps_mb"]["bot.cli"] > found["steps_mb"]["interpreter"]
        # the floor: its libraries alone, less than the bot process, more than an interpreter
        assert found["steps_mb"]["interpreter"] < found["floor_mb"] < found["rss_mb"]
    assert kinds["console"]["floor_mb"] < min(
        kinds["matrix"]["floor_mb"], kinds["discord"]["floor_mb"]
    )

    run = {"imports": {"kinds": kinds}, "commands": {"peak_mb": 100.0}}
    cells = dict(report._memory_cells([run]))
    assert list(cells) == ["console", "matrix", "discord"]
    assert "(est.)" not in cells["console"](run)
    assert f"| libraries alone {kinds['matrix']['floor_mb']:.0f} MB |" in cells["matrix"](run)
    # the scenario that raised the peak most is named (the peak taken after each scenario)
    peaked = {
        **run,
        "commands": {
            "peak_mb": 140.0,
            "rss_start_mb": 70.0,
            "scenarios": {
                "show": {"peak_after_mb": 76.0},
                "summary": {"peak_after_mb": 135.0},
                "tally_all": {"peak_after_mb": 140.0},
            },
        },
    }
    assert "; peak set by summary (+59 MB) |" in cells["console"](peaked)
    extra = kinds["matrix"]["rss_mb"] - kinds["console"]["rss_mb"]
    assert f"/ {100 + extra:.0f} MB (est.)" in cells["matrix"](run)
    # a run recorded before the kinds were measured apart still renders (one figure)
    old = {"imports": {"rss_mb": 102.0, "steps_mb": {}}, "commands": {"peak_mb": 120.0}}
    assert [kind for kind, _ in report._memory_cells([old])] == ["all"]
    assert " 102 MB / 120 MB |" in dict(report._memory_cells([old]))["all"](old)
