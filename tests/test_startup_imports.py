"""Starting the bot does not import what only some commands need (matplotlib for charts)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_bot_leaves_matplotlib_for_the_first_chart() -> None:
    code = "import sys, bot.app, bot.cli, bot.services.summaries; print(sorted(sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert "matplotlib" not in loaded
    assert "numpy" not in loaded
