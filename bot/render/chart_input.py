"""What the weekly chart shows (its heading and bars), and its bounded JSON form for the child."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from bot.services.contributions import TallyRow

MAX_BARS: Final = 40
NAME_MAX: Final = 24
HEADING_MAX: Final = 200
# Far above what 40 bars with 24-character names and a heading can take as JSON (~12 KB).
INPUT_MAX_BYTES: Final = 64 * 1024


def _label(name: str) -> str:
    label = "@" + name
    return label if len(label) <= NAME_MAX else label[: NAME_MAX - 1] + "…"


def chart_heading(title: str, members: int) -> str:
    """The chart's title, saying how many members did not fit."""
    hidden = members - min(members, MAX_BARS)
    return title if not hidden else f"{title} — top {MAX_BARS}, and {hidden} more"


@dataclass(frozen=True)
class Bar:
    """One member's bar: their label and the three stacked values."""

    label: str
    hours: float
    points: float
    kudos: float


@dataclass(frozen=True)
class ChartInput:
    """The chart's heading and bars, largest weighted total first (at most MAX_BARS)."""

    heading: str
    bars: tuple[Bar, ...]

    def encode(self) -> bytes:
        """Compact JSON (floats written so that they read back exactly)."""
        bars = [[b.label, b.hours, b.points, b.kudos] for b in self.bars]
        text = json.dumps({"heading": self.heading, "bars": bars}, allow_nan=False)
        return text.encode("utf-8")


def chart_input(
    rows: Sequence[TallyRow], title: str = "Contributions", members: int | None = None
) -> ChartInput:
    """The top MAX_BARS rows as bars; `members`: how many there are in all, when `rows`
    holds only the top (the heading says how many more there were)."""
    shown = rows[:MAX_BARS]
    bars = tuple(
        Bar(_label(r.member.name), float(r.hours), float(r.points), float(r.kudos)) for r in shown
    )
    heading = chart_heading(title, len(rows) if members is None else members)
    return ChartInput(heading[:HEADING_MAX], bars)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"a bar value is not a number: {value!r:.40}")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("a bar value is not finite")
    return number


def _text(value: Any, most: int, what: str) -> str:
    if not isinstance(value, str) or len(value) > most:
        raise ValueError(f"the {what} is not a string of at most {most} characters")
    return value


def decode(data: bytes) -> ChartInput:
    """The chart input that `ChartInput.encode` wrote; ValueError for anything else (too
    long, not JSON, a wrong shape, too many bars, a value that is not a finite number)."""
    if len(data) > INPUT_MAX_BYTES:
        raise ValueError(f"the chart input is over {INPUT_MAX_BYTES} bytes")

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not a bar value")

    found = json.loads(data.decode("utf-8"), parse_constant=no_constants)
    if not isinstance(found, dict) or set(found) != {"heading", "bars"}:
        raise ValueError("the chart input is not {heading, bars}")
    bars = found["bars"]
    if not isinstance(bars, list) or len(bars) > MAX_BARS:
        raise ValueError(f"the bars are not a list of at most {MAX_BARS}")
    decoded = []
    for bar in bars:
        if not isinstance(bar, list) or len(bar) != 4:
            raise ValueError("a bar is not [label, hours, points, kudos]")
        label = _text(bar[0], NAME_MAX, "label")
        decoded.append(Bar(label, _number(bar[1]), _number(bar[2]), _number(bar[3])))
    return ChartInput(_text(found["heading"], HEADING_MAX, "heading"), tuple(decoded))
