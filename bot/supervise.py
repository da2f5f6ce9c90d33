"""Runs each platform adapter under its own supervisor: a crash or a lost connection is
retried with exponential back-off, and one platform down never stops another. A platform
only one process may connect to (bot.holders) waits as a standby until it holds it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, runtime_checkable

from bot.holders import HolderRole, Holders

log = logging.getLogger(__name__)

State = Literal["starting", "standby", "running", "retrying", "failed", "stopped"]


class PlatformRefused(Exception):
    """The platform refused the bot for good (a wrong token, a missing intent): retrying
    cannot help. The message names the setting and how to fix it."""


@dataclass(frozen=True)
class AdapterHealth:
    """What an adapter reports about its connection."""

    connected: bool
    last_sync: datetime | None = None


@runtime_checkable
class ReportsHealth(Protocol):
    def health(self) -> AdapterHealth: ...


class Supervised(Protocol):
    """What a supervisor needs of an adapter (bot.ports.ChatAdapter has it)."""

    async def run(self, core: Any) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True)
class Backoff:
    """Waits of `first` × 2ⁿ seconds up to `cap`, with ±20 % jitter so that several
    processes do not hammer a recovering server in step. A run that lasted `healthy`
    seconds starts the count again."""

    first: float = 1.0
    cap: float = 300.0
    healthy: float = 120.0

    def delay(self, failures: int, jitter: Callable[[], float] = random.random) -> float:
        base = min(self.cap, self.first * 2.0 ** max(failures - 1, 0))
        return float(base * (0.8 + 0.4 * jitter()))


def describe_failure(exc: BaseException) -> str:
    """One line for an adapter failure: the exception's own words, or its type."""
    text = " ".join(str(exc).split())
    return text[:300] if text else type(exc).__name__


class Supervisor:
    """Keeps one platform's adapter running: a new adapter for each attempt, because a
    client that failed half-way is not reliably reusable."""

    def __init__(
        self,
        platform: str,
        make_adapter: Callable[[], Supervised],
        core: Any,
        backoff: Backoff | None = None,
        *,
        holders: Holders | None = None,
        role: HolderRole | None = None,
    ) -> None:
        self.platform = platform
        self.holders = holders
        self.role = role if holders is not None else None
        self._make_adapter = make_adapter
        self._core = core
        self._backoff = backoff or Backoff()
        self._stopping = asyncio.Event()
        self.adapter: Supervised | None = None
        self.state: State = "starting"
        self.last_error: str | None = None
        self.failures = 0

    def health(self) -> AdapterHealth:
        adapter = self.adapter
        if self.state != "running" or not isinstance(adapter, ReportsHealth):
            return AdapterHealth(connected=False)
        return adapter.health()

    @property
    def holding(self) -> bool:
        """Whether this process holds the platform's connection (always, without a role)."""
        return self.role is None or (self.holders is not None and self.holders.holds(self.role))

    async def run(self) -> None:
        """Until stopped, or until the platform refuses the bot for good."""
        loop = asyncio.get_running_loop()
        while not self._stopping.is_set():
            if not await self._hold():
                break
            self.adapter = self._make_adapter()
            self.state = "running"
            started = loop.time()
            try:
                lost = await self._run_adapter(self.adapter)
            except PlatformRefused as exc:
                self.state, self.last_error = "failed", describe_failure(exc)
                log.error("%s stopped: %s", self.platform, self.last_error)
                await self._let_go()
                return
            except Exception as exc:
                self.last_error = describe_failure(exc)
                log.debug("%s adapter failed", self.platform, exc_info=True)
            else:
                if self._stopping.is_set():
                    break
                if lost:
                    # Another process may hold it now: wait as a standby again at once.
                    self.last_error = "lost the connection's holder role"
                    continue
                self.last_error = "the connection ended"
            # Another process may connect while this one waits out its back-off.
            await self._let_go()
            if loop.time() - started >= self._backoff.healthy:
                self.failures = 0
            self.failures += 1
            delay = self._backoff.delay(self.failures)
            self.state = "retrying"
            log.warning("%s: %s; retrying in %.1f s", self.platform, self.last_error, delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=delay)
        await self._let_go()
        self.state = "stopped"

    async def _hold(self) -> bool:
        """Wait as a standby until this process holds the role; False when stopped first."""
        if self.role is None or self.holders is None or self.holders.holds(self.role):
            return True
        if not await self.holders.claim(self.role):
            self.state = "standby"
            log.info(
                "%s: %s stands by; %s is held by another process",
                self.platform,
                self.holders.name,
                self.role.label,
            )
            if not await self.holders.wait_for(self.role, self._stopping):
                return False
        log.info("%s: %s now holds %s", self.platform, self.holders.name, self.role.label)
        return True

    async def _let_go(self) -> None:
        if self.role is not None and self.holders is not None and self.holders.holds(self.role):
            await self.holders.release(self.role)
            log.info("%s: %s gave up %s", self.platform, self.holders.name, self.role.label)

    async def _run_adapter(self, adapter: Supervised) -> bool:
        """Run `adapter`; stop it at once (no draining) if the role is lost. True if lost."""
        if self.role is None or self.holders is None:
            await adapter.run(self._core)
            return False
        running = asyncio.create_task(adapter.run(self._core), name=f"{self.platform}-adapter")
        lost = asyncio.create_task(self.holders.lost(self.role).wait())
        try:
            await asyncio.wait({running, lost}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if running.done():
            running.result()
            return False
        log.error(
            "%s: %s lost %s; stopped syncing and sending",
            self.platform,
            self.holders.name,
            self.role.label,
        )
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        return True

    async def stop(self) -> None:
        """Stop the adapter: it delivers what is pending and closes its client."""
        self._stopping.set()
        if self.adapter is not None and self.state == "running":
            await self.adapter.stop()
