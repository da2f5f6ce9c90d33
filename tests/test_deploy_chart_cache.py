"""The systemd unit gives matplotlib a lasting place for its font cache: the unit's dynamic
user has no writable home (ProtectHome, ProtectSystem=strict), so matplotlib would build
the cache again in a temporary directory on the first weekly chart of every start, about
a second of the summary's 1 s budget. The place is inside the unit's StateDirectory (the
one directory the bot may write) and need not exist beforehand. The chart is drawn in a
child process the bot starts, which inherits the bot's environment, and so that place."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.render.chart_input import Bar, ChartInput
from bot.render.chart_process import ChartChild

UNIT = Path(__file__).resolve().parent.parent / "deploy" / "coopbot.service"


def _settings(unit: str) -> tuple[dict[str, str], list[str]]:
    """The unit's Environment= variables, and its StateDirectory= names."""
    env: dict[str, str] = {}
    state: list[str] = []
    for line in unit.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key == "StateDirectory":
            state.extend(value.split())
    return env, state


def test_the_unit_keeps_matplotlibs_cache_in_its_state_directory() -> None:
    env, state = _settings(UNIT.read_text(encoding="utf-8"))
    assert "MPLCONFIGDIR" in env
    cache = Path(env["MPLCONFIGDIR"])
    assert any(cache.is_relative_to(Path("/var/lib") / name) for name in state), cache


def test_matplotlib_makes_that_directory_and_keeps_its_font_cache_there(tmp_path: Path) -> None:
    cache = tmp_path / "state" / "matplotlib"  # as on a first start: not there yet
    subprocess.run(
        [sys.executable, "-c", "import matplotlib.font_manager"],
        check=True,
        env=dict(os.environ, MPLCONFIGDIR=str(cache)),
    )
    assert list(cache.glob("fontlist-*.json"))


async def test_the_chart_child_gets_that_directory_from_the_bots_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bot never imports matplotlib itself: the chart child it starts must find the
    # unit's MPLCONFIGDIR in the environment the bot passes it.
    cache = tmp_path / "state" / "matplotlib"
    monkeypatch.setenv("MPLCONFIGDIR", str(cache))
    async with ChartChild().started() as child:
        png = await child.draw(ChartInput("Contributions", (Bar("@alice", 4.0, 1.0, 2.0),)))
    assert png is not None and png.startswith(b"\x89PNG")
    assert list(cache.glob("fontlist-*.json"))
