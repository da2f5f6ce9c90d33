"""Each command's arguments as one frozen dataclass: what its handler receives, typed.

A command's declaration in the tree names its arguments class (`Command.args`); the parser
fills it from the checked values (`ParsedCommand.args`), and the dispatcher finds the
handler by that class, so a handler's signature (`show(ctx, args: ShowArgs)`) is checked
by mypy against what the parser gives. `check_args` holds a declaration and its class in
step: one field per parameter (a keyword gets a trailing `_`: `class:` is `class_`), no
default for a required one, and the type the parameter's kind converts to."""

from __future__ import annotations

import dataclasses
import keyword
import types
import typing
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from functools import cache
from typing import Any, cast

from bot.commands.spec import Command, Kind
from bot.domain.polls import PollMethod
from bot.domain.proposals import ProposalMethod
from bot.domain.vocabulary import Role

# What each kind of parameter is converted to by the parser (bot.commands.parser._convert).
_KIND_TYPES: Mapping[Kind, type] = {
    Kind.INT: int,
    Kind.DECISION_ID: int,
    Kind.TASK_ID: int,
    Kind.NUMBER: Decimal,
    Kind.BOOL: bool,
}
# The field of a command that takes any `key:value` (coop settings): every given setting.
FREE_FIELD = "changes"


def field_name(param_name: str) -> str:
    """The arguments field of a parameter: its name, `_` appended to a Python keyword."""
    name = param_name.replace("-", "_")
    return f"{name}_" if keyword.iskeyword(name) else name


@cache
def _hints(args: object) -> dict[str, Any]:
    """The field types of an arguments class, read once (reading them is slow)."""
    return typing.get_type_hints(args)


def _optional(hint: Any) -> tuple[Any, bool]:
    """(the type inside `X | None`, True) or (hint, False)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        inner = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(inner) < len(typing.get_args(hint)):
            return (inner[0] if len(inner) == 1 else typing.Union[tuple(inner)]), True  # noqa: UP007
    return hint, False


def _enum(hint: Any) -> type[StrEnum] | None:
    return hint if isinstance(hint, type) and issubclass(hint, StrEnum) else None


def build_args(command: Command, values: Mapping[str, object], extra: Mapping[str, str]) -> Any:
    """The command's arguments object from the parser's checked values."""
    if command.free_options:
        changes = {k: str(v) for k, v in values.items() if v is not None}
        changes.update(extra)
        return command.args(**{FREE_FIELD: changes})
    hints = _hints(cast(Hashable, command.args))
    given: dict[str, object] = {}
    for param in command.params:
        if param.name not in values:
            continue
        name = field_name(param.name)
        value = values[param.name]
        enum = _enum(_optional(hints[name])[0])
        given[name] = enum(str(value)) if enum is not None else value
    return command.args(**given)


def check_args(command: Command) -> None:
    """Raise ValueError when the command's arguments class does not match its parameters."""
    args = command.args
    params = getattr(args, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise ValueError(f"{command.name}: {args.__name__} is not a frozen dataclass")
    fields = {f.name: f for f in dataclasses.fields(args)}
    hints = _hints(cast(Hashable, args))
    if command.free_options:
        if set(fields) != {FREE_FIELD}:
            raise ValueError(f"{command.name}: {args.__name__} must hold only `{FREE_FIELD}`")
        return
    wanted = {field_name(p.name): p for p in command.params}
    if set(fields) != set(wanted):
        raise ValueError(
            f"{command.name}: {args.__name__} has fields {sorted(fields)}, "
            f"the command has parameters {sorted(wanted)}"
        )
    for name, param in wanted.items():
        has_default = fields[name].default is not dataclasses.MISSING
        inner, optional = _optional(hints[name])
        fits = not (has_default or optional) if param.required else has_default and optional
        if not fits:
            state = "required" if param.required else "optional"
            raise ValueError(f"{command.name}: `{name}` is {state}; its field must say so")
        expected = _KIND_TYPES.get(param.kind, str)
        enum = _enum(inner)
        if enum is not None:
            if expected is not str or set(param.choices) != {e.value for e in enum}:
                raise ValueError(f"{command.name}: `{name}` has other choices than {enum}")
        elif inner is not expected:
            raise ValueError(f"{command.name}: `{name}` is {expected.__name__}, not {inner}")


# ---------------------------------------------------------------------------------------------
# The arguments of every command (bot.commands.tree names each in its declaration).


@dataclass(frozen=True)
class NoArgs:
    """A command without parameters."""


@dataclass(frozen=True)
class AboutArgs(NoArgs):
    pass


@dataclass(frozen=True)
class SummaryArgs(NoArgs):
    pass


@dataclass(frozen=True)
class CoopCodeArgs(NoArgs):
    pass


@dataclass(frozen=True)
class HelpArgs:
    command: str | None = None


@dataclass(frozen=True)
class ProposeArgs:
    title: str
    body: str | None = None
    method: ProposalMethod | None = None
    class_: str | None = None
    quorum: str | None = None
    threshold: str | None = None
    opens: str | None = None
    closes: str | None = None
    secret: bool | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PollArgs:
    question: str
    options: str
    method: PollMethod | None = None
    quorum: str | None = None
    opens: str | None = None
    closes: str | None = None
    secret: bool | None = None
    reason: str | None = None


@dataclass(frozen=True)
class VoteArgs:
    id: int
    choice: str
    reason: str | None = None


@dataclass(frozen=True)
class DecisionArgs:
    """A command about one decision: `id` is its number."""

    id: int


@dataclass(frozen=True)
class ShowArgs(DecisionArgs):
    pass


@dataclass(frozen=True)
class CloseArgs(DecisionArgs):
    pass


@dataclass(frozen=True)
class WithdrawArgs(DecisionArgs):
    pass


@dataclass(frozen=True)
class ExtendArgs:
    id: int
    duration: str


@dataclass(frozen=True)
class ListArgs:
    state: str | None = None


@dataclass(frozen=True)
class TaskAddArgs:
    title: str
    points: int | None = None
    due: str | None = None
    from_: int | None = None


@dataclass(frozen=True)
class TaskArgs:
    """A command about one task: `id` is its number."""

    id: int


@dataclass(frozen=True)
class TaskClaimArgs(TaskArgs):
    pass


@dataclass(frozen=True)
class TaskUnclaimArgs(TaskArgs):
    pass


@dataclass(frozen=True)
class TaskDoneArgs(TaskArgs):
    pass


@dataclass(frozen=True)
class TaskCancelArgs(TaskArgs):
    pass


@dataclass(frozen=True)
class TaskAssignArgs:
    id: int
    member: str


@dataclass(frozen=True)
class TaskListArgs:
    state: str | None = None


@dataclass(frozen=True)
class LogArgs:
    hours: Decimal
    note: str | None = None
    category: str | None = None


@dataclass(frozen=True)
class KudosArgs:
    member: str
    note: str
    points: int | None = None


@dataclass(frozen=True)
class TallyArgs:
    period: str | None = None
    member: str | None = None
    page: int | None = None


@dataclass(frozen=True)
class PatronageArgs:
    surplus: Decimal
    period: str | None = None


@dataclass(frozen=True)
class ExportArgs:
    kind: str
    period: str | None = None


@dataclass(frozen=True)
class MemberAddArgs:
    member: str
    role: Role | None = None


@dataclass(frozen=True)
class MemberRemoveArgs:
    member: str


@dataclass(frozen=True)
class MemberRoleArgs:
    member: str
    role: Role


@dataclass(frozen=True)
class MemberListArgs:
    page: int | None = None


@dataclass(frozen=True)
class MemberLinkArgs:
    code: str | None = None


@dataclass(frozen=True)
class CoopSetupArgs:
    name: str


@dataclass(frozen=True)
class CoopBindArgs:
    code: str


@dataclass(frozen=True)
class CoopSettingsArgs:
    """Every `key:value` given, in the order given (declared settings and any other key,
    which the service refuses by name)."""

    changes: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CoopSyncArgs:
    mode: str | None = None


@dataclass(frozen=True)
class CoopUndoArgs:
    change: int


@dataclass(frozen=True)
class CoopOutboxArgs:
    action: str | None = None
