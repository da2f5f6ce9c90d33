"""Finds platform adapters by name through the `coopbot.adapters` entry points, so the core
never imports one and a new platform can ship as its own package."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import cast

from bot.operator_errors import OperatorError
from bot.ports import ENTRY_POINT_GROUP, Platform


def installed() -> list[str]:
    """The names of the platforms installed (sorted)."""
    return sorted({ep.name for ep in entry_points(group=ENTRY_POINT_GROUP)})


def load(name: str) -> Platform:
    """The platform called `name`. A platform whose library is missing raises the
    ModuleNotFoundError of that import (bot.operator_errors names the extra to install);
    a name nothing provides is an OperatorError."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    if not found:
        names = ", ".join(installed()) or "none"
        raise OperatorError(
            f"no adapter for {name!r} is installed (installed: {names})",
            "reinstall coopbot (pip install -e .) so its adapters are registered",
            exit_code=2,
        )
    return cast(Platform, found[0].load())
