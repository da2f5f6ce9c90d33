"""A worked example for `help <command>` made of the co-op's own current items."""

from __future__ import annotations

from bot.commands.spec import Command, Kind
from bot.render.document import Choices, Line, command, line


def worked_example(
    cmd: Command,
    decision: tuple[int, str] | None,
    task: tuple[int, str] | None,
    choices: Choices | None,
) -> Line | None:
    """`in this co-op: !vote 3 yes (#3 Buy a kettle is open)`: the command's own example
    with the number of the co-op's latest open decision (or active task) in place of the
    made-up one, and for `vote` a choice that decision takes. None when the command names
    no decision or task, or the co-op has none open."""
    kinds = {p.kind for p in cmd.params if p.positional}
    if Kind.DECISION_ID in kinds and decision is not None:
        number, title = decision
        about = f"#{number} {title} is open"
    elif Kind.TASK_ID in kinds and task is not None:
        number, title = task
        about = f"task {number} {title}"
    else:
        return None
    words = cmd.example.split()
    depth = len(cmd.path)
    if len(words) <= depth:
        return None
    words[depth] = str(number)
    if choices is not None and cmd.path == ("vote",) and len(words) > depth + 1:
        words[depth + 1] = choices.options[0].key if choices.options else words[depth + 1]
        words = words[: depth + 2]
    return line("in this co-op: ", command(" ".join(words)), " (", about, ")", indent=1)
