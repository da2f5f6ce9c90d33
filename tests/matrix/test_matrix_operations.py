"""Running it for a year on Matrix: `coopbot check` against a real Synapse, and each
platform under its own supervisor, so that a platform that is down or refuses the bot
never stops the others."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest
from nio import AsyncClient, LoginResponse

from adapters.discord import DiscordAdapter
from adapters.matrix import MatrixAdapter
from adapters.matrix import preflight as matrix_check
from bot.app import Core
from bot.clock import ManualClock
from bot.config import MatrixSettings, load_settings
from bot.runner import _serve
from bot.supervise import Backoff, Supervisor
from tests.matrix.conftest import PersonFactory, unique
from tests.matrix.matrix_people import reply_to
from tests.matrix.matrix_story import body, joined
from tests.matrix.synapse_server import Synapse, free_port
from tests.ops.discord_api import DiscordApi

pytestmark = pytest.mark.synapse


async def _until(condition: Callable[[], bool], within: float) -> None:
    """Wait until `condition` holds, checking as the event loop turns; fail after `within` s."""
    async with asyncio.timeout(within):
        while not condition():  # noqa: ASYNC110 (a supervisor counter has no event to await)
            await asyncio.sleep(0.05)


async def _bot_token(homeserver: Synapse) -> tuple[str, str]:
    user_id = await asyncio.to_thread(homeserver.register, unique("coopbot"), "bot-password")
    client = AsyncClient(homeserver.url, user_id)
    try:
        response = await client.login("bot-password", device_name="coopbot")
        assert isinstance(response, LoginResponse), response
        return user_id, response.access_token
    finally:
        await client.close()


async def test_check_signs_in_and_finds_rooms_the_bot_left_or_cannot_redact_in(
    homeserver: Synapse, people: PersonFactory
) -> None:
    bot_id, token = await _bot_token(homeserver)
    alice = await people("alice")
    room = await alice.create_room("Riverside", invite=[bot_id])
    bot = AsyncClient(homeserver.url, bot_id)
    bot.access_token = token
    await bot.join(room)
    await bot.close()
    settings = load_settings(
        None, matrix={"homeserver": homeserver.url, "user_id": bot_id, "access_token": token}
    )
    found = await matrix_check.check(settings, [room, "!gone:localhost"])
    lines = [" ".join(f.lines()) for f in found]
    assert not [f for f in found if f.level == "fail"], lines
    assert any(f"signed in as {bot_id} on {homeserver.url}" in line for line in lines)
    assert any("not in the bound room !gone:localhost" in line for line in lines)
    assert any(f"may not redact in {room}" in line for line in lines)
    assert any("in 1 room(s), 1/2 bound" in line for line in lines)


async def test_check_names_a_refused_token_and_an_unreachable_homeserver(
    homeserver: Synapse,
) -> None:
    bot_id, _ = await _bot_token(homeserver)
    refused = load_settings(
        None,
        matrix={"homeserver": homeserver.url, "user_id": bot_id, "access_token": "syt_revoked"},
    )
    (finding,) = await matrix_check.check(refused, [])
    assert finding.level == "fail" and not finding.transient
    assert "refused matrix.access_token" in finding.message and "M_UNKNOWN_TOKEN" in finding.message
    assert finding.hint is not None and "Rotating tokens" in finding.hint

    nowhere = f"http://127.0.0.1:{free_port()}"
    down = load_settings(
        None, matrix={"homeserver": nowhere, "user_id": bot_id, "access_token": "syt_x"}
    )
    (finding,) = await matrix_check.check(down, [])
    assert finding.level == "fail" and finding.transient
    assert f"cannot reach the Matrix homeserver {nowhere}" in finding.message


async def test_one_platform_down_or_refused_never_stops_another(
    homeserver: Synapse,
    people: PersonFactory,
    core: Core,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    bot_id = await asyncio.to_thread(homeserver.register, unique("coopbot"), "bot-password")
    good = MatrixSettings(
        homeserver=homeserver.url,
        user_id=bot_id,
        password="bot-password",
        store_path=str(tmp_path / "good-store"),
    )
    nowhere = f"http://127.0.0.1:{free_port()}"
    down = good.model_copy(update={"homeserver": nowhere, "store_path": str(tmp_path / "down")})
    api = DiscordApi(tmp_path)
    await api.start()
    refused = load_settings(None, discord={"token": "MTEw.revoked.xyz"}).discord
    quick = Backoff(first=0.1, cap=0.5)

    def matrix(settings: MatrixSettings) -> MatrixAdapter:
        return MatrixAdapter(settings, outbox_poll_seconds=0.2, max_retry_wait=1.0)

    supervisors = [
        Supervisor("matrix", lambda: matrix(good), core, quick),
        Supervisor("matrix-down", lambda: matrix(down), core, quick),
        Supervisor(
            "discord",
            lambda: DiscordAdapter(refused, sync_commands=False, connector=api.connector()),
            core,
            quick,
        ),
    ]
    settings = load_settings(None)
    serving = asyncio.create_task(_serve(settings, core, ManualClock(), supervisors))
    try:
        alice = await people("alice")
        room = await alice.create_room("Riverside", invite=[bot_id])
        await joined(alice, room, bot_id, within=60)
        asked = await alice.say(room, "!coop setup Riverside")
        answer = await alice.wait_for(room, reply_to(asked, bot_id), within=30)
        assert "Co-op Riverside set up" in body(answer)
        assert supervisors[0].health().connected
        # The unreachable homeserver fails after nio's few timeouts, which may take longer
        # than the good bot's answer: wait for that condition, not for a fixed time.
        await _until(lambda: supervisors[1].failures >= 1, within=30)
        assert not supervisors[1].health().connected
        await _until(lambda: supervisors[2].state == "failed", within=30)
    finally:
        os.kill(os.getpid(), signal.SIGTERM)  # as systemd stops the service
        status = await asyncio.wait_for(serving, timeout=60)
        await api.stop()
    assert status == 1  # Discord refused the bot: the operator must act
    logged = caplog.text
    assert "discord stopped: discord.token was refused" in logged and "Reset Token" in logged
    assert f"cannot reach the Matrix homeserver {nowhere}" in logged and "retrying in" in logged
    assert f"Matrix: signed in as {bot_id} on {homeserver.url}; device" in logged
    assert "ed25519 key" in logged
    assert all(s.state in ("stopped", "failed") for s in supervisors)
