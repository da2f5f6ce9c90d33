"""The container's entry command, run outside a container (no Docker engine here): the
Dockerfile's ENV, ENTRYPOINT + CMD and HEALTHCHECK, with its paths moved to a temporary
folder, start a bot against a real Synapse that the health check then calls healthy."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.console.conftest import console_env
from tests.matrix.conftest import unique
from tests.matrix.synapse_server import Synapse, free_port

pytestmark = pytest.mark.synapse
ROOT = Path(__file__).resolve().parents[2]


def _dockerfile() -> tuple[dict[str, str], list[str], list[str]]:
    text = (ROOT / "deploy" / "Dockerfile").read_text().replace("\\\n", " ")
    runtime = text.rsplit("\nFROM ", 1)[1]
    env: dict[str, str] = {}
    for line in re.findall(r"^ENV (.+)$", runtime, re.MULTILINE):
        env.update(dict(re.findall(r"(\w+)=(\S+)", line)))
    entry = json.loads(re.search(r"^ENTRYPOINT (.+)$", runtime, re.MULTILINE).group(1))  # type: ignore[union-attr]
    cmd = json.loads(re.search(r"^CMD (.+)$", runtime, re.MULTILINE).group(1))  # type: ignore[union-attr]
    check = json.loads(re.search(r"HEALTHCHECK .*? CMD (\[.+\])", runtime).group(1))  # type: ignore[union-attr]
    return env, [*entry, *cmd], check


async def test_the_image_entry_command_starts_a_healthy_bot(
    synapse_server: Synapse, tmp_path: Path
) -> None:
    synapse_server.start()
    env, command, healthcheck = _dockerfile()
    assert command[:2] == ["coopbot", "run"] and healthcheck[0] == "python"
    state = tmp_path / "var-lib-coopbot"
    state.mkdir()
    config = tmp_path / "config.toml"
    bot_id = await asyncio.to_thread(synapse_server.register, unique("coopbot"), "bot-password")
    config.write_text(
        f'[matrix]\nhomeserver = "{synapse_server.url}"\nuser_id = "{bot_id}"\n'
        'password = "bot-password"\n'
    )
    port = free_port()
    moved = {
        key: value.replace("/var/lib/coopbot", str(state)).replace("9464", str(port))
        for key, value in env.items()
        if key.startswith("COOPBOT_")
    }
    args = [a.replace("/etc/coopbot/config.toml", str(config)) for a in command]
    script = Path(sys.executable).with_name("coopbot")
    log = (tmp_path / "bot.log").open("wb")
    process = await asyncio.create_subprocess_exec(
        str(script), *args[1:], env=console_env(**moved), stdout=log, stderr=log, cwd=state
    )
    probe = [sys.executable, *healthcheck[1:]]
    probe[-1] = probe[-1].replace("9464", str(port))
    try:
        healthy = False
        for _ in range(120):  # bounded: at most about a minute
            done = await asyncio.to_thread(
                subprocess.run, probe, capture_output=True, timeout=15, check=False
            )
            if done.returncode == 0:
                healthy = True
                break
            if process.returncode is not None:
                break
            await asyncio.sleep(0.5)
        assert healthy, (tmp_path / "bot.log").read_text()
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        status = await asyncio.wait_for(process.wait(), timeout=60)
        log.close()
    assert status == 0, (tmp_path / "bot.log").read_text()
    assert (state / "coopbot.db").stat().st_mode & 0o077 == 0
    assert (state / "matrix-store").stat().st_mode & 0o077 == 0
