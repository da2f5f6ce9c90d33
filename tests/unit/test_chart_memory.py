"""A chart frees its figure before it returns: the figure is a web of reference cycles
(~8 MB with the canvas's pixel buffer) that would otherwise wait for a full collection,
so that several charts in a row (the weekly summaries of several co-ops) each added their
8 MB to the bot's peak memory (issue 11: ≤ 150 MB). Each check is a fresh process, with
the automatic collector off so that only what the chart itself does can free the figure."""

from __future__ import annotations

import json
import subprocess
import sys

_CHARTS = """
import gc, json, sys
from decimal import Decimal
from types import SimpleNamespace
from bot.render import chart

def peak_mb():
    return next(int(l.split()[1]) for l in open("/proc/self/status")
                if l.startswith("VmHWM:")) / 1024

rows = [
    SimpleNamespace(member=SimpleNamespace(name=f"member{i}"), hours=Decimal(i),
                    points=Decimal(2 * i), kudos=Decimal(3))
    for i in range(40, 0, -1)
]
gc.disable()  # nothing but the chart itself frees its figure
chart.contributions_chart(rows, "Contributions")
first = peak_mb()
figures = [o for o in gc.get_objects() if type(o).__name__ in ("Figure", "FigureCanvasAgg")]
for _ in range(3):
    chart.contributions_chart(rows, "Contributions")
print(json.dumps({"figures": len(figures), "growth_mb": peak_mb() - first}))
"""


def test_a_chart_frees_its_figure_and_more_charts_do_not_raise_the_peak() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _CHARTS], check=True, capture_output=True, text=True
    )
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["figures"] == 0
    # Three more charts, each ~8 MB of figure if it were kept: the peak stays the first's.
    assert found["growth_mb"] < 4, found
