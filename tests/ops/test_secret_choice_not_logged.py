"""No log line at any level carries a secret choice or a block's reason: not when a vote
goes through, not when the database refuses it, not when it breaks (console, Core.handle)."""

from __future__ import annotations

import logging

import pytest

from bot.app import Core
from bot.config import load_settings
from bot.failure_log import WITHHELD, withheld_traceback
from bot.invocation import CAP_EPHEMERAL
from bot.logs import configure_logging
from tests.secret_logs import all_logs, break_votes, refuse_votes
from tests.support import say, setup_coop

RANKED = "Farm-9Z>Cabin-3X>Lakehouse-7Q"
STORED = "C>B>A"  # the same ballot by option letters, as it is stored
REASON = "the-night-shift-QX7 is left out"
PRIVATE = frozenset({CAP_EPHEMERAL})


async def _secret_decisions(core: Core) -> None:
    await setup_coop(core, members=("bob", "carol", "dan"))
    polled = await say(
        core,
        "alice",
        '!poll Retreat? options:"Lakehouse-7Q | Cabin-3X | Farm-9Z" method:ranked secret:yes',
    )
    assert "Poll #1 opened" in polled, polled
    proposed = await say(core, "alice", "!propose Adopt the rota method:consent secret:yes")
    assert "Proposal #2 opened" in proposed, proposed


def _secrets(seen: str) -> tuple[str, ...]:
    """The choice as typed, as the voter sees it confirmed, and the reason."""
    confirmed = seen.split("recorded:", 1)[1].strip().splitlines()[0] if "recorded:" in seen else ""
    return tuple(s for s in (RANKED, STORED, confirmed, "Farm-9Z > Cabin-3X", REASON) if s)


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_at_debug_no_log_line_carries_a_secret_choice_or_reason(
    core: Core, log_format: str
) -> None:
    await _secret_decisions(core)
    with all_logs(core.settings, log_format=log_format) as logs:
        ranked = await say(core, "bob", f"!vote 1 {RANKED}", capabilities=PRIVATE)
        blocked = await say(core, "carol", f'!vote 2 block reason:"{REASON}"', capabilities=PRIVATE)
        changed = await say(core, "bob", "!vote 1 C>B>A")
        shown = await say(core, "dan", "!show 1")
        await say(core, "alice", "!close 1")
    assert "Your vote on #1 is recorded" in ranked and "Farm-9Z" in ranked, ranked
    assert "recorded" in blocked and "block" in blocked, blocked
    assert "is changed" in changed and "turnout 1/4" in shown, (changed, shown)
    assert not logs.quoting(*_secrets(ranked)), logs.quoting(*_secrets(ranked))
    # Logging did run at DEBUG: the dispatcher said which command ran, by name and ids.
    assert any("vote by console:bob in console:local" in t for t in logs.texts()), logs.texts()


async def test_a_vote_the_database_refuses_is_logged_without_its_choice(core: Core) -> None:
    """PostgreSQL's refusal quotes the failing row; SQLAlchemy's error its parameters."""
    await _secret_decisions(core)
    await refuse_votes(core)
    with all_logs(core.settings) as logs:
        ranked = await say(core, "bob", f"!vote 1 {RANKED}")
        blocked = await say(core, "carol", f'!vote 2 block reason:"{REASON}"')
    assert "recorded" not in ranked and "recorded" not in blocked, (ranked, blocked)
    secrets = (RANKED, STORED, "Farm-9Z > Cabin-3X", "Farm-9Z>", REASON)
    assert not logs.quoting(*secrets), logs.quoting(*secrets)
    failures = [r for r in logs.records if r.name == "bot.dispatch" and r.exc_text]
    assert len(failures) == 2, [r.getMessage() for r in logs.records]
    # The operator still learns what failed, where, and from which message.
    assert "vote: integrity conflict in console:local" in failures[0].getMessage()
    assert "IntegrityError" in str(failures[0].exc_text) and WITHHELD in str(failures[0].exc_text)


async def test_a_vote_that_breaks_is_logged_by_command_name_not_by_its_text(core: Core) -> None:
    await _secret_decisions(core)
    await break_votes(core)
    with all_logs(core.settings) as logs:
        ranked = await say(core, "bob", f"!vote 1 {RANKED}")
        blocked = await say(core, "carol", f'!vote 2 block reason:"{REASON}"')
    assert "Something went wrong on our side" in ranked and "went wrong" in blocked
    secrets = (RANKED, STORED, "Farm-9Z>", REASON)
    assert not logs.quoting(*secrets), logs.quoting(*secrets)
    failures = [r for r in logs.records if r.name == "bot.dispatch" and r.levelno == logging.ERROR]
    assert [r.getMessage().split(" (")[0] for r in failures] == [
        "vote failed in console:local",
        "vote failed in console:local",
    ]
    assert "Traceback (most recent call last)" in str(failures[0].exc_text)


def test_library_loggers_that_quote_messages_stay_quiet_at_debug() -> None:
    """discord.py's gateway and HTTP logs print every event and every body at DEBUG;
    matrix-nio's print whole responses and events that fail their schema."""
    settings = load_settings(None)
    root = logging.getLogger()
    saved = list(root.handlers)
    try:
        configure_logging(settings, level="DEBUG")
        assert logging.getLogger("bot.dispatch").isEnabledFor(logging.DEBUG)
        assert logging.getLogger("discord.client").isEnabledFor(logging.DEBUG)
        for name, quiet_below in (
            ("discord.gateway", logging.INFO),
            ("discord.http", logging.INFO),
            ("nio.responses", logging.ERROR),
            ("nio.events", logging.CRITICAL),
            ("aiosqlite", logging.INFO),
            ("peewee", logging.INFO),
            ("sqlalchemy.engine.Engine", logging.WARNING),
        ):
            logger = logging.getLogger(name)
            assert not logger.isEnabledFor(quiet_below - 10), name
    finally:
        for handler in list(root.handlers):
            root.removeHandler(handler)
        for handler in saved:
            root.addHandler(handler)


def test_a_withheld_traceback_keeps_frames_types_and_causes_but_no_message() -> None:
    choice = "-".join(("Farm", "9Z>Cabin", "3X"))

    def count_ballot() -> None:
        raise ValueError(choice)

    try:
        try:
            count_ballot()
        except ValueError as exc:
            raise RuntimeError(f"could not count {exc}") from exc
    except RuntimeError as exc:
        shown = withheld_traceback(exc)
    assert choice not in shown
    assert "in count_ballot" in shown and "raise ValueError(choice)" in shown
    assert f"ValueError: {WITHHELD}" in shown and f"RuntimeError: {WITHHELD}" in shown
    assert "The above exception was the direct cause" in shown
