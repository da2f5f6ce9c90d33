"""Stops a bare Core on SQLite (or PostgreSQL) while its outbox pumps run, at a random
moment, each run in its own process, and counts the runs that did not exit in time: a
pump cancelled inside a transaction must let the stop return.

    PYTHONPATH=$PWD .venv/bin/python -m bench.cancel_stress --runs 120 --jobs 2 --timeout 20

Measured on 27 Nov 2026 (2 shared cores, --timeout 20): before the fix (main at 4567c75)
59 of 120 SQLite runs and 25 of 40 PostgreSQL runs did not exit; after it 0 of 240 and 0
of 40.

Knobs: --runs N, --jobs J (processes at once), --timeout S (a run that takes longer did
not exit), --pumps P, --database URL (default: a fresh SQLite file per run; a PostgreSQL
URL is shared by every run, which is fine: the pumps only lease). A run also counts as
failed when a pump logged an error while stopping (its cancellation turned into another
error) or the writer's lock was still held after the stop."""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORMS = ("console", "matrix", "discord")
NOISE = "sqlalchemy logged a cancelled reset:"


async def _nothing_to_send(_delivery: object) -> str | None:
    return None


async def _run_once(url: str, pumps: int, stop_after: float) -> list[str]:
    """One start and stop; returns what went wrong (empty when the stop was clean)."""
    from bot.app import create_core
    from bot.clock import SystemClock
    from bot.config import Settings

    problems: list[str] = []

    class _Errors(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno < logging.ERROR:
                return
            error = record.exc_info[1] if record.exc_info else None
            if record.name.startswith("sqlalchemy.pool") and isinstance(
                error, asyncio.CancelledError
            ):
                # SQLAlchemy's own report of a reset (the rollback as a connection goes
                # back) that the stop cancelled; it re-raises the cancellation.
                print(f"{NOISE} {record.getMessage()}", flush=True)
                return
            caught = f" ({type(error).__name__})" if error is not None else ""
            problems.append(f"{record.name} logged: {record.getMessage()}{caught}")

    logging.getLogger().addHandler(_Errors())
    core = await create_core(Settings(database_url=url), SystemClock())
    running = [
        core.pump(PLATFORMS[i % len(PLATFORMS)] + str(i), _nothing_to_send, every=0.0)
        for i in range(pumps)
    ]
    for pump in running:
        pump.start()
    await asyncio.sleep(stop_after)
    for pump in running:
        await pump.stop()
    # The writer's lock is free: a new write transaction goes through at once.
    try:
        async with asyncio.timeout(5):
            await core.pending_deliveries("console")
    except TimeoutError:
        problems.append("a write after the stop waited for the writer's lock")
    await core.close()
    return problems


def _child(url: str, pumps: int, stop_after: float) -> int:
    problems = asyncio.run(_run_once(url, pumps, stop_after))
    for problem in problems:
        print(problem, flush=True)
    return 1 if problems else 0


def _template(workdir: Path) -> Path:
    """A migrated SQLite file each run starts from (a copy), so no run pays for migrating."""
    path = workdir / "template.db"
    url = f"sqlite+aiosqlite:///{path}"
    subprocess.run(
        [sys.executable, "-m", "bench.cancel_stress", "child", url, "1", "0"],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    return path


def _one_run(args: argparse.Namespace, workdir: Path, template: Path | None, n: int) -> str:
    """'ok', 'noisy' (ok, but SQLAlchemy logged the cancelled reset of a connection),
    'hung' (did not exit in time) or 'error' (exited, but not cleanly)."""
    if template is not None:
        path = workdir / f"run{n}.db"
        shutil.copy(template, path)
        url = f"sqlite+aiosqlite:///{path}"
    else:
        url = args.database
    stop_after = random.uniform(0.0, args.window)
    command = [
        sys.executable,
        "-m",
        "bench.cancel_stress",
        "child",
        url,
        str(args.pumps),
        str(stop_after),
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        out, _ = process.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        return "hung"
    finally:
        if template is not None:
            for leftover in workdir.glob(f"run{n}.db*"):
                leftover.unlink()
    if process.returncode != 0:
        if args.verbose:
            print(f"run {n} (stop after {stop_after:.3f} s):\n{out}", file=sys.stderr)
        return "error"
    return "noisy" if NOISE in out else "ok"


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        url, pumps, stop_after = sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
        return _child(url, pumps, stop_after)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=120)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=45.0)
    parser.add_argument("--pumps", type=int, default=3)
    parser.add_argument("--window", type=float, default=1.0, help="stop within this many s")
    parser.add_argument("--database", default="", help="a PostgreSQL URL (default: SQLite)")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        template = None if args.database else _template(workdir)
        with ThreadPoolExecutor(args.jobs) as pool:
            outcomes = list(
                pool.map(lambda n: _one_run(args, workdir, template, n), range(args.runs))
            )
    hung, errors = outcomes.count("hung"), outcomes.count("error")
    print(
        f"{args.runs} runs, {args.pumps} pumps, stopped within {args.window} s: "
        f"{hung} did not exit within {args.timeout:.0f} s, {errors} exited with errors, "
        f"{outcomes.count('noisy')} clean but with SQLAlchemy's cancelled-reset log "
        f"({time.monotonic() - started:.0f} s)"
    )
    return 1 if hung or errors else 0


if __name__ == "__main__":
    sys.exit(main())
