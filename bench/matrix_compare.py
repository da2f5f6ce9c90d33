"""`make bench-matrix`: coopbot against a bare matrix-nio echo bot on a real Synapse, in the
same room and the same run: a member's `!vote` reply latency (p50) vs the echo bot's, and
a 500-vote burst from 50 members (drain time, lost replies) vs the same burst of echoes.

Reuses the Matrix test harness (tests/matrix: Synapse on a free port, logged-in members,
the co-op room). Writes docs/performance-matrix.json and regenerates docs/PERFORMANCE.md."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MEMBERS = 50
BURST_EACH = 10  # 50 members × 10 = 500 messages
LATENCY_RUNS = 30
ECHO = "?echo"
# Big enough that a sync during the burst is never cut short (a limited timeline would drop
# messages for the echo bot and replies for the observer; coopbot pages back on its own).
WHOLE = {"room": {"timeline": {"limit": 5000}}}


async def _echo_loop(client: Any, room_id: str, stop: asyncio.Event) -> None:
    """The least a bot can do: answer every `?echo` message in the room with a reply."""
    from nio import SyncResponse

    first = await client.sync(timeout=0, full_state=True)
    since = first.next_batch
    while not stop.is_set():
        response = await client.sync(timeout=1000, since=since, sync_filter=WHOLE)
        if not isinstance(response, SyncResponse):
            continue
        since = response.next_batch
        joined = response.rooms.join.get(room_id)
        for event in joined.timeline.events if joined else []:
            text = event.source.get("content", {}).get("body", "")
            if event.sender != client.user_id and text.startswith(ECHO):
                content = {
                    "msgtype": "m.notice",
                    "body": text,
                    "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
                }
                await client.room_send(room_id, "m.room.message", content)


async def _observe(person: Any, room: str, sender: str, replied: set[str]) -> None:
    """One sync of the observer's client; the event ids `sender` replied to go in `replied`."""
    from nio import SyncResponse

    response = await person.client.sync(timeout=500, sync_filter=WHOLE)
    if not isinstance(response, SyncResponse):
        return
    joined = response.rooms.join.get(room)
    for event in joined.timeline.events if joined else []:
        if event.source.get("sender") != sender:
            continue
        relates = event.source.get("content", {}).get("m.relates_to", {})
        target = relates.get("m.in_reply_to", {}).get("event_id")
        if target:
            replied.add(target)


async def _latency(member: Any, room: str, sender: str, text: str) -> float:
    from tests.matrix.matrix_people import reply_to

    start = time.perf_counter()
    event_id = await member.say(room, text)
    await member.wait_for(room, reply_to(event_id, sender=sender), within=60)
    return (time.perf_counter() - start) * 1000


async def _burst(
    members: list[Any], observer: Any, room: str, sender: str, text: Callable[[int], str]
) -> dict[str, Any]:
    """Every member sends BURST_EACH messages as fast as the server takes them; the
    observer syncs until every one has its reply (or 5 minutes pass)."""
    asked: set[str] = set()
    start = time.perf_counter()

    async def send_all(member: Any, index: int) -> None:
        for k in range(BURST_EACH):
            asked.add(await member.say(room, text(index * BURST_EACH + k)))

    sending = asyncio.gather(*(send_all(m, i) for i, m in enumerate(members)))
    total = len(members) * BURST_EACH
    deadline = start + 300
    replied: set[str] = set()
    got: set[str] = set()
    while time.perf_counter() < deadline:
        await _observe(observer, room, sender, replied)
        got = replied & asked
        if sending.done() and len(got) >= total:
            break
    await sending
    return {
        "sent": total,
        "answered": len(got),
        "drain_s": time.perf_counter() - start,
    }


async def _room(steward: Any, members: list[Any], bot_id: str, echo: Any) -> Any:
    """tests.matrix.matrix_story.coop_room for fifty members and the echo bot."""
    from nio import JoinedMembersResponse

    from tests.matrix.matrix_story import CoopRoom, body, pill

    invited = [m.user_id for m in (*members, echo)] + [bot_id]
    room = await steward.create_room("Bench", invite=invited)
    for member in (*members, echo):
        await member.join(room)
    # Asked of the server: fifty joins overflow a sync's timeline, so the bot's own join
    # event may never reach the steward's client.
    deadline = time.monotonic() + 180
    while True:
        found = await steward.client.joined_members(room)
        if isinstance(found, JoinedMembersResponse) and bot_id in {
            m.user_id for m in found.members
        }:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("the bot did not join the benchmark room")
        await asyncio.sleep(0.5)  # polling the server for the bot's join
    await steward.sync()
    coop = CoopRoom(room, bot_id, steward, members)
    setup = await coop.run(steward, "!coop setup Bench")
    assert "set up" in body(setup), body(setup)
    for index, member in enumerate(members):
        name = f"M{index}"
        added = await coop.run(steward, f"!member add {name}", f"!member add {pill(member, name)}")
        assert "joined" in body(added), body(added)
    for member in members:
        await member.sync()
    return coop


async def compare(folder: Path) -> dict[str, Any]:
    from bot.app import create_core
    from bot.clock import ManualClock
    from bot.config import MatrixSettings, Settings
    from tests.matrix.conftest import RunningBot
    from tests.matrix.matrix_people import Person
    from tests.matrix.synapse_server import Synapse

    server = Synapse.prepare(folder / "synapse")
    # Synapse caps a sync filter's timeline at 100 events unless told otherwise; the echo
    # bot and the observer must see every message of the burst.
    config = server.directory / "homeserver.yaml"
    settings = json.loads(config.read_text())  # the test harness writes JSON (also YAML)
    config.write_text(json.dumps({**settings, "filter_timeline_limit": 5000}))
    await asyncio.to_thread(server.start)
    people: list[Any] = []
    try:

        async def person(name: str) -> Any:
            user = await asyncio.to_thread(server.register, name, "secret-" + name)
            made = await Person.login(server.url, user, "secret-" + name)
            people.append(made)
            return made

        steward = await person("steward")
        members = [await person(f"member{i}") for i in range(MEMBERS)]
        echo = await person("echo")
        bot_user = await asyncio.to_thread(server.register, "coopbot", "bot-password")
        core = await create_core(
            Settings(database_url=f"sqlite+aiosqlite:///{folder / 'coop.db'}"), ManualClock()
        )
        bot = RunningBot(
            MatrixSettings(
                homeserver=server.url,
                user_id=bot_user,
                password="bot-password",
                store_path=str(folder / "bot-store"),
            ),
            core,
        )
        await bot.start()
        room = await _room(steward, members, bot.user_id, echo)
        await room.run(steward, "!propose Bench at Matrix closes:3d")
        stop = asyncio.Event()
        echoing = asyncio.create_task(_echo_loop(echo.client, room.room_id, stop))
        await asyncio.sleep(1.0)  # the echo bot's first sync, before anyone asks it
        bot_ms, echo_ms = [], []
        for k in range(LATENCY_RUNS):
            member = members[k % MEMBERS]
            choice = "yes" if k % 2 else "no"
            bot_ms.append(await _latency(member, room.room_id, bot.user_id, f"!vote 1 {choice}"))
            echo_ms.append(await _latency(member, room.room_id, echo.user_id, f"{ECHO} {k}"))
        observer = steward
        bot_burst = await _burst(
            members,
            observer,
            room.room_id,
            bot.user_id,
            lambda n: f"!vote 1 {'yes' if n % 2 else 'no'}",
        )
        echo_burst = await _burst(
            members, observer, room.room_id, echo.user_id, lambda n: f"{ECHO} burst {n}"
        )
        stop.set()
        await echoing
        await bot.stop()
        await core.close()
    finally:
        for made in people:
            await made.close()
        await asyncio.to_thread(server.stop)
    bot_p50, echo_p50 = statistics.median(bot_ms), statistics.median(echo_ms)
    return {
        "members": MEMBERS,
        "latency": {
            "runs": LATENCY_RUNS,
            "bot_ms": bot_ms,
            "echo_ms": echo_ms,
            "bot_p50_ms": bot_p50,
            "echo_p50_ms": echo_p50,
            "ratio": bot_p50 / echo_p50,
        },
        "burst": {
            "bot": bot_burst,
            "echo": echo_burst,
            "ratio": bot_burst["drain_s"] / echo_burst["drain_s"],
        },
    }


KEPT_RUNS = 6


def _history(path: Path, found: dict[str, Any]) -> list[dict[str, Any]]:
    """This run's summary after the previous runs' (the last few): on a shared machine one
    run's ratios move with the load, so the document shows several."""
    earlier: list[dict[str, Any]] = []
    if path.exists():
        earlier = json.loads(path.read_text()).get("history", [])
    bot, echo = found["burst"]["bot"], found["burst"]["echo"]
    summary = {
        "date": found["date"],
        "load": found["load"],
        "reply_ratio": round(found["latency"]["ratio"], 3),
        "burst_ratio": round(found["burst"]["ratio"], 3),
        "bot_p50_ms": round(found["latency"]["bot_p50_ms"], 1),
        "echo_p50_ms": round(found["latency"]["echo_p50_ms"], 1),
        "bot_drain_s": round(bot["drain_s"], 1),
        "echo_drain_s": round(echo["drain_s"], 1),
        "lost": bot["sent"] - bot["answered"],
    }
    return [*earlier, summary][-KEPT_RUNS:]


def main() -> int:
    from bench import report

    out = Path(os.environ.get("BENCH_OUT", ROOT / "docs"))
    load = "/".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="coopbot-bench-matrix-") as folder:
        found = asyncio.run(compare(Path(folder)))
    found["load"] = f"{load} before, " + "/".join(f"{x:.1f}" for x in os.getloadavg()) + " after"
    found["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    found["history"] = _history(out / "performance-matrix.json", found)
    if os.environ.get("BENCH_NOTE"):
        found["note"] = os.environ["BENCH_NOTE"]  # what the reader should know of this run
    (out / "performance-matrix.json").write_text(json.dumps(found, indent=1) + "\n")
    stored = out / "performance.json"
    if stored.exists():
        report.write(json.loads(stored.read_text()), out)
    print(json.dumps({k: v for k, v in found.items() if k != "latency"}), file=sys.stderr)
    print(
        f"reply p50: coopbot {found['latency']['bot_p50_ms']:.0f} ms, echo "
        f"{found['latency']['echo_p50_ms']:.0f} ms ({found['latency']['ratio']:.2f}×)",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
