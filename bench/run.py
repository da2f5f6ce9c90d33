"""`make bench`: seeds a co-op at 1 %, 10 % and 100 % of the goal size on SQLite and
PostgreSQL, measures every command of issue 11 through Core.handle in separate processes,
and writes docs/PERFORMANCE.md, docs/performance.png and docs/performance.json.

Knobs (environment): SCALE=1,10,100 (percent of the goal size), DATABASES=sqlite,postgres,
BENCH_BUDGET=5 (seconds per scenario at the goal size, 40 % of it below; at least 3 runs
each, at most 200), BENCH_POSTGRES_URL (a server where this user may create and drop
databases), BENCH_OUT=docs, BENCH_NOTE (a line on the run for PERFORMANCE.md)."""

from __future__ import annotations

import asyncio
import functools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import report
from bench.seed.build import seed

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
SMALL_BUDGET = 0.4  # the share of BENCH_BUDGET a scenario gets below the goal size


def _measure(mode: str, *args: str) -> dict[str, Any]:
    """Run `python -m bench.measure mode args…` and read its JSON line."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-m", "bench.measure", mode, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench.measure {mode} failed:\n{done.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


async def _admin(server: str, sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(
        server.replace("postgresql+asyncpg://", "postgresql://", 1) + "/postgres"
    )
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class Database:
    """A fresh, empty database for one run, removed afterwards."""

    def __init__(self, kind: str, folder: Path, pg_server: str, tag: str) -> None:
        self.kind = kind
        self.pg_server = pg_server
        self.name = f"coopbot_bench_{tag}_{os.getpid()}"
        if kind == "sqlite":
            self.url = f"sqlite+aiosqlite:///{folder / (self.name + '.db')}"
        else:
            self.url = f"{pg_server}/{self.name}"
        self.folder = folder

    def create(self) -> None:
        if self.kind == "postgres":
            asyncio.run(_admin(self.pg_server, f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        if self.kind == "postgres":
            asyncio.run(
                _admin(self.pg_server, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            )
        else:
            for path in self.folder.glob(self.name + ".db*"):
                path.unlink()


def measure_one(
    kind: str,
    fraction: float,
    folder: Path,
    budget: float,
    say: Callable[[str], None],
    loads: list[float],
) -> dict[str, Any]:
    pg = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_PG).rstrip("/")
    database = Database(kind, folder, pg, f"{round(fraction * 1000)}")
    run: dict[str, Any] = {"database": kind, "fraction": fraction}
    phases: dict[str, float] = {}
    run["phases_s"] = phases  # where the harness spent its own time
    name = f"{kind} {fraction * 100:g} %"

    def timed(phase: str, action: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        found = action()
        phases[phase] = time.perf_counter() - began
        loads.append(os.getloadavg()[0])
        say(f"{name}: {phase} in {phases[phase]:.1f} s")
        return found

    database.create()
    try:
        seeded = timed("seed", lambda: asyncio.run(seed(database.url, fraction)))
        run["seed"] = {"seconds": seeded.seconds, "stages": seeded.stages, "rows": seeded.rows}
        # p99 matters at the goal size; smaller sizes show the growth, from fewer runs
        scenario_budget = budget if fraction >= 1 else budget * SMALL_BUDGET
        args = (database.url, str(fraction), str(scenario_budget))
        for mode in ("commands", "summary_first", "raw_read", "export"):
            run[mode] = timed(mode, functools.partial(_measure, mode, *args))
    finally:
        database.drop()
    return run


def _commit() -> str:
    done = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    )
    return done.stdout.strip() or "unknown"


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(say: Callable[[str], None] = lambda line: print(line, file=sys.stderr)) -> int:
    scales = [float(s) / 100 for s in os.environ.get("SCALE", "1,10,100").split(",") if s]
    kinds = [d.strip() for d in os.environ.get("DATABASES", "sqlite,postgres").split(",") if d]
    budget = float(os.environ.get("BENCH_BUDGET", "5"))
    out = Path(os.environ.get("BENCH_OUT", ROOT / "docs"))
    unknown = set(kinds) - {"sqlite", "postgres"}
    if unknown or not scales or any(not 0 < s <= 1 for s in scales):
        say("DATABASES takes sqlite and/or postgres; SCALE takes percents in (0, 100]")
        return 2
    began = time.perf_counter()
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "cpus": os.cpu_count(),
        "load_before": _load(),
    }
    runs = []
    loads: list[float] = []
    imported = _measure("imports")  # per kind of bot process; the same for every database and size
    with tempfile.TemporaryDirectory(prefix="coopbot-bench-") as folder:
        for kind in kinds:
            for fraction in sorted(scales):
                run = measure_one(kind, fraction, Path(folder), budget, say, loads)
                run["imports"] = imported
                runs.append(run)
    meta["load_after"] = _load()
    meta["load_steps"] = " ".join(f"{x:.1f}" for x in loads)
    if os.environ.get("BENCH_NOTE"):
        meta["note"] = os.environ["BENCH_NOTE"]
    meta["seconds"] = time.perf_counter() - began
    report.write({"meta": meta, "runs": runs}, out)
    say(f"wrote {out / 'PERFORMANCE.md'} in {meta['seconds'] / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
