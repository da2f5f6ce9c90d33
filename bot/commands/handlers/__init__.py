"""Command handlers: each turns a parsed command into service calls and reply documents."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from bot.commands.parser import ParsedCommand
from bot.render.document import Reply
from bot.services.context import Context

Handler = Callable[[Context, ParsedCommand], Awaitable[list[Reply]]]
