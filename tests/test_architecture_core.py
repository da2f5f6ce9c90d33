"""The core facade (bot.app.Core) stays a thin composition root: one module per job behind
it, and the same public methods adapters and tests call."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.app import Core

ROOT = Path(__file__).resolve().parent.parent
MAX_APP_LINES = 260

CORE_METHODS = {
    "after_commands",
    "answer",
    "binds_room",
    "bootstrap_room",
    "card",
    "cards_of",
    "close",
    "decision_of",
    "deliver",
    "deliver_pending",
    "handle",
    "link_card",
    "link_live_card",
    "link_message",
    "live_cards_of",
    "mark_delivered",
    "messages_about",
    "optimize_database",
    "outbox_depth",
    "pending_deliveries",
    "prune_history",
    "pump",
    "replanned",
    "room_is_bound",
    "run_due_work",
    "secret_vote",
    "subject_of",
    "suggest",
    "sync_role_members",
    "threads_on",
    "vote_choices",
}


def test_the_core_facade_is_small_enough_to_read_at_once() -> None:
    lines = len((ROOT / "bot" / "app.py").read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_APP_LINES


def test_the_core_keeps_every_public_method() -> None:
    assert {name for name in vars(Core) if not name.startswith("_")} == CORE_METHODS


def test_every_core_module_says_in_a_line_what_it_is_for() -> None:
    missing = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "bot").rglob("*.py"))
        if "migrations" not in path.parts
        and not ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    ]
    assert missing == []
