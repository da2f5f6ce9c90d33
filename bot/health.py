"""What /healthz and /metrics report: the database answers, each adapter is connected (or
stands by while another process holds its connection), which process holds which platform
connection, how far the outbox and the scheduler are behind."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text

from bot.app import Core
from bot.db.models import OutboxDelivery, OutboxMessage
from bot.holders import describe, holdings, process_name
from bot.services import due
from bot.supervise import Supervisor


@dataclass(frozen=True)
class Health:
    healthy: bool
    report: dict[str, Any]


@dataclass(frozen=True)
class OutboxState:
    pending: dict[str, int]  # still to be sent, by platform
    dead: dict[str, int]  # given up (dead letters a steward can retry), by platform
    oldest_seconds: float  # age of the oldest delivery still to be sent


async def outbox_state(core: Core) -> OutboxState:
    """Deliveries still to be sent and dead letters per platform, and the age (s) of the
    oldest one still to be sent."""
    depth = await core.outbox_depth()
    async with core.sessions() as session:
        oldest = await session.scalar(
            select(func.min(OutboxMessage.created_at))
            .join(OutboxDelivery, OutboxDelivery.outbox_id == OutboxMessage.id)
            .where(OutboxDelivery.delivered_at.is_(None), OutboxDelivery.dead_at.is_(None))
        )
    age = (core.clock.now() - oldest).total_seconds() if oldest is not None else 0.0
    return OutboxState(
        pending={platform: pending for platform, (pending, _) in depth.items()},
        dead={platform: dead for platform, (_, dead) in depth.items()},
        oldest_seconds=max(age, 0.0),
    )


async def check(core: Core, supervisors: Sequence[Supervisor]) -> Health:
    """One look at everything; also brings the metrics gauges up to date."""
    metrics = core.metrics
    report: dict[str, Any] = {}
    try:
        async with core.sessions() as session:
            await session.execute(text("SELECT 1"))
        outbox = await outbox_state(core)
        pending, oldest = outbox.pending, outbox.oldest_seconds
        when = await due.next_due(core.sessions, core.clock, core.settings)
        lag = max((core.clock.now() - when).total_seconds(), 0.0) if when else 0.0
        report["database"] = {"ok": True}
        report["outbox"] = {
            "pending": pending,
            "dead": outbox.dead,
            "oldest_seconds": round(oldest, 1),
        }
        report["scheduler"] = {"lag_seconds": round(lag, 1)}
        for platform in {s.platform for s in supervisors} | set(pending):
            metrics.outbox_pending.labels(platform=platform).set(pending.get(platform, 0))
            metrics.outbox_dead.labels(platform=platform).set(outbox.dead.get(platform, 0))
        metrics.outbox_oldest.set(oldest)
        metrics.scheduler_lag.set(lag)
        database_ok = True
    except Exception as exc:
        report["database"] = {"ok": False, "error": type(exc).__name__}
        database_ok = False
    adapters: dict[str, Any] = {}
    report["process"] = process_name(core.settings.process_name)
    for supervisor in supervisors:
        state = supervisor.health()
        metrics.adapter_connected.labels(platform=supervisor.platform).set(int(state.connected))
        entry: dict[str, Any] = {"state": supervisor.state, "connected": state.connected}
        if supervisor.role is not None:
            entry["holds"] = supervisor.holding
            if supervisor.role.shards:
                entry["shards"] = list(supervisor.role.shards)
        if state.last_sync is not None:
            age = (core.clock.now() - state.last_sync).total_seconds()
            entry["last_sync_seconds"] = round(max(age, 0.0), 1)
        if supervisor.last_error and not state.connected:
            entry["error"] = supervisor.last_error
        adapters[supervisor.platform] = entry
    report["adapters"] = adapters
    if database_ok and any(s.holders and s.holders.shared for s in supervisors):
        try:
            report["holders"] = describe(await holdings(core.settings.database_url))
        except Exception as exc:
            report["holders"] = {"error": type(exc).__name__}
    # A standby is healthy: it is ready to take the connection over.
    healthy = database_ok and all(
        entry["connected"] or entry["state"] == "standby" for entry in adapters.values()
    )
    report["status"] = "ok" if healthy else "unhealthy"
    return Health(healthy, report)
