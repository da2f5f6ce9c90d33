"""Cron lines as people know them (five fields, Debian cron semantics), read by cronsim."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

MAX_CRON_LENGTH: Final = 100
# Any cron line that can fire at all fires within this span of any moment (the rarest,
# a fifth Monday of February, recurs within 40 years); cronsim stops looking after 50.
_REFERENCE: Final = datetime(2000, 1, 1)


def _sim(line: str, start: datetime) -> CronSim:
    fields = line.split()
    if len(line) > MAX_CRON_LENGTH:
        raise ValueError(f"a cron line has at most {MAX_CRON_LENGTH} characters")
    if len(fields) != 5:
        raise ValueError("a cron line has five fields: minute hour day month weekday")
    try:
        return CronSim(" ".join(fields), start)
    except CronSimError as exc:
        raise ValueError(str(exc).lower()) from None


def check_cron_line(line: str) -> str:
    """`line` with its fields single-spaced; ValueError unless it is a five-field cron line
    that fires at least once (`0 0 30 2 *` never does)."""
    sim = _sim(line, _REFERENCE)
    try:
        next(sim)
    except StopIteration:
        raise ValueError("it never fires (no date matches every field)") from None
    return " ".join(line.split())


def next_fires(line: str, tz: ZoneInfo, after: datetime, count: int = 1) -> list[datetime]:
    """The first `count` times (UTC) strictly after `after` that `line` fires, read in
    `tz` as cron does (a time skipped by a DST change fires just after it; a repeated
    one fires once). Fewer, or none, for a line that stops or never fires."""
    after_utc = after.astimezone(UTC)
    # cronsim counts whole seconds and steps past its start before it looks.
    try:
        sim = _sim(line, after.astimezone(tz).replace(microsecond=0))
    except ValueError:
        return []
    fires: list[datetime] = []
    # A start inside a repeated (DST) hour can yield a wall time that is already past.
    for _ in range(count + 2):
        try:
            fire = next(sim).astimezone(UTC)
        except StopIteration:
            break
        if fire > after_utc:
            fires.append(fire)
        if len(fires) == count:
            break
    return fires


def explain(line: str) -> str:
    """A sentence for `line`, like "At 09:00 on Monday"."""
    return str(_sim(line, _REFERENCE).explain())
