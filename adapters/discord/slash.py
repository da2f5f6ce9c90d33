"""Generates Discord application (slash) commands from the core's command tree.

Each command of the tree becomes a real discord.py `app_commands.Command` (grouped under
`/coop`, `/member`, `/task`, …), with typed options, choices and autocomplete; running one
turns its option values back into the canonical text the core parses."""

from __future__ import annotations

import inspect
import keyword
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import discord
from discord import app_commands

from adapters.discord.choices import choice_autocomplete
from adapters.discord.reads import PUBLIC_HELP, PUBLIC_OPTION, offers_public, public_parameter
from bot.commands.parser import bind, to_text
from bot.commands.spec import Command, Kind, Param
from bot.errors import UserError
from bot.render.document import Choices

DESCRIPTION_LIMIT = 100
CHOICES_LIMIT = 25
GROUP_DESCRIPTIONS = {
    "coop": "Set up this co-op, bind rooms and change its settings",
    "member": "The member registry: add, remove, roles, links",
    "task": "The task board: add, claim, finish and list tasks",
}
PERIOD_SUGGESTIONS = ("week", "month", "quarter", "year", "all")
FREE_OPTIONS_NAME = "changes"
SLASH = "/"  # how usage hints write a command on Discord
GUILD_ONLY = app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False)


@dataclass(frozen=True)
class SlashCall:
    """One slash command as the member filled it in, ready to become an Invocation."""

    command: Command
    text: str  # canonical text without prefix: `task claim 4`
    mentioned: Mapping[str, str]  # "discord:<id>" → display name
    error: UserError | None = None  # a value the parser refused; nothing reaches the core
    public: bool = False  # a read the member chose to share with the channel


class SlashRunner(Protocol):
    """What the generated commands call back into (the adapter)."""

    async def run_slash(self, interaction: discord.Interaction[Any], call: SlashCall) -> None: ...

    async def suggest(
        self, interaction: discord.Interaction[Any], kind: str, prefix: str
    ) -> Sequence[tuple[int, str]]:
        """(number, label) of decisions (`kind` "decision") or tasks ("task") in this room
        whose number or title starts with / contains `prefix`."""
        ...

    async def vote_choices(
        self, interaction: discord.Interaction[Any], number: int
    ) -> Choices | None:
        """The choices of open decision #`number` in this room's co-op."""
        ...


def short(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    text = " ".join(text.split()) or "…"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _annotation(param: Param) -> Any:
    # No min/max on number options and no max_length on text options: Discord would
    # refuse a value past them with its own generic words and never tell us. The parser
    # checks every bound (SPEC §7: ids 1 to 999,999,999, whole numbers 0 to 1,000,000,
    # text lengths) and says it in ours, changing nothing. Only Discord's own integer
    # type limit (±2**53) stays, far beyond ours.
    if param.kind in (Kind.DECISION_ID, Kind.TASK_ID, Kind.INT):
        return int
    if param.kind is Kind.MENTION:
        return discord.Member
    return str


def _py_name(index: int, param: Param) -> str:
    name = re.sub(r"\W", "_", param.name)
    if not name.isidentifier() or keyword.iskeyword(name) or name == "interaction":
        name = f"p{index}_{name}"
    return name


def _ordered(params: Sequence[Param]) -> list[Param]:
    # Discord wants every required option before the optional ones.
    return [p for p in params if p.required] + [p for p in params if not p.required]


def _value_text(param: Param, value: Any, mentioned: dict[str, str]) -> str:
    if isinstance(value, discord.Member | discord.User):
        mentioned[f"discord:{value.id}"] = value.display_name
        return f"<@{value.id}>"
    return str(value)


def slash_text(command: Command, values: Mapping[str, str], free: str = "") -> str:
    """The command as a member would have typed it (no prefix), from its option values.

    The values are checked with the parser's `bind` (a bad value raises UserError with a
    `/` usage hint) and written back with `to_text`, so `parse` reads the same values."""
    parsed = bind(command, values, prefix=SLASH)
    text = to_text(parsed)
    return f"{text} {free.strip()}" if free.strip() else text


def _number_autocomplete(runner: SlashRunner, kind: str) -> Any:
    async def autocomplete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[int]]:
        found = await runner.suggest(interaction, kind, current.strip().lstrip("#"))
        return [
            app_commands.Choice(name=short(f"#{number} {label}"), value=number)
            for number, label in found[:CHOICES_LIMIT]
        ]

    return autocomplete


def _fixed_autocomplete(options: Sequence[str]) -> Any:
    async def autocomplete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        typed = current.strip().casefold()
        found = [o for o in options if typed in o.casefold()]
        return [app_commands.Choice(name=short(o), value=o) for o in found[:CHOICES_LIMIT]]

    return autocomplete


async def _period_autocomplete(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    typed = current.strip()
    offered = [p for p in PERIOD_SUGGESTIONS if p.startswith(typed.lower())]
    if any(ch.isdigit() for ch in typed):
        offered.insert(0, typed)  # explicit periods such as 2026-W47 pass straight through
    return [app_commands.Choice(name=p, value=p) for p in offered[:CHOICES_LIMIT]]


def build_command(command: Command, runner: SlashRunner) -> app_commands.Command[Any, ..., None]:
    """One tree command as an app command whose callback hands a SlashCall to `runner`."""
    ordered = _ordered(command.params)
    names = {param.name: _py_name(index, param) for index, param in enumerate(ordered)}
    read = offers_public(command) and PUBLIC_OPTION not in names.values()
    by_py = {names[p.name]: p for p in ordered}

    async def callback(interaction: discord.Interaction[Any], **kwargs: Any) -> None:
        mentioned: dict[str, str] = {}
        values = {
            by_py[py].name: _value_text(by_py[py], value, mentioned)
            for py, value in kwargs.items()
            if py in by_py and value is not None
        }
        free = str(kwargs.get(FREE_OPTIONS_NAME) or "") if command.free_options else ""
        public = bool(kwargs.get(PUBLIC_OPTION)) if read else False
        try:
            text = slash_text(command, values, free)
        except UserError as exc:
            await runner.run_slash(interaction, SlashCall(command, "", mentioned, exc, public))
            return
        await runner.run_slash(interaction, SlashCall(command, text, mentioned, public=public))

    parameters = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    descriptions: dict[str, str] = {}
    renames: dict[str, str] = {}
    choices: dict[str, list[app_commands.Choice[str]]] = {}
    autocomplete: dict[str, Any] = {}
    for param in ordered:
        py = names[param.name]
        parameters.append(
            inspect.Parameter(
                py,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=_annotation(param),
                default=inspect.Parameter.empty if param.required else None,
            )
        )
        descriptions[py] = short(param.help)
        if py != param.name:
            renames[py] = param.name
        options = param.choices or (("yes", "no") if param.kind is Kind.BOOL else ())
        if len(options) > CHOICES_LIMIT:
            autocomplete[py] = _fixed_autocomplete(options)  # Discord shows 25 choices at most
        elif options:
            choices[py] = [app_commands.Choice(name=c, value=c) for c in options]
        elif param.decision_choice:
            autocomplete[py] = choice_autocomplete(runner)  # the decision's own choices
        elif param.kind is Kind.DECISION_ID:
            autocomplete[py] = _number_autocomplete(runner, "decision")
        elif param.kind is Kind.TASK_ID:
            autocomplete[py] = _number_autocomplete(runner, "task")
        elif param.kind is Kind.PERIOD:
            autocomplete[py] = _period_autocomplete
    if command.free_options and FREE_OPTIONS_NAME not in names.values():
        parameters.append(
            inspect.Parameter(
                FREE_OPTIONS_NAME,
                inspect.Parameter.POSITIONAL_OR_KEYWORD,
                annotation=str,
                default=None,
            )
        )
        descriptions[FREE_OPTIONS_NAME] = "key:value pairs to change, e.g. timezone:Europe/Berlin"
    if read:
        parameters.append(public_parameter())
        descriptions[PUBLIC_OPTION] = PUBLIC_HELP

    # The options are the callback's parameters (a signature built from the tree); their
    # descriptions, names, choices and autocomplete go through discord.py's public
    # decorators, applied to the callback before the Command reads them. discord.py reads
    # an app command's options only from `inspect.signature(callback)` and has no public
    # constructor for a list of options; `__signature__` is how Python (PEP 362) lets a
    # function built at run time state its signature, so it is set here (mypy does not
    # know the attribute on a function object, hence the ignore).
    callback.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    callback.__qualname__ = callback.__name__ = "slash_" + "_".join(command.path)
    decorated = app_commands.describe(**descriptions)(callback)
    decorated = app_commands.rename(**renames)(decorated)
    decorated = app_commands.choices(**choices)(decorated)
    decorated = app_commands.autocomplete(**autocomplete)(decorated)
    return app_commands.Command(
        name=command.path[-1],
        description=short(command.summary),
        callback=decorated,
        allowed_contexts=GUILD_ONLY if len(command.path) == 1 else None,
        extras={"coopbot_command": command.name},
    )


def build_app_commands(
    commands: Iterable[Command], runner: SlashRunner
) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """Top-level app commands and groups for every command of the tree, in tree order."""
    top: dict[str, app_commands.Command[Any, ..., None] | app_commands.Group] = {}
    for command in commands:
        if len(command.path) == 1:
            top[command.path[0]] = build_command(command, runner)
            continue
        if len(command.path) != 2:
            raise ValueError(f"command {command.name!r}: Discord nests at most one group here")
        group_name = command.path[0]
        group = top.get(group_name)
        if group is None:
            group = app_commands.Group(
                name=group_name,
                description=short(GROUP_DESCRIPTIONS.get(group_name, f"{group_name} commands")),
                allowed_contexts=GUILD_ONLY,
            )
            top[group_name] = group
        if not isinstance(group, app_commands.Group):
            raise ValueError(f"{group_name!r} is both a command and a group")
        group.add_command(build_command(command, runner))
    return list(top.values())
