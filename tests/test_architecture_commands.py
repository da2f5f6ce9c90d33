"""Each command is declared once, and nothing outside the core interprets command names:
handlers take typed arguments (no `type: ignore` at the seam), and no adapter keeps a set
of command names to decide what the core's answer meant."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from bot.commands.tree import build_command_tree

ROOT = Path(__file__).resolve().parent.parent


def _command_words() -> tuple[set[str], set[tuple[str, ...]]]:
    """Every command's name (`coop setup`, `vote`) and path (("coop", "setup"),)."""
    tree = build_command_tree()
    return {c.name for c in tree}, {c.path for c in tree}


def _collections(source: str) -> Iterator[tuple[int, list[ast.expr]]]:
    """(line, elements) of every set, tuple or list literal and frozenset()/set() call."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Set | ast.Tuple | ast.List):
            yield node.lineno, list(node.elts)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in ("frozenset", "set")
            and node.args
            and isinstance(node.args[0], ast.Set | ast.Tuple | ast.List)
        ):
            yield node.lineno, list(node.args[0].elts)


def _strings(node: ast.expr) -> tuple[str, ...] | str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Tuple) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts
    ):
        return tuple(e.value for e in node.elts)  # type: ignore[attr-defined]
    return None


def command_name_sets(source: str) -> list[int]:
    """Lines holding a collection of two or more command names or paths: a set of
    commands an adapter would match the core's work against."""
    names, paths = _command_words()
    found = []
    for line, elements in _collections(source):
        values = [_strings(e) for e in elements]
        hits = [v for v in values if v in names or v in paths]
        multiword = [v for v in hits if isinstance(v, tuple) or " " in str(v)]
        if len(hits) >= 2 and multiword and all(v is not None for v in values):
            found.append(line)
    return sorted(set(found))


def test_the_detector_finds_a_set_of_command_names() -> None:
    old = 'BINDING = frozenset({("coop", "setup"), ("coop", "bind"), ("coop", "sync")})\n'
    assert command_name_sets(old) == [1]
    assert command_name_sets('X = frozenset({"coop setup", "coop bind"})\n') == [1]
    assert command_name_sets('X = ("open", "closed", "all")\n') == []


def test_no_adapter_keeps_a_set_of_command_names() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in sorted((ROOT / "adapters").rglob("*.py"))
        for line in command_name_sets(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_the_dispatcher_keeps_no_set_of_command_names_either() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in (
            ROOT / "bot" / "dispatch.py",
            ROOT / "bot" / "app.py",
            ROOT / "bot" / "intents.py",
        )
        for line in command_name_sets(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_no_handler_silences_the_type_checker() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "bot" / "commands").rglob("*.py"))
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "type: ignore" in text
    ]
    assert offenders == []
