"""/healthz and /metrics tell an operator how the bot is; logs are text or JSON and never
carry a token or a secret choice."""

from __future__ import annotations

import io
import json
import logging
import socket
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from bot.app import Core
from bot.clock import ManualClock
from bot.config import load_settings
from bot.http_server import HttpEndpoint
from bot.invocation import CAP_EPHEMERAL
from bot.logs import configure_logging
from bot.supervise import Supervisor
from tests.support import say, setup_coop


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def endpoint(core: Core) -> AsyncIterator[str]:
    port = _free_port()
    served = HttpEndpoint(core, [], f"127.0.0.1:{port}")
    await served.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await served.stop()


async def test_metrics_count_commands_votes_and_pending_announcements(
    core: Core, endpoint: str, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a printer closes:3d secret:yes")
    await say(core, "bob", "!vote 1 no")
    await say(core, "bob", "!vote 99 yes")
    clock.advance(timedelta(days=3, minutes=1))
    await core.run_due_work()  # the result waits in the outbox for the console
    async with aiohttp.ClientSession() as http, http.get(f"{endpoint}/metrics") as answer:
        assert answer.status == 200
        text = await answer.text()
    assert 'coopbot_commands_total{command="vote",outcome="ok"} 1.0' in text
    assert 'coopbot_commands_total{command="vote",outcome="refused"} 1.0' in text
    assert "coopbot_votes_cast_total 1.0" in text
    assert 'coopbot_command_seconds_bucket{command="propose",le="+Inf"} 1.0' in text
    assert 'coopbot_outbox_pending{platform="console"} 1.0' in text
    assert "coopbot_scheduler_lag_seconds 0.0" in text
    # Labels are command names and outcomes only: no member, no title, no choice.
    assert "bob" not in text and "printer" not in text and '"no"' not in text


async def test_healthz_reports_the_database_and_each_adapter(core: Core, endpoint: str) -> None:
    async with aiohttp.ClientSession() as http, http.get(f"{endpoint}/healthz") as answer:
        assert answer.status == 200
        report = await answer.json()
    assert report["status"] == "ok" and report["database"] == {"ok": True}
    assert report["outbox"] == {"pending": {}, "dead": {}, "oldest_seconds": 0.0}

    class Down:
        """A platform that cannot connect (the homeserver is down)."""

        platform = "matrix"
        capabilities = frozenset[str]()

        async def run(self, core: object) -> None:
            raise ConnectionError("cannot reach the Matrix homeserver https://m.example.org")

        async def stop(self) -> None:
            pass

    supervisor = Supervisor("matrix", Down, core)
    supervisor.state, supervisor.last_error = "retrying", "cannot reach https://m.example.org"
    port = _free_port()
    served = HttpEndpoint(core, [supervisor], f"127.0.0.1:{port}")
    await served.start()
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        async with aiohttp.ClientSession() as http, http.get(url) as answer:
            assert answer.status == 503
            report = await answer.json()
    finally:
        await served.stop()
    assert report["adapters"]["matrix"] == {
        "state": "retrying",
        "connected": False,
        "error": "cannot reach https://m.example.org",
    }


def test_json_logs_and_no_secret_in_any_log_line() -> None:
    settings = load_settings(
        None,
        log_format="json",
        database_url="postgresql://coopbot:db-password-1@db/coopbot",
        discord={"token": "MTIz.discord-token-abc"},
        matrix={"access_token": "syt_matrix_token_xyz"},
    )
    stream = io.StringIO()
    configure_logging(settings, level="DEBUG", stream=stream)
    log = logging.getLogger("adapters.test")
    log.debug("sending with Authorization: Bot %s", "MTIz.discord-token-abc")
    try:
        raise RuntimeError("login failed for syt_matrix_token_xyz")
    except RuntimeError:
        log.exception("connect to postgresql://coopbot:db-password-1@db failed")
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    lines = [entry for entry in entries if entry["logger"] == "adapters.test"]
    assert [entry["level"] for entry in lines] == ["DEBUG", "ERROR"]
    assert lines[0]["message"] == "sending with Authorization: Bot [redacted]"
    assert "traceback" in lines[1]
    for secret in ("MTIz.discord-token-abc", "syt_matrix_token_xyz", "db-password-1"):
        assert secret not in stream.getvalue()
    logging.getLogger().handlers.clear()


async def test_at_debug_no_sql_parameter_carries_a_secret_choice(core: Core) -> None:
    await setup_coop(core)
    await say(core, "alice", '!poll Retreat? options:"Lakehouse-7Q | Cabin-3X" secret:yes')
    stream = io.StringIO()
    configure_logging(load_settings(None), level="DEBUG", stream=stream)
    # Where a reply is private (Discord), the answer repeats the choice: it is stored in the
    # outbox with the vote, so both are SQL parameters.
    private = frozenset({CAP_EPHEMERAL})
    try:
        seen = await say(core, "bob", "!vote 1 Lakehouse-7Q", capabilities=private)
        await say(core, "carol", "!vote 1 B", capabilities=private)
    finally:
        logging.getLogger().handlers.clear()
    assert "recorded" in seen and "Lakehouse-7Q" in seen
    logged = stream.getvalue()
    # The database drivers would log every statement with its parameters at DEBUG: the
    # stored choice and the stored answer naming it.
    assert "Lakehouse-7Q" not in logged and "Cabin-3X" not in logged, logged
