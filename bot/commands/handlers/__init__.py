"""Command handlers: each turns a command's typed arguments into service calls and reply
documents. A handler is routed by its command's arguments class (`route(ShowArgs, show)`),
so mypy checks that it takes what the parser gives that command."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from bot.render.document import Reply
from bot.services.context import Context

A = TypeVar("A")

Handler = Callable[[Context, A], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class Route(Generic[A]):
    """The handler of the command whose arguments class is `args`."""

    args: type[A]
    handler: Handler[A]


def route(args: type[A], handler: Handler[A]) -> Route[A]:
    return Route(args, handler)


def by_args(routes: Iterable[Route[Any]]) -> Mapping[type, Handler[Any]]:
    """The handlers keyed by arguments class; a class routed twice is a bug."""
    found: dict[type, Handler[Any]] = {}
    for each in routes:
        if each.args in found:
            raise ValueError(f"{each.args.__name__} is routed twice")
        found[each.args] = each.handler
    return found
