"""One measuring process (`python -m bench.measure <mode> <url> <fraction> [budget s]`): runs
commands through Core.handle on a seeded database and prints its findings as one JSON line.

Modes: `commands` (every scenario, the bare insert+commit baseline, peak memory: not the
weekly chart's, which is drawn in a short-lived child process with a peak of its own),
`summary_first` (the first weekly summary of a fresh process), `export` and `raw_read`
(the contribution export through exports.write_csv into a file vs a plain streamed read,
with the extra peak memory of each),
`imports [console|matrix|discord]` (memory once a bot process of that kind has imported what
it runs; without a kind, each kind in a process of its own, with the floor under it: the
libraries it runs on imported alone in a bare interpreter; and the peak of the weekly
chart's child process drawing the largest chart). BENCH_ONLY=show,tally_all limits
`commands` to those scenarios (for comparing two versions of the code); the core is
opened as a running bot opens it (start-up objects frozen out of the garbage collector, as
bot.runner.running_core does). Each runs in its own process so
that memory and first-use costs are its own."""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

MB = 1024 * 1024


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def rss_mb() -> float:
    return _status_kb("VmRSS") / 1024


def peak_mb() -> float:
    return _status_kb("VmHWM") / 1024


def reset_peak() -> bool:
    """Start the peak (VmHWM) afresh from the current RSS (Linux 4.0+)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


async def open_core(url: str) -> Any:
    from bench.seed.plan import NOW
    from bot.app import create_core
    from bot.clock import ManualClock
    from bot.config import load_settings
    from bot.heap import freeze_start_up_objects

    attachments = tempfile.mkdtemp(prefix="coopbot-bench-files-")
    atexit.register(shutil.rmtree, attachments, True)
    settings = load_settings(None, database_url=url, attachments_dir=attachments)
    core = await create_core(settings, ManualClock(NOW))
    freeze_start_up_objects()  # as bot.runner.running_core does for a running bot
    return core


class Speaker:
    """Sends command text as a console member through Core.handle; counts the SQL
    statements each command sends (before_cursor_execute, BEGIN included)."""

    def __init__(self, core: Any) -> None:
        from sqlalchemy import event

        self.core = core
        self.sent = 0
        self.run_id = uuid.uuid4().hex[:8]  # message ids unique across measuring processes
        self.statements = 0

        def count(*_: object) -> None:
            self.statements += 1

        for engine in core.engines:  # SQLite's writer thread has an engine of its own
            event.listen(engine, "before_cursor_execute", count)

    async def reply(self, user: str, text: str) -> str:
        """The whole reply, as plain text."""
        return (await self.said(user, text))[3]

    async def say(self, user: str, text: str) -> tuple[float, float, int, str, int]:
        """(ms, CPU ms of this process, statements, first reply line, reply characters)."""
        spent, cpu_ms, sent, shown = await self.said(user, text)
        first = shown.splitlines()[0] if shown else "(no reply)"
        return spent, cpu_ms, sent, first, len(shown)

    async def said(self, user: str, text: str) -> tuple[float, float, int, str]:
        """(ms, CPU ms of this process, statements, the whole reply as plain text)."""
        from bench.seed.plan import ROOM_ID, ROOM_PLATFORM
        from bot.invocation import RoomRef, build_invocation
        from bot.render.plain import render_plain

        self.sent += 1
        invocation = build_invocation(
            RoomRef(ROOM_PLATFORM, ROOM_ID), user, text, f"bench-{self.run_id}-{self.sent}"
        )
        before = self.statements
        start, cpu = time.perf_counter(), time.process_time()
        replies = await self.core.handle(invocation)
        spent = (time.perf_counter() - start) * 1000
        cpu_ms = (time.process_time() - cpu) * 1000
        shown = "\n".join(render_plain(r) for r in replies)
        return spent, cpu_ms, self.statements - before, shown


async def _baseline(core: Any, speaker: Speaker, n: int) -> dict[str, Any]:
    """A bare insert+commit on the same database, through the same session factory."""
    from sqlalchemy import text

    from bench.seed.plan import NOW

    stamp = NOW.replace(tzinfo=None)
    samples = []
    for k in range(n + 1):
        start = time.perf_counter()
        async with core.sessions() as session, session.begin():
            await session.execute(
                text(
                    "INSERT INTO handled_messages (platform, message_id, handled_at) "
                    "VALUES ('bench', :id, :at)"
                ),
                {"id": f"bare-{k}", "at": stamp},
            )
        if k:  # the first one warms the pool
            samples.append((time.perf_counter() - start) * 1000)
    return {"samples_ms": samples}


async def commands(
    url: str, fraction: float, budget: float, *, at_most: int | None = None
) -> dict[str, Any]:
    """Every scenario until `budget` seconds (at least 3 runs) or `at_most` runs each."""
    from bench.scenarios import scenarios
    from bench.seed.plan import Plan

    logging.disable(logging.WARNING)
    import_kind("console")  # the peak is a console bot's: its runner, CLI and adapter too
    core = await open_core(url)
    speaker = Speaker(core)
    found: dict[str, Any] = {"rss_start_mb": rss_mb(), "scenarios": {}}
    try:
        found["baseline"] = await _baseline(core, speaker, at_most or 200)
        only = {key for key in os.environ.get("BENCH_ONLY", "").split(",") if key}
        for scenario in scenarios(Plan.at(fraction)):
            if only and scenario.key not in only:
                continue
            samples: list[float] = []
            cpu: list[float] = []
            statements: list[int] = []
            wrong: list[str] = []
            first, size = "", 0
            began = time.perf_counter()
            most = min(scenario.max_samples, at_most or scenario.max_samples)
            calls = scenario.calls[: most + scenario.warmup]
            for k, call in enumerate(calls):
                spent, cpu_ms, sent, shown = await speaker.said(call.user, call.text)
                first, size = (shown.splitlines() or ["(no reply)"])[0], len(shown)
                if scenario.expect not in first or scenario.paged not in shown:
                    wrong.append(f"{call.user}: {call.text} → {first}")
                if k >= scenario.warmup:
                    samples.append(spent)
                    cpu.append(cpu_ms)
                    statements.append(sent)
                if len(samples) >= 3 and time.perf_counter() - began > budget:
                    break
            found["scenarios"][scenario.key] = {
                "samples_ms": samples,
                "cpu_ms": cpu,
                "statements": statements,
                "first_line": first,
                "reply_chars": size,
                "wrong": wrong[:3],
                # The process's peak once this scenario has run: the scenario that raises
                # it most is the one that sets the bot's peak.
                "peak_after_mb": peak_mb(),
            }
    finally:
        await core.close()
    found["peak_mb"] = peak_mb()
    return found


async def summary_first(url: str) -> dict[str, Any]:
    from bench.scenarios import STEWARD

    logging.disable(logging.WARNING)
    core = await open_core(url)
    speaker = Speaker(core)
    try:
        spent, cpu_ms, sent, first, _ = await speaker.say(STEWARD, "summary")
    finally:
        await core.close()
    return {"ms": spent, "cpu_ms": cpu_ms, "statements": sent, "first_line": first}


async def _peak_of(action: Callable[[], Awaitable[str]]) -> dict[str, Any]:
    exact = reset_peak()
    before = rss_mb()
    start = time.perf_counter()
    said = await action()
    spent = (time.perf_counter() - start) * 1000
    return {
        "ms": spent,
        "extra_mb": max(0.0, peak_mb() - before),
        "exact_peak": exact,
        "first_line": said,
    }


async def export(url: str) -> dict[str, Any]:
    """The contribution export through the app's streaming path (`coopbot export
    contributions` calls exports.write_csv the same way), written into a file."""
    from bench.seed.plan import COOP_ID
    from bot.services.exports import write_csv

    logging.disable(logging.WARNING)
    core = await open_core(url)
    async with core.engine.connect() as connection:  # connect before measuring
        await connection.execute(text_sql("SELECT 1"))
    folder = tempfile.mkdtemp(prefix="coopbot-bench-export-")

    async def run() -> str:
        path = Path(folder) / "contributions.csv"
        with path.open("w", encoding="utf-8", newline="") as out:
            async with core.sessions() as session:
                rows, _ = await write_csv(session, COOP_ID, "contributions", out)
        return f"{rows} rows, {path.stat().st_size / MB:.1f} MB of CSV"

    try:
        return await _peak_of(run)
    finally:
        await core.close()
        shutil.rmtree(folder, ignore_errors=True)


def text_sql(sql: str) -> Any:
    from sqlalchemy import text

    return text(sql)


async def raw_read(url: str) -> dict[str, Any]:
    """Every contribution row of the co-op streamed through the same engine, each row
    formatted as a CSV line and dropped: the least an export has to do."""
    from sqlalchemy import text

    logging.disable(logging.WARNING)
    core = await open_core(url)
    async with core.engine.connect() as connection:
        await connection.execute(text("SELECT 1"))

    async def run() -> str:
        rows = 0
        async with core.engine.connect() as connection:
            result = await connection.stream(
                text(
                    "SELECT id, member_id, kind, amount, note, category, task_id, giver_id, "
                    "created_at FROM contributions WHERE coop_id = 1 ORDER BY created_at, id"
                ).execution_options(yield_per=2000)
            )
            # partitions() without a size buffers the whole result despite yield_per
            async for partition in result.partitions(2000):
                for row in partition:
                    ",".join("" if v is None else str(v) for v in row)
                    rows += 1
        return f"{rows} rows"

    try:
        return await _peak_of(run)
    finally:
        await core.close()


# The kinds of bot process: each imports the core, its runner and CLI, and only the
# adapter (and the adapter's pre-flight checks) of the platform it runs.
KINDS = ("console", "matrix", "discord")
WATCHED = ("nio", "discord", "aiohttp", "prometheus_client", "matplotlib", "alembic", "asyncpg")


def import_kind(kind: str) -> dict[str, float]:
    """Import what a `kind` bot process imports before it starts, step by step; the RSS
    after each step (MB)."""
    import importlib

    steps = {"interpreter": rss_mb()}
    for module in ("bot.app", "bot.runner", "bot.cli"):
        importlib.import_module(module)
        steps[module] = rss_mb()
    from bot.platforms import load

    load(kind)  # what `coopbot run` / `console` loads for the platform (bot.runner)
    steps[f"adapters.{kind}"] = rss_mb()
    if kind != "console":  # `coopbot run` checks the platform before it starts it
        importlib.import_module(f"adapters.{kind}.preflight")
        steps[f"adapters.{kind}.preflight"] = rss_mb()
    return steps


# The libraries a bot process of each kind cannot run without (the database, settings,
# scheduler and CLI, and the platform's chat SDK): their own import cost in a bare
# interpreter is the floor under that kind's memory after imports.
LIBRARIES = (
    "sqlalchemy.ext.asyncio",
    "aiosqlite",
    "pydantic_settings",
    "apscheduler.schedulers.asyncio",
    "typer",
)
SDKS = {"console": (), "matrix": ("aiohttp", "nio"), "discord": ("aiohttp", "discord")}
_FLOOR = """
import importlib, sys
for name in sys.argv[1:]:
    importlib.import_module(name)
print(next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmRSS:")))
"""


def library_floor(kind: str) -> float:
    """RSS (MB) of a bare interpreter that imported only the libraries a `kind` bot
    process runs on (none of coopbot's own code)."""
    import subprocess

    done = subprocess.run(
        [sys.executable, "-c", _FLOOR, *LIBRARIES, *SDKS[kind]],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip()) / 1024


def imports_of(kind: str) -> dict[str, Any]:
    """Memory once a `kind` bot process has imported what it runs (this process)."""
    steps = import_kind(kind)
    loaded = {name for name in WATCHED if name in sys.modules}
    return {"kind": kind, "rss_mb": rss_mb(), "steps_mb": steps, "loaded": sorted(loaded)}


# Runs one chart child as the bot does (bot.render.chart_process's command and input) on the
# largest chart, from a bare interpreter: getrusage gives a child's peak as the larger of its
# own and its parent's memory at the time it started (vfork shares it until exec), so the
# parent must be small (this launcher's own peak is reported beside it, to show that it is).
_CHART_CHILD = """
import json, resource, subprocess, sys, time
from bot.render.chart_input import MAX_BARS, NAME_MAX, Bar, ChartInput, chart_heading
from bot.render.chart_process import _child_argv, _child_env

bars = tuple(
    Bar("@" + f"member{i:05d}".ljust(NAME_MAX - 1, "x"), float(i), 2.5, 1.0)
    for i in range(MAX_BARS, 0, -1)
)
chart = ChartInput(chart_heading("Contributions — Week 47 (16–22 Nov 2026)", 10000), bars)
start = time.perf_counter()
done = subprocess.run(_child_argv(), input=chart.encode(), capture_output=True, env=_child_env())
spent = (time.perf_counter() - start) * 1000
assert done.returncode == 0 and done.stdout.startswith(b"\\x89PNG"), done.stderr[-2000:]
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
# this launcher's own peak (VmHWM: its own memory only; getrusage's would include the peak
# of the process that started it)
own = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
own /= 1024
print(json.dumps({"peak_mb": peak, "launcher_peak_mb": own, "ms": spent}))
"""


# What the chart child does, timed step by step in a fresh interpreter: matplotlib's import
# (bot.render.chart), then the first drawing of the largest chart.
_CHART_DRAW = """
import json, time
start = time.perf_counter()
from bot.render import chart
from bot.render.chart_input import MAX_BARS, NAME_MAX, Bar, ChartInput, chart_heading
imported = time.perf_counter()
bars = tuple(
    Bar("@" + f"member{i:05d}".ljust(NAME_MAX - 1, "x"), float(i), 2.5, 1.0)
    for i in range(MAX_BARS, 0, -1)
)
wanted = ChartInput(chart_heading("Contributions — Week 47 (16–22 Nov 2026)", 10000), bars)
drawing = time.perf_counter()
chart.draw(wanted)
done = time.perf_counter()
print(json.dumps({"import_ms": (imported - start) * 1000, "draw_ms": (done - drawing) * 1000}))
"""
CHART_DRAW_RUNS = 5


def _python_json(*args: str) -> dict[str, Any]:
    """The JSON line `python args…` printed last, run with this checkout on its path."""
    import subprocess

    done = subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent)),
    )
    found: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def chart_child() -> dict[str, Any]:
    """The weekly chart's child process drawing the largest chart (40 bars): its peak RSS
    (MB) and how long it took from start to exit, import of matplotlib included; and, as
    the median of CHART_DRAW_RUNS fresh interpreters, its two steps: matplotlib's import
    and the drawing itself (`draw_ms`)."""
    found = _python_json("-c", _CHART_CHILD)
    steps = [_python_json("-c", _CHART_DRAW) for _ in range(CHART_DRAW_RUNS)]
    for key in ("import_ms", "draw_ms"):
        found[key] = statistics.median(step[key] for step in steps)
        found[f"{key}_runs"] = [step[key] for step in steps]
    return found


def imports() -> dict[str, Any]:
    """Memory after imports of each kind of bot process (console, Matrix, Discord), each
    measured in a fresh process of its own."""
    kinds = {}
    for kind in KINDS:
        kinds[kind] = _python_json("-m", "bench.measure", "imports", kind)
        kinds[kind]["floor_mb"] = library_floor(kind)
    return {"kinds": kinds, "chart_child": chart_child()}


def main(argv: list[str]) -> int:
    mode = argv[0] if argv else ""
    if mode == "imports":
        found = imports_of(argv[1]) if len(argv) > 1 else imports()
    elif mode in ("commands", "summary_first", "export", "raw_read") and len(argv) >= 3:
        url, fraction = argv[1], float(argv[2])
        budget = float(argv[3]) if len(argv) > 3 else 5.0
        if mode == "commands":
            found = asyncio.run(commands(url, fraction, budget))
        elif mode == "summary_first":
            found = asyncio.run(summary_first(url))
        elif mode == "export":
            found = asyncio.run(export(url))
        else:
            found = asyncio.run(raw_read(url))
    else:
        print(__doc__)
        return 2
    print(json.dumps(found))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
