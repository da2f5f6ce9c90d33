"""The first chart of a process imports matplotlib with the garbage collector held off
(the collections that import would set off walk all of the bot's objects each time), and
leaves the collector as it found it."""

from __future__ import annotations

import json
import subprocess
import sys

_FIRST_CHART = """
import gc, json, sys
from types import SimpleNamespace
from decimal import Decimal
from bot.render import chart

during = []

def watch(phase, info):
    importing = "matplotlib" in sys.modules and "matplotlib.figure" not in sys.modules
    if phase == "start" and importing:
        during.append(info["generation"])

gc.callbacks.append(watch)
rows = [
    SimpleNamespace(member=SimpleNamespace(name=f"m{i}"), hours=Decimal(i), points=Decimal(1),
                    kudos=Decimal(0))
    for i in range(3)
]
png = chart.contributions_chart(rows, "Contributions")
print(json.dumps({"during": during, "enabled": gc.isenabled(), "png": png[:4] == b"\\x89PNG"}))
"""


def test_the_first_chart_imports_matplotlib_without_collections() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_CHART], check=True, capture_output=True, text=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found == {"during": [], "enabled": True, "png": True}
