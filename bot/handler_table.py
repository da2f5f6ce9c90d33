"""Every command's handler in one table, keyed by the command's arguments class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.commands.handlers import Handler, by_args
from bot.commands.handlers import contributions as contribution_handlers
from bot.commands.handlers import coop as coop_handlers
from bot.commands.handlers import decisions as decision_handlers
from bot.commands.handlers import outbox as outbox_handlers
from bot.commands.handlers import reports as report_handlers
from bot.commands.handlers import tasks as task_handlers
from bot.commands.handlers.help import help_routes
from bot.commands.tree import CommandTree


def all_handlers(tree: CommandTree) -> Mapping[type, Handler[Any]]:
    """Every command's handler, keyed by its arguments class (`Command.args`); the
    dispatcher checks none is missing."""
    return by_args(
        [
            *coop_handlers.routes(),
            *decision_handlers.routes(),
            *task_handlers.routes(),
            *contribution_handlers.routes(),
            *report_handlers.routes(),
            *outbox_handlers.routes(),
            *help_routes(tree),
        ]
    )
