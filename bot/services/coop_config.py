"""A co-op's effective settings: the configured defaults overlaid with its own overrides."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import CoopDefaults, check_cron, check_timezone
from bot.domain.proposals import parse_quorum
from bot.errors import UserError

# key → (type name shown in errors, example)
EDITABLE: dict[str, tuple[str, str]] = {
    "timezone": ("an IANA timezone", "timezone:Europe/Berlin"),
    "quorum": ("a percentage", "quorum:50%"),
    "summary_cron": ("a cron line", 'summary_cron:"0 9 * * mon"'),
    "max_claims": ("a whole number 1–100", "max_claims:3"),
    "claim_days": ("a whole number of days 1–365", "claim_days:7"),
    "kudos_per_week": ("a whole number 0–1000", "kudos_per_week:20"),
    "reminder_hours": ("a whole number of hours", "reminder_hours:24"),
    "reserve_share": ("a percentage or fraction", "reserve_share:10%"),
}


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


def parse_share(text: str) -> Fraction:
    """A share of the surplus: "10%", "1/10", "0.1" or "0"."""
    raw = text.strip()
    try:
        value = Fraction(raw[:-1]) / 100 if raw.endswith("%") else Fraction(raw)
    except (ValueError, ZeroDivisionError):
        raise UserError(f"`{text}` is not a share", "write it like `10%` or `1/10`") from None
    if not 0 <= value < 1:
        raise UserError(f"a reserve share must be at least 0 and below 100%, not `{text}`")
    return value


def effective(defaults: CoopDefaults, overrides: dict[str, Any]) -> CoopConfig:
    """Merge defaults and a co-op's overrides into typed values."""
    merged = defaults.model_dump()
    merged.update(overrides)
    weights = merged["weights"]
    return CoopConfig(
        timezone=ZoneInfo(merged["timezone"]),
        quorum=parse_quorum(str(merged["quorum"])),
        summary_cron=merged["summary_cron"],
        max_claims=int(merged["max_claims"]),
        claim_days=int(merged["claim_days"]),
        kudos_per_week=int(merged["kudos_per_week"]),
        reminder_hours=int(merged["reminder_hours"]),
        reserve_share=parse_share(str(merged["reserve_share"])),
        weights=(
            Decimal(str(weights["hours"])),
            Decimal(str(weights["points"])),
            Decimal(str(weights["kudos"])),
        ),
    )


def validate_override(key: str, value: str) -> Any:
    """Check one `coop settings key:value`; return the value to store."""
    if key not in EDITABLE:
        known = ", ".join(EDITABLE)
        raise UserError(f"`{key}` is not a co-op setting", f"settings you can change: {known}")
    kind, example = EDITABLE[key]
    try:
        if key == "timezone":
            return check_timezone(value)
        if key == "summary_cron":
            return check_cron(value)
        if key == "quorum":
            parse_quorum(value)
            return value
        if key == "reserve_share":
            parse_share(value)
            return value
        number = int(value)
    except (ValueError, UserError) as exc:
        # A cron line is refused with its reason (a bad field, or a date that never comes).
        why = f"{str(exc).rpartition(': ')[2]}; " if key == "summary_cron" else ""
        raise UserError(
            f"`{key}` must be {kind}, not `{value}`", f"{why}for example `{example}`"
        ) from None
    low, high = {"max_claims": (1, 100), "claim_days": (1, 365), "kudos_per_week": (0, 1000)}.get(
        key, (0, 720)
    )
    if not low <= number <= high:
        raise UserError(f"`{key}` must be {kind}, not `{value}`", f"for example `{example}`")
    return number
