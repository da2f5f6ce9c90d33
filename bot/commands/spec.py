"""The types the command tree is written in: commands, their parameters and who may run them."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Permission(StrEnum):
    ANYONE = "anyone"
    MEMBER = "member"
    STEWARD = "steward"
    ROOM_ADMIN = "room admin"


class Kind(StrEnum):
    """How a parameter's raw text is read. The parser converts INT/ID kinds to int and
    NUMBER to Decimal through the bounded readers of bot.domain.numbers; every other kind
    stays a string for the service to interpret (durations and dates need the co-op's
    timezone, mentions need the platform), bounded in length by the parser first."""

    WORD = "word"  # one token
    REST = "rest"  # the rest of the text up to the first option (titles, notes, choices)
    INT = "int"
    DECISION_ID = "decision id"  # 7 or #7
    TASK_ID = "task id"  # 4 or #4
    NUMBER = "number"  # a decimal: hours, money
    MENTION = "mention"  # a member: platform mention token or @name
    WHEN = "when"  # a duration (3d) or a date (2026-12-01 18:00)
    DURATION = "duration"
    PERIOD = "period"  # week, month, 2026-W47, …
    RATIO = "ratio"  # a share of a whole: 50%, 2/3, 0.75
    BOOL = "yes/no"


@dataclass(frozen=True)
class Param:
    """One positional argument or `key:value` option of a command."""

    name: str
    kind: Kind
    help: str
    required: bool = True
    positional: bool = True
    choices: tuple[str, ...] = ()
    max_length: int | None = None
    # Free text may span lines only where a line break means something (a proposal's body);
    # everywhere else the parser joins the lines, so nobody can forge a line of the bot's.
    multiline: bool = False
    # A stricter role needed to use this parameter than the command itself needs (propose's
    # `opens:` is for stewards); the dispatcher checks it, the parser only records it.
    permission: Permission | None = None
    # Its values are the choices of the decision the command's `id` names: a platform that
    # completes what a member types offers that decision's choices (vote's `choice`).
    decision_choice: bool = False


@dataclass(frozen=True)
class Command:
    """One command of the tree: `("task", "claim")` with its parameters, declared once:
    the parser, `help`, the Discord slash command, the dispatcher's checks and the
    handler's typed arguments all come from here.

    `args` is the frozen dataclass its handler receives (bot.commands.args); the dispatcher
    finds the handler by it. `free_options` lets a command take any `key:value` (coop
    settings). `unbound_ok`: it runs in a room no co-op is bound to yet. `binds_room`: it
    makes its room a co-op's room (so not in a direct message). `changes_binding`: after it
    succeeds, what the room's binding lets the platform's roles do may have changed.
    `opens_card`: its decision card is a fresh message, not an update of posted ones.
    `reads`: it only reads; its answer is for the asker (`Say.read`), never a second live
    card (`show` links to the decision's live card instead)."""

    path: tuple[str, ...]
    summary: str
    params: tuple[Param, ...]
    permission: Permission
    example: str
    free_options: bool = False
    args: type[Any] = field(kw_only=True)
    unbound_ok: bool = field(default=False, kw_only=True)
    binds_room: bool = field(default=False, kw_only=True)
    changes_binding: bool = field(default=False, kw_only=True)
    opens_card: bool = field(default=False, kw_only=True)
    reads: bool = field(default=False, kw_only=True)

    @property
    def name(self) -> str:
        return " ".join(self.path)

    @property
    def positionals(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if p.positional)

    @property
    def options(self) -> tuple[Param, ...]:
        return tuple(p for p in self.params if not p.positional)
