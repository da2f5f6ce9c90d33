"""Two `coopbot run` processes on one PostgreSQL database and one Matrix account, on a real
Synapse: one holds the Matrix session, the other stands by. SIGKILL the holder in the middle
of a burst of commands, and again at the moment votes close: every command is answered
once, every result announced once and within seconds of its time, and the bot keeps one
device with one identity key (no refused key uploads)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.console.conftest import console_env
from tests.matrix.conftest import PersonFactory, unique
from tests.matrix.matrix_people import Person, body_contains, reply_to
from tests.matrix.matrix_story import joined, matching
from tests.matrix.synapse_server import Synapse, free_port

pytestmark = pytest.mark.synapse

SIGNED_IN = re.compile(r"Matrix: signed in as \S+ on \S+; device (\S+), ed25519 key (\S+)")


@dataclass
class BotProcess:
    """One `coopbot run` subprocess, its log in a file."""

    name: str
    log_path: Path
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def healthz(self) -> dict[str, Any]:
        url = f"http://127.0.0.1:{self.port}/healthz"
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return dict(json.loads(response.read()))
        except urllib.error.HTTPError as refused:  # 503: unhealthy, with the report
            return dict(json.loads(refused.read()))
        except urllib.error.URLError:  # not listening yet
            return {}


@dataclass
class Cluster:
    config: Path
    workdir: Path
    database_url: str
    started: list[BotProcess] = field(default_factory=list)

    def start(self, name: str, **extra: str) -> BotProcess:
        bot = BotProcess(name, self.workdir / f"{name}-{len(self.started)}.log", free_port())
        env = console_env(
            **extra,
            COOPBOT_DATABASE_URL=self.database_url,
            COOPBOT_PROCESS_NAME=name,
            COOPBOT_STANDBY_POLL_SECONDS="0.5",
            COOPBOT_HOLDER_KEEPALIVE_SECONDS="1",
            COOPBOT_OUTBOX_POLL_SECONDS="0.5",
            COOPBOT_HTTP__LISTEN=f"127.0.0.1:{bot.port}",
            COOPBOT_DEFAULTS__MIN_VOTING_TIME="1m",
            COOPBOT_DEFAULTS__REMINDER_HOURS="0",
        )
        script = Path(sys.executable).with_name("coopbot")
        with bot.log_path.open("wb") as log:
            bot.process = subprocess.Popen(
                [str(script), "run", "--config", str(self.config)],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.workdir,
                env=env,
            )
        self.started.append(bot)
        return bot

    def stop_all(self) -> None:
        for bot in self.started:
            if bot.process is not None and bot.process.poll() is None:
                bot.process.send_signal(signal.SIGTERM)
        for bot in self.started:
            if bot.process is None:
                continue
            try:
                bot.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                bot.process.kill()
                bot.process.wait()

    @property
    def logs(self) -> str:
        return "\n".join(f"--- {b.log_path.name}\n{b.log}" for b in self.started)


def kill(bot: BotProcess) -> None:
    assert bot.process is not None
    os.kill(bot.process.pid, signal.SIGKILL)
    bot.process.wait(timeout=30)


async def until(condition: Callable[[], bool], within: float, what: str) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within, f"{what}: not within {within} s"
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def in_history(
    person: Person, room: str, predicate: Callable[[dict[str, Any]], bool], within: float = 60
) -> dict[str, Any]:
    """The first matching event of the room's whole history, waiting until there is one
    (a member's sync can skip events in a burst; the history does not)."""
    started = time.monotonic()
    while True:
        found = await matching(person, room, predicate)
        if found:
            return found[0]
        assert time.monotonic() - started < within, "no matching event in the room's history"
        await asyncio.sleep(0.5)


@pytest.fixture
def cluster(homeserver: Synapse, pg_url: str, tmp_path: Path) -> Iterator[tuple[Cluster, str]]:
    bot_id = homeserver.register(unique("coopbot"), "bot-password")
    config = tmp_path / "config.toml"
    # One store for both processes (a shared volume): only the holder opens it.
    config.write_text(
        f'[matrix]\nhomeserver = "{homeserver.url}"\nuser_id = "{bot_id}"\n'
        f'password = "bot-password"\nstore_path = "{tmp_path / "matrix-store"}"\n'
    )
    made = Cluster(config, tmp_path, pg_url)
    try:
        yield made, bot_id
    finally:
        made.stop_all()


def device_keys(homeserver: Synapse, person: Person, bot_id: str) -> dict[str, str]:
    """The bot's devices and their ed25519 keys, as Synapse hands them to members."""
    request = urllib.request.Request(
        f"{homeserver.url}/_matrix/client/v3/keys/query",
        data=json.dumps({"device_keys": {bot_id: []}}).encode(),
        headers={
            "Authorization": f"Bearer {person.client.access_token}",
            "Content-Type": "application/json",
        },
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        devices = json.loads(response.read())["device_keys"].get(bot_id, {})
    return {device: keys["keys"][f"ed25519:{device}"] for device, keys in devices.items()}


def result_of(number: int, title: str, bot_id: str) -> Callable[[dict[str, Any]], bool]:
    """The bot's announcement of decision #number's result."""

    def check(event: dict[str, Any]) -> bool:
        text = str(event.get("content", {}).get("body", ""))
        return (
            event.get("sender") == bot_id
            and event.get("type") == "m.room.message"
            and text.startswith(f"#{number} {title} — ")
            and "turnout" in text
        )

    return check


async def test_two_processes_one_matrix_account_survive_sigkills(
    cluster: tuple[Cluster, str], people: PersonFactory, homeserver: Synapse
) -> None:
    bots, bot_id = cluster
    # bot-a dies (SIGKILL) right after a vote commits, before its answer is sent.
    a = bots.start("bot-a", COOPBOT_CRASH_AFTER_COMMIT="vote")
    await until(lambda: "bot-a now holds matrix" in a.log, 60, "bot-a takes the session")
    await until(lambda: "Matrix: signed in" in a.log, 60, "bot-a signs in")
    b = bots.start("bot-b")
    await until(lambda: "bot-b stands by" in b.log, 60, "bot-b stands by")
    ((device, identity),) = SIGNED_IN.findall(a.log)

    # Both processes say who holds what; the standby counts as healthy.
    await until(lambda: b.healthz().get("status") == "ok", 30, "bot-b's health")
    health = await asyncio.to_thread(b.healthz)
    assert health["process"] == "bot-b" and health["holders"] == {"matrix": "bot-a"}
    assert health["adapters"]["matrix"]["state"] == "standby"
    assert health["adapters"]["matrix"]["holds"] is False
    assert (await asyncio.to_thread(a.healthz))["adapters"]["matrix"]["holds"] is True

    alice = await people("alice")
    room = await alice.create_room("Riverside", invite=[bot_id])
    await joined(alice, room, bot_id, within=60)
    setup = await alice.say(room, "!coop setup Riverside")
    await alice.wait_for(room, reply_to(setup, bot_id), within=60)

    # Two votes close in about a minute: the holder will be killed right then.
    timed = []
    for title in ("Paint the hall", "Fix the roof"):
        said = await alice.say(room, f"!propose {title} closes:1m")
        await alice.wait_for(room, reply_to(said, bot_id), within=60)
        timed.append(title)
    closes_at = time.time() + 60  # at the latest (the bot's times are whole seconds or so)

    # A burst of commands; the holder is SIGKILLed in its middle, as the vote commits.
    burst = [await alice.say(room, f"!propose Burst item {n}") for n in range(4)]
    burst.append(await alice.say(room, "!vote 1 yes"))
    burst += [await alice.say(room, f"!propose Burst item {n}") for n in range(4, 7)]
    assert a.process is not None
    await until(lambda: a.process is not None and a.process.poll() is not None, 60, "the kill")
    assert a.process.returncode == -signal.SIGKILL and "crash_after_commit" in a.log
    took_over = await until(
        lambda: "bot-b now holds matrix" in b.log, 30, "bot-b takes over after SIGKILL"
    )
    assert took_over < 10, took_over
    for event_id in burst:
        await in_history(alice, room, reply_to(event_id, bot_id))
    vote_answer = await in_history(alice, room, reply_to(burst[4], bot_id))
    assert "recorded" in str(vote_answer["content"].get("body")), vote_answer
    # bot-a comes back, as the standby now.
    a2 = bots.start("bot-a")
    await until(lambda: "bot-a stands by" in a2.log, 60, "bot-a stands by again")

    # SIGKILL the holder at the moment the votes close.
    await asyncio.sleep(max(closes_at - time.time() - 0.5, 0))
    kill(b)
    killed_at = time.time()
    for number, title in enumerate(timed, start=1):
        await in_history(alice, room, result_of(number, title, bot_id))
    announced_within = time.time() - closes_at
    assert "bot-a now holds matrix" in a2.log
    assert announced_within < 20, (announced_within, killed_at)

    # A sentinel: once its answer is in, every earlier answer would be too.
    last = await alice.say(room, "!member list")
    await in_history(alice, room, reply_to(last, bot_id))
    for event_id in [setup, *burst, last]:
        answers = await matching(alice, room, reply_to(event_id, bot_id))
        assert len(answers) == 1, (event_id, len(answers), bots.logs)
    for number, title in enumerate(timed, start=1):
        assert len(await matching(alice, room, result_of(number, title, bot_id))) == 1
    polls = await matching(alice, room, body_contains("Burst item", bot_id))
    assert len({e["event_id"] for e in polls}) == len(polls)

    # One device, one identity key, before and after both take-overs.
    assert device_keys(homeserver, alice, bot_id) == {device: identity}
    assert set(SIGNED_IN.findall(bots.logs)) == {(device, identity)}
    assert "already exists" not in bots.logs
