"""Cancellation is never swallowed by how the code waits: no task is awaited under
suppress(CancelledError) (bot.tasks.cancel_and_wait ends one), and asyncio.wait_for wraps
nothing whose result or cancellation matters (on Python 3.11 it can return a result to a
caller cancelled as that result came, swallowing the cancellation; `asyncio.timeout` cannot).
Waiting for an Event with wait_for stays allowed: it has no result to keep, and a stop it
misses is the event it waits for."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _calls(path: Path) -> Iterator[ast.Call]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    yield from (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return node.attr
    return node.id if isinstance(node, ast.Name) else ""


def _sources() -> Iterator[Path]:
    for folder in ("bot", "adapters"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_task_is_awaited_under_a_suppressed_cancellation() -> None:
    offenders = []
    for path in _sources():
        where = str(path.relative_to(ROOT))
        for call in _calls(path):
            suppressed = {_name(arg) for arg in call.args}
            if _name(call.func) == "suppress" and "CancelledError" in suppressed:
                offenders.append(where)
    assert offenders == [], "use cancel_and_wait"


def test_wait_for_only_waits_for_an_event() -> None:
    offenders = []
    for path in _sources():
        for call in _calls(path):
            if not (
                isinstance(call.func, ast.Attribute)
                and call.func.attr == "wait_for"
                and _name(call.func.value) == "asyncio"
            ):
                continue
            waited = call.args[0] if call.args else None
            if not (isinstance(waited, ast.Call) and _name(waited.func) == "wait"):
                offenders.append(f"{path.relative_to(ROOT)}:{call.lineno}")
    assert offenders == [], "use `async with asyncio.timeout(...)`"
