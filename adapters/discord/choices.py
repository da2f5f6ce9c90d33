"""Completes a vote's choice on Discord from the decision's own method and options."""

from __future__ import annotations

from typing import Any, Protocol

import discord
from discord import app_commands

from bot.render.document import Choices

CHOICES_LIMIT = 25
NAME_LIMIT = 100
# How a ballot lists several options, by method (single options need no separator).
SEPARATORS = {"approval": ",", "ranked": ">"}


class ChoiceSource(Protocol):
    async def vote_choices(
        self, interaction: discord.Interaction[Any], number: int
    ) -> Choices | None: ...


def _name(text: str) -> str:
    return text if len(text) <= NAME_LIMIT else text[: NAME_LIMIT - 1] + "…"


def offered(choices: Choices, typed: str) -> list[tuple[str, str]]:
    """(shown, value) pairs for what the member typed so far: each option (`A — Lakehouse`
    or `yes`); for approval and ranked polls, what they typed continued by each option not
    in it yet (`A,C`, `C>A`); and the method's example when nothing fits."""
    typed = typed.strip()
    sep = SEPARATORS.get(choices.method)
    keys = {o.key.casefold(): o for o in choices.options}
    found: list[tuple[str, str]] = []
    if sep and typed and (typed.endswith(sep) or typed.split(sep)[-1].casefold() in keys):
        head = typed.rstrip(sep)
        used = {part.strip().casefold() for part in head.split(sep)}
        for option in choices.options:
            if option.key.casefold() not in used:
                value = f"{head}{sep}{option.key}"
                parts = [keys.get(k.strip().casefold()) for k in value.split(sep)]
                labels = [o.label for o in parts if o is not None]
                joined = (" then " if sep == ">" else ", ").join(labels)
                found.append((f"{value} — {joined}", value))
    low = typed.casefold()
    for option in choices.options:
        shown = option.key if option.key == option.label else f"{option.key} — {option.label}"
        if not low or option.key.casefold().startswith(low) or low in option.label.casefold():
            found.append((shown, option.key))
    if not found and choices.vote_command:
        example = choices.vote_command.split(" ", 2)[-1]
        found.append((f"e.g. {example}", example))
    return [(_name(shown), value[:NAME_LIMIT]) for shown, value in found[:CHOICES_LIMIT]]


def choice_autocomplete(source: ChoiceSource) -> Any:
    """The autocomplete callback of a vote's `choice`: the decision is the `id` already
    filled in (none yet: nothing to offer)."""

    async def autocomplete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        number = getattr(interaction.namespace, "id", None)
        if not isinstance(number, int):
            return []
        choices = await source.vote_choices(interaction, number)
        if choices is None:
            return []
        return [app_commands.Choice(name=n, value=v) for n, v in offered(choices, current)]

    return autocomplete
