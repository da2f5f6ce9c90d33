"""The operator's co-op defaults and rule classes are read with the same bounded readers as
a steward's settings: a bad value stops start-up with one line naming the key."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction
from typing import Any

import pytest

from bot.config import ConfigError, load_settings
from bot.services.coop_config import effective


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"defaults": {"quorum": "lots"}}, "defaults.quorum: I can't read 'lots' as a quorum"),
        ({"defaults": {"reserve_share": "1e-99999999"}}, "defaults.reserve_share: I can't read"),
        ({"defaults": {"reserve_share": "100%"}}, "reserve share must be below 100%"),
        ({"defaults": {"min_voting_time": "10s"}}, "defaults.min_voting_time: the shortest"),
        (
            {"rule_classes": {"bylaws": {"method": "supermajority", "threshold": "1e999"}}},
            "rule_classes.bylaws.threshold: I can't read '1e999' as a threshold",
        ),
        (
            {"rule_classes": {"bylaws": {"quorum": "9" * 40}}},
            "rule_classes.bylaws.quorum: a quorum is a short share like 50% or 2/3",
        ),
    ],
)
def test_a_bad_default_is_one_line_naming_the_key(overrides: dict[str, Any], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(None, **overrides)
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_the_defaults_read_as_typed_values() -> None:
    settings = load_settings(
        None, defaults={"quorum": "2/3", "reserve_share": "10%", "min_voting_time": "2h"}
    )
    config = effective(settings.defaults, {})
    assert config.quorum == Fraction(2, 3)
    assert config.reserve_share == Fraction(1, 10)
    assert config.min_voting_time == timedelta(hours=2)
