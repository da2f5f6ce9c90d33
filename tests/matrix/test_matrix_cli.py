"""`coopbot run --config FILE` with a [matrix] section starts the Matrix adapter."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import pytest

from tests.matrix.conftest import PersonFactory, unique
from tests.matrix.matrix_people import reply_to
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
        "outbox_poll_seconds = 0.5\n"
        "[matrix]\n"
        f'homeserver = "{homeserver.url}"\n'
        f'user_id = "{bot_id}"\n'
        'password = "bot-password"\n'
        f'store_path = "{tmp_path}/matrix-store"\n'
    )
    log = (tmp_path / "bot.log").open("wb")
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
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            status = await asyncio.wait_for(process.wait(), timeout=30)
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        finally:
            log.close()
    assert status == 0, (tmp_path / "bot.log").read_text()
    assert (tmp_path / "matrix-store" / "sync_token").is_file()
