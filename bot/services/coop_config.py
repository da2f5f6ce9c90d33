"""A co-op's effective settings: the configured defaults overlaid with its own overrides.

Overrides are checked once, when a steward writes them, and stored in a normalised form
(ratios as exact fractions `1/2`, whole numbers as numbers, durations as seconds); reading
them for every command only reads that form, through bounded readers."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import CoopDefaults, check_cron, check_timezone
from bot.domain.numbers import whole_number
from bot.domain.patronage import parse_reserve_share
from bot.domain.proposals import (
    MIN_VOTING_TIME_CEILING,
    MIN_VOTING_TIME_FLOOR,
    parse_min_voting_time,
    parse_quorum,
)
from bot.domain.ratios import format_ratio, ratio_text, read_stored_ratio
from bot.domain.timeparse import duration_text
from bot.errors import UserError

log = logging.getLogger(__name__)

# key → (type name shown in errors, example)
EDITABLE: dict[str, tuple[str, str]] = {
    "timezone": ("an IANA timezone", "timezone:Europe/Berlin"),
    "quorum": ("a percentage", "quorum:50%"),
    "summary_cron": ("a cron line", 'summary_cron:"0 9 * * mon"'),
    "max_claims": ("a whole number 1–100", "max_claims:3"),
    "claim_days": ("a whole number of days 1–365", "claim_days:7"),
    "kudos_per_week": ("a whole number 0–1000", "kudos_per_week:20"),
    "reminder_hours": ("a whole number of hours 0–720", "reminder_hours:24"),
    "reserve_share": ("a percentage or fraction below 100%", "reserve_share:10%"),
    "min_voting_time": ("a duration from 1m to 30d", "min_voting_time:1h"),
    "threads": ("on or off", "threads:on"),
}
THREADS_ON = {"on": True, "yes": True, "off": False, "no": False}
# Whole-number settings and their ranges (the same as CoopDefaults allows in the config file).
_WHOLE_RANGES: dict[str, tuple[int, int]] = {
    "max_claims": (1, 100),
    "claim_days": (1, 365),
    "kudos_per_week": (0, 1000),
    "reminder_hours": (0, 720),
}
MIN_VOTING_TIME_RANGE = (MIN_VOTING_TIME_FLOOR, MIN_VOTING_TIME_CEILING)


@dataclass(frozen=True)
class CoopConfig:
    timezone: ZoneInfo
    quorum: Fraction
    summary_cron: str
    max_claims: int
    claim_days: int
    kudos_per_week: int
    reminder_hours: int
    reserve_share: Fraction
    weights: tuple[Decimal, Decimal, Decimal]
    # Members' votes stay open at least this long (SPEC §4); stewards may go below it.
    min_voting_time: timedelta = timedelta(hours=1)
    # A thread per decision (Discord: from its card; Matrix: m.thread rooted at it).
    threads: bool = False


def _stored(key: str, value: object, default: object) -> Any:
    """One override as stored, read back without parsing free text; a row that is not in
    the stored form (hand-edited, or from a release before 0003) falls back to the default."""
    parsed: Any = None
    if key in ("quorum", "reserve_share"):
        parsed = read_stored_ratio(value)
        if key == "reserve_share" and parsed is not None and parsed >= 1:
            parsed = None
    elif key in _WHOLE_RANGES:
        low, high = _WHOLE_RANGES[key]
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            parsed = value
    elif key == "min_voting_time":
        shortest, longest = MIN_VOTING_TIME_RANGE
        seconds = value if isinstance(value, int) and not isinstance(value, bool) else -1
        if shortest.total_seconds() <= seconds <= longest.total_seconds():
            parsed = timedelta(seconds=seconds)
    elif key == "threads":
        parsed = value if isinstance(value, bool) else None
    elif isinstance(value, str) and len(value) <= 200:
        parsed = value  # timezone and summary_cron are checked where they are used
    if parsed is None:
        log.warning("ignoring the unreadable co-op setting %s=%.40r", key, value)
        return default
    return parsed


def effective(defaults: CoopDefaults, overrides: dict[str, Any]) -> CoopConfig:
    """Merge defaults and a co-op's overrides into typed values."""
    base = _defaults(defaults)
    values: dict[str, Any] = {
        "timezone": base.timezone.key,
        "quorum": base.quorum,
        "summary_cron": base.summary_cron,
        "max_claims": base.max_claims,
        "claim_days": base.claim_days,
        "kudos_per_week": base.kudos_per_week,
        "reminder_hours": base.reminder_hours,
        "reserve_share": base.reserve_share,
        "min_voting_time": base.min_voting_time,
        "threads": base.threads,
    }
    for key, value in overrides.items():
        if key in values:
            values[key] = _stored(key, value, values[key])
    try:
        timezone = ZoneInfo(values["timezone"])
    except (ZoneInfoNotFoundError, ValueError, OSError):
        log.warning("ignoring the unreadable co-op timezone %.40r", values["timezone"])
        timezone = base.timezone
    return CoopConfig(
        timezone=timezone,
        quorum=values["quorum"],
        summary_cron=values["summary_cron"],
        max_claims=values["max_claims"],
        claim_days=values["claim_days"],
        kudos_per_week=values["kudos_per_week"],
        reminder_hours=values["reminder_hours"],
        reserve_share=values["reserve_share"],
        weights=base.weights,
        min_voting_time=values["min_voting_time"],
        threads=values["threads"],
    )


def _defaults(defaults: CoopDefaults) -> CoopConfig:
    """The operator's defaults as typed values (the config loader has checked them)."""
    weights = defaults.weights
    return CoopConfig(
        timezone=ZoneInfo(defaults.timezone),
        quorum=parse_quorum(defaults.quorum),
        summary_cron=defaults.summary_cron,
        max_claims=defaults.max_claims,
        claim_days=defaults.claim_days,
        kudos_per_week=defaults.kudos_per_week,
        reminder_hours=defaults.reminder_hours,
        reserve_share=parse_reserve_share(defaults.reserve_share),
        weights=(
            Decimal(str(weights.hours)),
            Decimal(str(weights.points)),
            Decimal(str(weights.kudos)),
        ),
        min_voting_time=parse_min_voting_time(defaults.min_voting_time),
        threads=defaults.threads,
    )


def validate_override(key: str, value: str) -> Any:
    """Check one `coop settings key:value`; return the normalised value to store."""
    if key not in EDITABLE:
        known = ", ".join(EDITABLE)
        raise UserError(f"`{key}` is not a co-op setting", f"settings you can change: {known}")
    kind, example = EDITABLE[key]
    refused = UserError(f"`{key}` must be {kind}, not `{value[:40]}`", f"for example `{example}`")
    try:
        if key == "timezone":
            return check_timezone(value)
        if key == "summary_cron":
            return check_cron(value)
        if key == "quorum":
            return ratio_text(parse_quorum(value))
        if key == "reserve_share":
            return ratio_text(parse_reserve_share(value))
        if key == "min_voting_time":
            return int(parse_min_voting_time(value).total_seconds())
        if key == "threads":
            return THREADS_ON[value.strip().lower()]
    except KeyError:
        raise refused from None
    except (ValueError, UserError) as exc:
        if key == "summary_cron":
            # A cron line is refused with its reason (a bad field, or a date that never comes).
            why = str(exc).rpartition(": ")[2]
            raise UserError(refused.message, f"{why}; for example `{example}`") from None
        raise refused from None
    low, high = _WHOLE_RANGES[key]
    number = whole_number(value, max_digits=4)
    if number is None or not low <= number <= high:
        raise refused
    return number


def show_setting(key: str, stored: Any) -> str:
    """A stored override as a steward reads it: `50%`, `2/3`, `1h`, `3`."""
    if key in ("quorum", "reserve_share"):
        ratio = read_stored_ratio(stored)
        return format_ratio(ratio) if ratio is not None else str(stored)
    if key == "threads" and isinstance(stored, bool):
        return "on" if stored else "off"
    if key == "min_voting_time" and isinstance(stored, int):
        return duration_text(timedelta(seconds=stored))
    return str(stored)
