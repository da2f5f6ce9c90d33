"""The core stays platform-agnostic: nothing under bot/ imports discord, nio or an adapter
(not even lazily); adapters are found by name through entry points."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from bot.operator_errors import OperatorError

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("discord", "nio", "simcord")


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            names.add(node.args[0].value)
    return names


def test_no_module_under_bot_imports_a_platform_library() -> None:
    offenders = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        for name in _imported_modules(path):
            if name.split(".")[0] in FORBIDDEN:
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert offenders == []


def test_no_module_under_bot_imports_an_adapter() -> None:
    offenders = []
    for path in sorted((ROOT / "bot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        for name in _imported_modules(path):
            if name.split(".")[0] == "adapters":
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
        if '"adapters.' in text or 'f"adapters.' in text or "'adapters." in text:
            offenders.append(f"{path.relative_to(ROOT)} names an adapter module")
    assert offenders == []


def test_adapters_are_found_by_name_through_entry_points() -> None:
    from bot.platforms import installed, load
    from bot.ports import ENTRY_POINT_GROUP

    assert {"console", "discord", "matrix"} <= set(installed())
    console = load("console")
    assert callable(console.create_adapter) and callable(console.check)
    with pytest.raises(OperatorError) as refused:
        load("irc")
    assert "no adapter for 'irc' is installed" in refused.value.message
    assert ENTRY_POINT_GROUP == "coopbot.adapters"


def test_importing_the_whole_core_loads_no_platform_library() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts)
        for p in (ROOT / "bot").rglob("*.py")
        if p.name != "__main__.py" and "migrations" not in p.parts
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {(*FORBIDDEN, 'adapters')!r}]\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_adapters_read_typed_intents_not_the_cores_strings() -> None:
    """No adapter spells or parses a link subject, lists command names that open a card,
    fakes a `show` to refresh one, matches the room-binding commands, looks for a `vote`
    example in a reply's text, or writes discord.py's private attributes."""
    forbidden = (
        '"decision:',
        'f"decision:',
        "subject.split",
        "NEW_CARD_COMMANDS",
        '"show ',
        'f"show ',
        "__discord_app_commands_",
        "messages_about(",
        "link_message(",
        "subject_of(",
        "(setup|bind)",
        'startswith("vote ',
    )
    offenders = [
        f"{path.relative_to(ROOT)}: {needle}"
        for path in sorted((ROOT / "adapters").rglob("*.py"))
        for needle in forbidden
        if needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_one_drain_loop_for_every_adapter() -> None:
    """The outbox is drained by the core's Pump (an adapter may time its rounds with the
    platform's own timer); an adapter only sends natively."""
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "adapters").rglob("*.py"))
        if "deliver_pending(" in path.read_text(encoding="utf-8")
        and "core.deliver_pending(" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []


MAX_ADAPTER_LINES = 400


def test_every_adapter_file_is_small_enough_to_read_at_once() -> None:
    """No file under adapters/ grows past MAX_ADAPTER_LINES lines: a platform is split by
    responsibility (session, sync, intake, sending, …) into modules composed by its adapter."""
    offenders = [
        f"{path.relative_to(ROOT)}: {lines} lines"
        for path in sorted((ROOT / "adapters").rglob("*.py"))
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_ADAPTER_LINES
    ]
    assert offenders == []
