"""The weekly contributions chart drawn to PNG bytes: horizontal stacked bars per member.

Imports matplotlib (some 40 MB that CPython never gives back): only the short-lived chart
child (bot.render.chart_child) imports this module, never the bot's own process."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from bot.render.chart_input import MAX_BARS, ChartInput, chart_input

if TYPE_CHECKING:
    from bot.services.contributions import TallyRow

WIDTH_INCHES: Final = 9.0
BAR_INCHES: Final = 0.32
FRAME_INCHES: Final = 1.7
MIN_HEIGHT_INCHES: Final = 3.0
DPI: Final = 100
HALF_BAR: Final = 0.35  # half a bar's height, in rows
# The margins around the bars, in inches: the title and legend rows above, the x tick labels
# and x label below, a little room on the right; on the left the longest name, its tick and
# a gap, but never more than NAMES_MOST_OF_WIDTH of the chart's width.
TOP_INCHES: Final = 0.62
BOTTOM_INCHES: Final = 0.55
RIGHT_INCHES: Final = 0.25
NAME_GAP_INCHES: Final = 0.18
NAMES_MOST_OF_WIDTH: Final = 0.45
# hours, task points, kudos: colour-blind friendly (Okabe–Ito) and distinct in greyscale.
SERIES: Final = (
    ("hours", "#0072B2"),
    ("task points", "#E69F00"),
    ("kudos", "#009E73"),
)


def chart_height(members: int) -> float:
    """Inches: grows with the bars shown, so 2 and 40 members both stay readable."""
    bars = min(members, MAX_BARS)
    return max(MIN_HEIGHT_INCHES, FRAME_INCHES + BAR_INCHES * bars)


def contributions_chart(
    rows: Sequence[TallyRow], title: str = "Contributions", members: int | None = None
) -> bytes:
    """The chart of `rows` drawn in this process (what the chart child draws for the same
    rows, byte for byte): for tests and tools, not for the bot's own process."""
    return draw(chart_input(rows, title, members))


def draw(chart: ChartInput) -> bytes:
    """PNG of hours / task points / kudos per member, largest weighted total on top."""
    out = io.BytesIO()
    figure(chart).savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()


def figure(chart: ChartInput) -> Figure:
    """The chart's figure, laid out and ready to save. The object API (no pyplot), so no
    global figure state is kept. Its margins are set from the longest name's measured
    width, not by a layout engine: that would draw the whole figure once more to lay it
    out, which doubles the time a chart takes."""
    shown = chart.bars
    height = chart_height(len(shown))
    drawn = Figure(figsize=(WIDTH_INCHES, height), dpi=DPI)
    FigureCanvasAgg(drawn)
    axes = drawn.add_subplot()
    # Top of the chart is the first (largest) row.
    positions = list(range(len(shown)))[::-1]
    series = (
        [b.hours for b in shown],
        [b.points for b in shown],
        [b.kudos for b in shown],
    )
    left = [0.0] * len(shown)
    for (label, colour), values in zip(SERIES, series, strict=True):
        # One collection of bars per series, not a patch per bar: a third of the time.
        bars = [
            ((start, y - HALF_BAR), (start + width, y - HALF_BAR),
             (start + width, y + HALF_BAR), (start, y + HALF_BAR))
            for y, start, width in zip(positions, left, values, strict=True)
        ]  # fmt: skip
        axes.add_collection(
            PolyCollection(bars, facecolors=colour, edgecolors="none", label=label),
            autolim=False,  # the limits are set below
        )
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_yticks(positions)
    labels = axes.set_yticklabels([b.label for b in shown], fontsize=9)
    for text in labels:
        # Member names are user input: a `$` must not switch on mathtext.
        text.set_parse_math(False)
    drawn.suptitle(chart.heading, fontsize=11, x=0.01, ha="left").set_parse_math(False)
    axes.set_xlabel("hours + task points + kudos")
    axes.set_xlim(left=0, right=max(left, default=0.0) * 1.05 or 1.0)
    if shown:
        axes.set_ylim(-0.6, len(shown) - 0.4)
        # Above the bars, opposite the title, so it never hides a short chart's bars.
        axes.legend(
            loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize=8, frameon=False
        )
    else:
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no contributions", ha="center", va="center", transform=axes.transAxes)
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    # Measured with the figure's own renderer (Agg), the one the PNG is drawn with.
    names = max((text.get_window_extent().width for text in labels), default=0.0) / DPI
    drawn.subplots_adjust(
        left=min((names + NAME_GAP_INCHES) / WIDTH_INCHES, NAMES_MOST_OF_WIDTH),
        right=1 - RIGHT_INCHES / WIDTH_INCHES,
        top=1 - TOP_INCHES / height,
        bottom=BOTTOM_INCHES / height,
    )
    return drawn
