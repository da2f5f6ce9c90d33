"""`coopbot run --config FILE` with a [matrix] section starts the Matrix adapter, says
at the default log level who it is and which device key to verify, and on SIGTERM sends
what is pending before it closes its connections."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from bot.app import create_core
from bot.clock import SystemClock
from bot.config import load_settings
from bot.render.document import Reply, line
from bot.services import outbox
from tests.matrix.conftest import PersonFactory, unique
from tests.matrix.matrix_people import body_contains, reply_to
from tests.matrix.matrix_story import body, joined
from tests.matrix.synapse_server import Synapse

pytestmark = pytest.mark.synapse


async def test_coopbot_run_serves_a_matrix_room_until_it_is_told_to_stop(
    people: PersonFactory, homeserver: Synapse, tmp_path: Path
) -> None:
    localpart = unique("coopbot")
    bot_id = await asyncio.to_thread(homeserver.register, localpart, "bot-password")
    config = tmp_path / "coopbot.toml"
    config.write_text(
        f'database_url = "sqlite+aiosqlite:///{tmp_path}/coop.db"\n'
        # Only the sync loop and the stop deliver the outbox here, not a timer.
        "outbox_poll_seconds = 3600\n"
        "[matrix]\n"
        f'homeserver = "{homeserver.url}"\n'
        f'user_id = "{bot_id}"\n'
        'password = "bot-password"\n'
        f'store_path = "{tmp_path}/matrix-store"\n'
    )
    log = (tmp_path / "bot.log").open("wb")
    stopping = False
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        stdout=log,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        alice = await people("alice")
        room = await alice.create_room("Riverside", invite=[bot_id])
        await joined(alice, room, bot_id, within=90)  # a whole process starting up
        asked = await alice.say(room, "!coop setup Riverside")
        answer = await alice.wait_for(room, reply_to(asked, bot_id), within=30)
        assert "Co-op Riverside set up" in body(answer)
        # An announcement written while the bot waits on its next sync: only the stop
        # sends it.
        await _announce(f"sqlite+aiosqlite:///{tmp_path}/coop.db", "Pending before shutdown")
        process.send_signal(signal.SIGTERM)
        stopping = True
        await alice.wait_for(room, body_contains("Pending before shutdown", bot_id), within=30)
    finally:
        if process.returncode is None and not stopping:
            process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        finally:
            log.close()
    logged = (tmp_path / "bot.log").read_text()
    assert status == 0, logged
    assert (tmp_path / "matrix-store" / "sync_token").is_file()
    assert f"Matrix: signed in as {bot_id} on {homeserver.url}; device" in logged
    assert "ed25519 key" in logged and f"{bot_id} is in 0 room(s)" in logged
    assert "Unclosed" not in logged and "Traceback" not in logged


async def _announce(database_url: str, text: str) -> None:
    settings = load_settings(None, database_url=database_url)
    core = await create_core(settings, SystemClock())
    try:
        async with core.sessions() as session, session.begin():
            await outbox.announce(session, core.clock, 1, Reply(blocks=(line(text),)))
    finally:
        await core.close()
