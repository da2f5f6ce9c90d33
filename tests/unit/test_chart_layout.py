"""The weekly chart's margins, set from its names' measured widths: every name, the title,
the legend and the axis label are inside the picture and clear of the bars, whatever the
names; a chart with no contributions has no legend to explain."""

from __future__ import annotations

import pytest
from matplotlib.figure import Figure
from matplotlib.transforms import Bbox

from bot.render.chart import NAMES_MOST_OF_WIDTH, figure
from bot.render.chart_input import MAX_BARS, NAME_MAX, Bar, ChartInput, chart_heading

HEADING = chart_heading("Contributions — Week 47 (16–22 Nov 2026)", 10_000)


def _chart(names: list[str]) -> ChartInput:
    bars = tuple(
        Bar("@" + name[: NAME_MAX - 1], float(len(names) - i), 2.5, 1.0)
        for i, name in enumerate(names)
    )
    return ChartInput(HEADING, bars)


def _drawn(chart: ChartInput) -> tuple[Figure, Bbox, Bbox]:
    drawn = figure(chart)
    drawn.canvas.draw()
    (axes,) = drawn.axes
    return drawn, drawn.bbox, axes.get_window_extent()


def _inside(inner: Bbox, outer: Bbox) -> bool:
    return (
        inner.x0 >= outer.x0 - 0.5
        and inner.x1 <= outer.x1 + 0.5
        and inner.y0 >= outer.y0 - 0.5
        and inner.y1 <= outer.y1 + 0.5
    )


NAMES = {
    "short": ["al", "bo"],
    "longest": ["W" * NAME_MAX] * MAX_BARS,
    "mixed": [f"member{i}" + "x" * (i % 20) for i in range(MAX_BARS)],
    "accents and emoji": ["Zoë 🌱 Ünal", "Łukasz Ø", "o'neil, jr."] * 3,
}


@pytest.mark.parametrize("names", NAMES.values(), ids=NAMES.keys())
def test_every_name_title_legend_and_label_is_in_the_picture_and_clear_of_the_bars(
    names: list[str],
) -> None:
    drawn, picture, bars = _drawn(_chart(names))
    (axes,) = drawn.axes
    for label in axes.get_yticklabels():
        extent = label.get_window_extent()
        assert _inside(extent, picture), label.get_text()
        assert extent.x1 <= bars.x0, label.get_text()
    title = drawn.texts[0].get_window_extent()
    legend = axes.get_legend().get_window_extent()
    for above in (title, legend):
        assert _inside(above, picture)
        assert above.y0 >= bars.y1 - 0.5
    xlabel = axes.xaxis.label.get_window_extent()
    assert _inside(xlabel, picture)
    assert xlabel.y1 <= bars.y0
    # The bars get what the names leave, no more room than the longest name needs.
    widest = max(label.get_window_extent().width for label in axes.get_yticklabels())
    assert bars.x0 - widest <= 0.25 * drawn.dpi


def test_names_wider_than_the_chart_allows_leave_the_bars_more_than_half_the_width() -> None:
    _, picture, bars = _drawn(_chart(["\u2031" * NAME_MAX] * 3))  # ‱: a wide glyph
    assert bars.x0 <= NAMES_MOST_OF_WIDTH * picture.width + 0.5
    assert bars.width >= 0.5 * picture.width


def test_a_chart_with_no_contributions_has_no_legend() -> None:
    drawn, _, _ = _drawn(ChartInput(HEADING, ()))
    (axes,) = drawn.axes
    assert axes.get_legend() is None
    assert [text.get_text() for text in axes.texts] == ["no contributions"]
