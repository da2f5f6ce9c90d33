"""The weekly contributions chart: horizontal stacked bars per member, drawn to PNG bytes."""

from __future__ import annotations

import gc
import io
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Final

from bot.heap import freeze_start_up_objects
from bot.services.contributions import TallyRow

MAX_BARS: Final = 40
WIDTH_INCHES: Final = 9.0
BAR_INCHES: Final = 0.32
FRAME_INCHES: Final = 1.7
MIN_HEIGHT_INCHES: Final = 3.0
DPI: Final = 100
NAME_MAX: Final = 24
# hours, task points, kudos: colour-blind friendly (Okabe–Ito) and distinct in greyscale.
SERIES: Final = (
    ("hours", "#0072B2"),
    ("task points", "#E69F00"),
    ("kudos", "#009E73"),
)


def _name(row: TallyRow) -> str:
    name = "@" + row.member.name
    return name if len(name) <= NAME_MAX else name[: NAME_MAX - 1] + "…"


def chart_height(members: int) -> float:
    """Inches: grows with the bars shown, so 2 and 40 members both stay readable."""
    bars = min(members, MAX_BARS)
    return max(MIN_HEIGHT_INCHES, FRAME_INCHES + BAR_INCHES * bars)


def chart_heading(title: str, members: int) -> str:
    """The chart's title, saying how many members did not fit."""
    hidden = members - min(members, MAX_BARS)
    return title if not hidden else f"{title} — top {MAX_BARS}, and {hidden} more"


@contextmanager
def _collector_paused() -> Iterator[None]:
    """The garbage collector held off for a block that only makes long-lived objects: the
    first import of matplotlib makes some 100,000 (modules, classes, rc parameters), and
    the full collections they would set off, each walking all of the bot's objects too,
    took a quarter of that import's time. Collection resumes after the block; nothing is
    skipped, as an import leaves no cyclic garbage to speak of."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def contributions_chart(
    rows: Sequence[TallyRow], title: str = "Contributions", members: int | None = None
) -> bytes:
    """PNG of hours / task points / kudos per member, largest weighted total on top.

    With more than MAX_BARS members only the top ones are drawn and the title says how many
    more there were (`members`: how many there are in all, when `rows` holds only the top).
    Uses the object API (no pyplot), so no global figure state is kept. Matplotlib is
    imported here, on the first chart, so that starting the bot does not pay for it.

    The figure is freed before this returns: it is a web of reference cycles (artists,
    transforms, callbacks, the canvas and its ~5 MB pixel buffer), some 8 MB in all, that
    reference counting never frees. Left to the garbage collector it lingers until a full
    collection, so each chart drawn before that (the weekly summaries of several co-ops)
    added its 8 MB to the process's peak; one collection here (5–15 ms, matplotlib's own
    objects being frozen) keeps every chart's peak at the first one's."""
    png = _drawn(rows, title, members)
    gc.collect()
    return png


def _drawn(rows: Sequence[TallyRow], title: str, members: int | None) -> bytes:
    """The chart's PNG; the figure it was drawn on is garbage once this returns."""
    first = "matplotlib.figure" not in sys.modules
    with _collector_paused():
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    if first:
        # Matplotlib's ~100,000 objects live as long as the process: held out of full
        # collections like the start-up objects, so that freeing each figure (and every
        # full collection after it) does not walk them all again (~25 ms a chart). What
        # else is alive at this moment is frozen with them, as at start-up.
        freeze_start_up_objects()

    shown = list(rows[:MAX_BARS])
    figure = Figure(figsize=(WIDTH_INCHES, chart_height(len(shown))), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    # Top of the chart is the first (largest) row.
    positions = list(range(len(shown)))[::-1]
    series = (
        [float(r.hours) for r in shown],
        [float(r.points) for r in shown],
        [float(r.kudos) for r in shown],
    )
    left = [0.0] * len(shown)
    for (label, colour), values in zip(SERIES, series, strict=True):
        axes.barh(positions, values, left=left, color=colour, label=label, height=0.7)
        left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_yticks(positions)
    labels = axes.set_yticklabels([_name(r) for r in shown], fontsize=9)
    for text in labels:
        # Member names are user input: a `$` must not switch on mathtext.
        text.set_parse_math(False)
    heading = chart_heading(title, len(rows) if members is None else members)
    figure.suptitle(heading, fontsize=11, x=0.01, ha="left").set_parse_math(False)
    axes.set_xlabel("hours + task points + kudos")
    axes.set_xlim(left=0, right=max(left, default=0.0) * 1.05 or 1.0)
    if shown:
        axes.set_ylim(-0.6, len(shown) - 0.4)
    else:
        axes.set_yticks([])
        axes.text(0.5, 0.5, "no contributions", ha="center", va="center", transform=axes.transAxes)
    axes.grid(axis="x", alpha=0.3)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    # Above the bars, opposite the title, so it never hides a short chart's bars.
    axes.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=3, fontsize=8, frameon=False)
    out = io.BytesIO()
    figure.savefig(out, format="png", metadata={"Software": None})
    return out.getvalue()
