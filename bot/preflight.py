"""Pre-flight checks (`coopbot check`, and `coopbot run` before it starts): settings,
database, state paths and each platform's credentials, rooms and permissions."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.config import Settings
from bot.db.engine import make_engine
from bot.db.models import RoomBinding
from bot.db.status import schema_status
from bot.files import is_private, sqlite_path
from bot.holders import describe, holdings
from bot.operator_errors import OperatorError, explain, safe_url
from bot.platforms import load
from bot.ports import Finding, Level

__all__ = ["PLATFORMS", "Finding", "Level", "Report", "preflight"]

PLATFORMS = ("matrix", "discord")


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    rooms: dict[str, list[str]] = field(default_factory=dict)  # platform → bound room ids

    @property
    def failed(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "fail"]


async def check_database(settings: Settings, report: Report, *, will_create: bool) -> None:
    """Reachable, schema usable; the bound rooms are read for the platform checks."""
    url = settings.database_url
    path = sqlite_path(url)
    if path is not None and not path.exists():
        if not path.parent.is_dir():
            report.findings.append(
                Finding(
                    "fail",
                    "database",
                    f"no folder {path.parent} for the SQLite database {path}",
                    "create the folder, or fix database_url / --db",
                )
            )
        elif not os.access(path.parent, os.W_OK):
            report.findings.append(
                Finding(
                    "fail",
                    "database",
                    f"cannot create {path}: {path.parent} is not writable",
                    "give the bot's user write access to that folder",
                )
            )
        elif will_create:
            report.findings.append(Finding("ok", "database", f"{path} is created at start"))
        else:
            report.findings.append(
                Finding(
                    "fail",
                    "database",
                    f"no database at {path}",
                    "fix database_url / --db if it is a typo; for a new installation "
                    "create it with `coopbot db upgrade`",
                )
            )
        return
    if path is not None and not os.access(path, os.W_OK):
        report.findings.append(
            Finding(
                "fail",
                "database",
                f"{path} is not writable by this user",
                "run the bot as the user that owns it",
            )
        )
        return
    engine = make_engine(url)
    try:
        status = await schema_status(engine)
        if status.current is not None and status.known:
            async with engine.connect() as connection:
                rows = await connection.execute(select(RoomBinding.platform, RoomBinding.room_id))
                for platform, room_id in rows.all():
                    report.rooms.setdefault(platform, []).append(room_id)
    except Exception as exc:
        message, *hint = explain(exc, url).lines
        report.findings.append(Finding("fail", "database", message, hint[0] if hint else None))
        return
    finally:
        await engine.dispose()
    where = safe_url(url)
    if not status.known:
        report.findings.append(Finding("fail", "database", f"{where}: {status.describe()}"))
    elif status.at_head or path is not None:
        # SQLite upgrades itself at start; PostgreSQL waits for the operator.
        note = "" if status.at_head else " (upgraded at start)"
        report.findings.append(Finding("ok", "database", f"{where}: {status.describe()}{note}"))
    else:
        report.findings.append(
            Finding(
                "fail",
                "database",
                f"{where}: {status.describe()}",
                "run `coopbot db upgrade` once, then start the bot",
            )
        )


def _state_paths(settings: Settings) -> list[tuple[str, Path]]:
    paths = []
    db = sqlite_path(settings.database_url)
    if db is not None:
        paths.append(("database folder", db.parent))
    if settings.matrix.configured:
        paths.append(("matrix.store_path", Path(settings.matrix.store_path)))
    if not (settings.matrix.configured or settings.discord.configured):
        paths.append(("attachments_dir", Path(settings.attachments_dir)))
    return paths


def check_state_paths(settings: Settings, report: Report) -> None:
    """Each folder the bot writes: writable, and private (the bot makes new ones so)."""
    for name, path in _state_paths(settings):
        if not path.exists() and name == "database folder":
            continue  # the database check says what is wrong
        if not path.exists():
            parent = next((p for p in path.parents if p.exists()), Path("."))
            if os.access(parent, os.W_OK):
                report.findings.append(Finding("ok", "state", f"{name} {path} is created at start"))
            else:
                report.findings.append(
                    Finding(
                        "fail", "state", f"{name}: cannot create {path} ({parent} is not writable)"
                    )
                )
            continue
        if not os.access(path, os.W_OK | os.X_OK):
            report.findings.append(
                Finding("fail", "state", f"{name} {path} is not writable by this user")
            )
        elif name != "database folder" and not is_private(path):
            report.findings.append(
                Finding(
                    "warn",
                    "state",
                    f"{name} {path} can be read by other users",
                    f"coopbot run makes it private at start (or: chmod 700 {path})",
                )
            )
        else:
            report.findings.append(Finding("ok", "state", f"{name} {path}"))
    db = sqlite_path(settings.database_url)
    if db is not None and db.exists() and not is_private(db):
        report.findings.append(
            Finding(
                "warn",
                "state",
                f"the database {db} can be read by other users",
                f"coopbot run makes it private at start (or: chmod 600 {db}*)",
            )
        )


async def check_platforms(settings: Settings, report: Report, **options: Any) -> None:
    """Each configured platform's own checks (credentials, rooms, permissions)."""
    for name in PLATFORMS:
        if not getattr(settings, name).configured:
            continue
        try:
            platform = load(name)
        except (ModuleNotFoundError, OperatorError) as exc:
            message, *hint = explain(exc).lines
            report.findings.append(Finding("fail", name, message, hint[0] if hint else None))
            continue
        found: Sequence[Finding] = await platform.check(
            settings, report.rooms.get(name, []), **options.get(name, {})
        )
        report.findings.extend(found)
    if not (settings.matrix.configured or settings.discord.configured):
        report.findings.append(
            Finding(
                "warn",
                "platforms",
                "neither [matrix] nor [discord] is configured",
                "coopbot run then needs a terminal; `coopbot console` reads from a pipe",
            )
        )
    if not settings.source_url:
        report.findings.append(
            Finding(
                "warn",
                "about",
                "source_url is not set",
                "set it to where members can get the code this bot runs (AGPL-3.0 §13)",
            )
        )


async def check_topology(settings: Settings, report: Report) -> None:
    """Which process holds which platform connection now (PostgreSQL: several processes may
    run; SQLite: one)."""
    if sqlite_path(settings.database_url) is not None or settings.database_url.startswith("sqlite"):
        report.findings.append(
            Finding("ok", "processes", "SQLite: one bot process holds every connection")
        )
        return
    platforms = [name for name in PLATFORMS if getattr(settings, name).configured]
    if not platforms:
        return
    try:
        found = describe(await holdings(settings.database_url))
    except Exception as exc:
        report.findings.append(
            Finding("warn", "processes", f"could not read who holds the connections ({exc})")
        )
        return
    for name in platforms:
        if name == "matrix":
            holder = found.get("matrix")
            text = f"held by {holder}" if holder else "not held by any process now"
            report.findings.append(Finding("ok", "processes", f"matrix session {text}"))
        else:
            held = found.get("discord", {})
            if not held:
                text = "no process holds a shard now"
            else:
                text = "; ".join(
                    f"{process} holds " + (f"shards {_ids(ids)}" if ids else "all shards")
                    for process, ids in sorted(held.items())
                )
            report.findings.append(Finding("ok", "processes", f"discord: {text}"))


def _ids(ids: Sequence[int]) -> str:
    return ",".join(str(i) for i in sorted(ids))


async def preflight(settings: Settings, *, will_create: bool, **options: Any) -> Report:
    """Every check, in the order an operator fixes things."""
    report = Report()
    await check_database(settings, report, will_create=will_create)
    if not any(f.subject == "database" for f in report.failed):
        await check_topology(settings, report)
    check_state_paths(settings, report)
    await check_platforms(settings, report, **options)
    return report
