"""The `help` command's replies: the command list, one group, or one command in detail."""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands.parser import shown, suggest
from bot.commands.spec import Command, Kind, Param, Permission
from bot.commands.tree import CommandTree, Group, usage
from bot.errors import UserError
from bot.render.document import Bold, Code, Line, Reply, line

# Sections of the command list, by a command's first word, in the order shown.
_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Decisions", ("propose", "poll", "vote", "show", "list", "close", "extend", "withdraw")),
    ("Tasks", ("task",)),
    ("Contributions", ("log", "kudos", "tally", "summary", "patronage", "export")),
    ("Members", ("member",)),
    ("Co-op", ("coop",)),
    ("Help", ("help", "about")),
)

_WHO = {
    Permission.ANYONE: "anyone",
    Permission.MEMBER: "members",
    Permission.STEWARD: "stewards",
    Permission.ROOM_ADMIN: "room admins",
}

_KIND_HINTS = {
    Kind.INT: "a whole number",
    Kind.NUMBER: "a number like 2.5",
    Kind.MENTION: "a mention or @name",
    Kind.BOOL: "yes or no",
    Kind.RATIO: "a share like 50% or 2/3",
    Kind.DURATION: "a duration like 90m, 36h or 3d",
}


def who(permission: Permission) -> str:
    """Who may run a command, in words: "stewards"."""
    return _WHO[permission]


def _summary_line(command: Command, prefix: str) -> Line:
    return line(
        Code(text=prefix + usage(command)), f" — {command.summary} ({who(command.permission)})"
    )


def _overview(tree: CommandTree, prefix: str) -> Reply:
    blocks: list[Line] = [
        line(
            Bold(text="Commands"),
            " — type ",
            Code(text=f"{prefix}help <command>"),
            " for details, e.g. ",
            Code(text=f"{prefix}help vote"),
        ),
    ]
    sections = [(title, [c for c in tree if c.path[0] in heads]) for title, heads in _SECTIONS]
    # A command no section names still shows, so help never hides one.
    sections.append(("Other", [c for c in tree if not any(c.path[0] in h for _, h in _SECTIONS)]))
    for title, commands in sections:
        if not commands:
            continue
        blocks.append(line(Bold(text=title)))
        for command in commands:
            blocks.append(_summary_line(command, prefix).model_copy(update={"indent": 1}))
    return Reply(blocks=tuple(blocks))


def _group_reply(group: Group, prefix: str) -> Reply:
    blocks = [line(Bold(text=group.name), f" — {group.summary}")]
    blocks.extend(_summary_line(c, prefix).model_copy(update={"indent": 1}) for c in group.commands)
    blocks.append(
        line("Details: ", Code(text=f"{prefix}help {group.commands[0].name}"), " and so on")
    )
    return Reply(blocks=tuple(blocks))


def _param_line(param: Param) -> Line:
    label = f"{param.name}:" if not param.positional else f"<{param.name}>"
    if param.positional and param.kind is Kind.MENTION:
        label = f"@{param.name}"
    notes: list[str] = []
    if param.choices:
        notes.append("one of " + ", ".join(param.choices))
    elif param.kind in _KIND_HINTS:
        notes.append(_KIND_HINTS[param.kind])
    notes.append("required" if param.required else "optional")
    if param.max_length is not None:
        notes.append(f"at most {param.max_length} characters")
    if param.permission is not None:
        notes.append(f"{who(param.permission)} only")
    return line(Code(text=label), f" — {param.help} ({'; '.join(notes)})", indent=1)


def _command_reply(command: Command, prefix: str) -> Reply:
    blocks: list[Line] = [
        line(Code(text=prefix + usage(command))),
        line(command.summary[:1].upper() + command.summary[1:], indent=1),
        line(f"Who: {who(command.permission)}", indent=1),
    ]
    if command.params:
        blocks.append(line("Parameters:", indent=1))
        blocks.extend(_param_line(p) for p in command.params)
    blocks.append(line("Example: ", Code(text=prefix + command.example), indent=1))
    return Reply(blocks=tuple(blocks))


def _topic_words(topic: str, prefix: str) -> list[str]:
    words = topic.split()
    if words and prefix and words[0].startswith(prefix):
        words[0] = words[0][len(prefix) :]
    if words and words[0].startswith("/"):
        words[0] = words[0][1:]
    return [w for w in words if w]


def help_reply(tree: CommandTree, prefix: str = "!", topic: str | None = None) -> Reply:
    """The reply to `help` (no topic), `help task` (a group) or `help task claim`."""
    words: Sequence[str] = _topic_words(topic, prefix) if topic else []
    if not words:
        return _overview(tree, prefix)
    found = tree.match(words)
    if found is not None:
        return _command_reply(found[0], prefix)
    group = tree.group(words[0])
    if group is not None and len(words) == 1:
        return _group_reply(group, prefix)
    close = suggest(tree, words)
    list_hint = f"type `{prefix}help` for the list of commands"
    if close is not None:
        list_hint = f"did you mean `{prefix}help {close}`? — {list_hint}"
    raise UserError(f"No help for `{shown(' '.join(words))}`: there is no such command", list_hint)
