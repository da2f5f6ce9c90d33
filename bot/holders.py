"""Which process holds each platform connection: session-level PostgreSQL advisory locks on
one dedicated connection kept alive, so that several processes on one database run one bot
(one Matrix session, each Discord shard once) and a standby takes over within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.engine import make_url

from bot.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# The first key of coopbot's advisory locks, one per kind of role (the second key is the
# Matrix account's hash or the Discord shard id). pg_locks shows them as classid.
MATRIX_KEY = 0x636F6F01  # "coo" + 1
DISCORD_KEY = 0x636F6F02
# The Discord role of a process without `shard_ids`: the whole bot.
ALL_SHARDS = 0x7FFFFFFF
APPLICATION_PREFIX = "coopbot "


def process_name(configured: str = "") -> str:
    """The name a process shows in `coopbot check` and /healthz: configured, or host:pid."""
    return configured or f"{socket.gethostname()[:40]}:{os.getpid()}"


@dataclass(frozen=True)
class HolderRole:
    """A platform connection only one process may hold: one advisory lock per key."""

    platform: str
    keys: tuple[tuple[int, int], ...]
    label: str  # how it is shown: "matrix @bot:example.org", "discord shards 0,1"

    @property
    def shards(self) -> tuple[int, ...]:
        return tuple(k for c, k in self.keys if c == DISCORD_KEY and k != ALL_SHARDS)


def matrix_role(user_id: str) -> HolderRole:
    account = zlib.crc32(user_id.encode()) & 0x7FFFFFFF
    return HolderRole("matrix", ((MATRIX_KEY, account),), "matrix")


def discord_role(shard_ids: Sequence[int]) -> HolderRole:
    if not shard_ids:
        return HolderRole("discord", ((DISCORD_KEY, ALL_SHARDS),), "discord (all shards)")
    ids = sorted(shard_ids)
    label = "discord shards " + ",".join(str(i) for i in ids)
    return HolderRole("discord", tuple((DISCORD_KEY, i) for i in ids), label)


@dataclass
class _Held:
    role: HolderRole
    lost: asyncio.Event = field(default_factory=asyncio.Event)


class Holders:
    """This process's platform roles. On SQLite the file lock already keeps every other
    process out, so every role is granted at once; on PostgreSQL a role is a set of
    session-level advisory locks on one dedicated connection. The server drops them when
    the process dies (its connection closes) or stops answering (idle_session_timeout);
    the process itself gives every role up when a keep-alive fails, so a holder that loses
    the database stops syncing and sending before a standby can take over."""

    def __init__(
        self,
        database_url: str,
        name: str,
        *,
        keepalive_seconds: float = 2.0,
        poll_seconds: float = 2.0,
    ) -> None:
        url = make_url(database_url)
        self.shared = not url.get_backend_name().startswith("sqlite")
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self.name = name
        self.keepalive_seconds = keepalive_seconds
        self.poll_seconds = poll_seconds
        self._connection: Any = None
        self._held: dict[str, _Held] = {}
        self._lock = asyncio.Lock()
        self._beat: asyncio.Task[None] | None = None

    def holds(self, role: HolderRole) -> bool:
        held = self._held.get(role.label)
        return held is not None and not held.lost.is_set()

    def lost(self, role: HolderRole) -> asyncio.Event:
        """Set when this process no longer holds `role` (it must stop using the connection)."""
        held = self._held.get(role.label)
        if held is None:
            raise RuntimeError(f"{role.label} is not held by this process")
        return held.lost

    async def claim(self, role: HolderRole) -> bool:
        """Take `role` without waiting: every one of its locks, or none."""
        if self.holds(role):
            return True
        if not self.shared:
            self._held[role.label] = _Held(role)
            return True
        async with self._lock:
            try:
                connection = await self._connect()
                taken: list[tuple[int, int]] = []
                for first, second in role.keys:
                    if await connection.fetchval(
                        "SELECT pg_try_advisory_lock($1, $2)", first, second
                    ):
                        taken.append((first, second))
                    else:
                        for key in taken:
                            await connection.fetchval("SELECT pg_advisory_unlock($1, $2)", *key)
                        return False
                if not self._held:
                    await self._idle_limit(connection, holding=True)
            except Exception as exc:
                log.warning("could not ask the database who holds %s (%s)", role.label, exc)
                await self._drop_connection()
                return False
            self._held[role.label] = _Held(role)
            if self._beat is None or self._beat.done():
                self._beat = asyncio.create_task(self._keepalive(), name="holder-keepalive")
            return True

    async def wait_for(self, role: HolderRole, stopping: asyncio.Event) -> bool:
        """Poll until `role` is ours (True) or `stopping` is set (False)."""
        while not stopping.is_set():
            if await self.claim(role):
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), timeout=self.poll_seconds)
        return False

    async def release(self, role: HolderRole) -> None:
        held = self._held.pop(role.label, None)
        if held is None or not self.shared:
            return
        held.lost.set()
        async with self._lock:
            if self._connection is None:
                return
            try:
                for key in held.role.keys:
                    await self._connection.fetchval("SELECT pg_advisory_unlock($1, $2)", *key)
                if not self._held:
                    await self._idle_limit(self._connection, holding=False)
            except Exception:
                await self._drop_connection()

    async def close(self) -> None:
        if self._beat is not None:
            beat, self._beat = self._beat, None
            await cancel_and_wait(beat)
        for held in self._held.values():
            held.lost.set()
        self._held.clear()
        async with self._lock:
            await self._drop_connection()

    async def _connect(self) -> Any:
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        import asyncpg

        seconds = str(max(int(self.keepalive_seconds), 1))
        options = {
            "application_name": (APPLICATION_PREFIX + self.name)[:63],
            "tcp_keepalives_idle": seconds,
            "tcp_keepalives_interval": seconds,
            "tcp_keepalives_count": "3",
        }
        # In this task, not in wait_for's: asyncpg closes a connection whose opening is cut
        # short, and a cancellation of the caller is never taken for the connect's own
        # (Python 3.11's wait_for returned the connection to a cancelled caller).
        async with asyncio.timeout(max(self.keepalive_seconds * 2, 5.0)):
            self._connection = await asyncpg.connect(self._dsn, server_settings=options)
        return self._connection

    async def _idle_limit(self, connection: Any, holding: bool) -> None:
        """While this process holds a role, the server ends its session (freeing the locks)
        when it has said nothing for about 3 keep-alives: a holder cut off from the
        database is replaced even if the server never hears the connection close. A
        standby, which only asks now and then, has no limit."""
        idle_ms = int(max(self.keepalive_seconds * 3, 1.0) * 1000) if holding else 0
        with contextlib.suppress(Exception):  # PostgreSQL before 14 has no such setting
            await connection.execute(f"SET idle_session_timeout = {idle_ms}")

    async def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            async with asyncio.timeout(1.0):
                await connection.close()  # which aborts the connection if cancelled
        except Exception:
            connection.terminate()

    async def _keepalive(self) -> None:
        while self._held:
            await asyncio.sleep(self.keepalive_seconds)
            async with self._lock:
                connection = self._connection
                try:
                    if connection is None:
                        raise ConnectionError("no connection")
                    # Not wait_for: on Python 3.11 a close() cancelling this beat as the
                    # answer came in was swallowed, and the beat (and the close) went on.
                    async with asyncio.timeout(self.keepalive_seconds):
                        await connection.fetchval("SELECT 1")
                    continue
                except Exception as exc:
                    reason = str(exc) or type(exc).__name__
                    await self._drop_connection()
            for held in self._held.values():
                log.error(
                    "%s lost %s: the database stopped answering (%s); "
                    "stopping it so that another process can take over",
                    self.name,
                    held.role.label,
                    reason,
                )
                held.lost.set()
            self._held.clear()


@dataclass(frozen=True)
class Holding:
    """One role as the database sees it: which process holds it."""

    platform: str
    key: int
    process: str


async def holdings(database_url: str) -> list[Holding]:
    """Who holds which platform role on this PostgreSQL database now (`coopbot check`)."""
    import asyncpg

    url = make_url(database_url).set(drivername="postgresql")
    connection = await asyncpg.connect(url.render_as_string(hide_password=False), timeout=10)
    try:
        rows = await connection.fetch(
            "SELECT l.classid::bigint AS kind, l.objid::bigint AS key, a.application_name"
            " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2"
            " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND l.classid::bigint IN ($1, $2) ORDER BY 1, 2",
            MATRIX_KEY,
            DISCORD_KEY,
        )
    finally:
        await connection.close()
    return [
        Holding(
            "matrix" if row["kind"] == MATRIX_KEY else "discord",
            int(row["key"]),
            str(row["application_name"]).removeprefix(APPLICATION_PREFIX),
        )
        for row in rows
    ]


def describe(found: Sequence[Holding]) -> dict[str, Any]:
    """{"matrix": "host:pid", "discord": {"host:pid": [0, 1]}} from `holdings`."""
    report: dict[str, Any] = {}
    for holding in found:
        if holding.platform == "matrix":
            report["matrix"] = holding.process
        else:
            shards = report.setdefault("discord", {}).setdefault(holding.process, [])
            if holding.key != ALL_SHARDS:
                shards.append(holding.key)
    return report
