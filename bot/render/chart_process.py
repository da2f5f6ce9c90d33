"""The bot's side of the chart child: started early, fed the chart input, its PNG read back.

At most CHARTS_AT_ONCE children are alive at a time in a process (ChartSlots, owned by the
core): a summary waits for a slot, at most CHART_SLOT_WAIT seconds. Any way out (a chart
drawn, a failure, the summary cancelled, the bot stopping) kills the child if it still
runs and reaps it, and only then gives its slot back. A child that cannot start (or get a
slot), fails, times out, writes too much or writes something other than a whole PNG gives
one log line and no chart; its stderr goes only into that line, never to a room."""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import sys
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Protocol

log = logging.getLogger(__name__)

CHILD_MODULE: Final = "bot.render.chart_child"
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# A 40-bar chart is ~60 KB; the cap only stops a child gone wrong from filling memory.
PNG_MAX_BYTES: Final = 4 * 1024 * 1024
STDERR_KEPT: Final = 4096
READ_SIZE: Final = 64 * 1024
# Where the `bot` package this process runs from lives: the child imports the same code.
CODE_ROOT: Final = str(Path(__file__).resolve().parents[2])
# Each child peaks at some 80 MB for about a second: summaries asked for at once (several
# stewards, or one sending many) take turns instead of each starting one.
CHARTS_AT_ONCE: Final = 1
# How long a summary waits for its turn before it is posted without its chart.
CHART_SLOT_WAIT: Final = 10.0


class ChartInput(Protocol):
    """What the child is fed (bot.render.chart_input.ChartInput; named here by what it
    does, so that this module, which every unit of work's Context names, imports nothing
    of the bot's)."""

    def encode(self) -> bytes: ...


class ChartFailed(Exception):
    """Why the child gave no chart (said in the log line)."""


def _child_argv() -> tuple[str, ...]:
    # -P: not the working directory (the bot's state directory) first on the child's path.
    return (sys.executable, "-P", "-m", CHILD_MODULE)


def _child_env() -> dict[str, str]:
    """This process's environment (MPLCONFIGDIR included), and, when this code is not
    installed in site-packages (a source checkout), its directory on the child's path."""
    env = dict(os.environ)
    if Path(CODE_ROOT).name not in ("site-packages", "dist-packages"):
        env["PYTHONPATH"] = os.pathsep.join(p for p in (CODE_ROOT, env.get("PYTHONPATH")) if p)
    return env


def whole_png(data: bytes) -> bool:
    """A PNG signature, then chunks with the right lengths and CRCs, IHDR first and IEND last."""
    if not data.startswith(PNG_SIGNATURE):
        return False
    at, first = len(PNG_SIGNATURE), True
    while at + 12 <= len(data):
        (length,) = struct.unpack_from(">I", data, at)
        kind = data[at + 4 : at + 8]
        end = at + 12 + int(length)
        if end > len(data) or (first and kind != b"IHDR"):
            return False
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[at + 4 : end - 4]) != crc:
            return False
        if kind == b"IEND":
            return end == len(data)
        at, first = end, False
    return False


async def _read_capped(stream: asyncio.StreamReader, most: int) -> bytes:
    """Up to `most` bytes; ChartFailed if there are more."""
    parts: list[bytes] = []
    size = 0
    while chunk := await stream.read(READ_SIZE):
        size += len(chunk)
        if size > most:
            raise ChartFailed(f"the chart child wrote more than {most} bytes")
        parts.append(chunk)
    return b"".join(parts)


async def _stderr_tail(stream: asyncio.StreamReader) -> bytes:
    """The last STDERR_KEPT bytes of what the child wrote to stderr (read to the end, so that
    a chatty child never blocks on a full pipe)."""
    kept = b""
    while chunk := await stream.read(READ_SIZE):
        kept = (kept + chunk)[-STDERR_KEPT:]
    return kept


async def _drained(stream: asyncio.StreamReader | None) -> None:
    """What is left on `stream` read and dropped, to its end."""
    while stream is not None and await stream.read(READ_SIZE):
        pass


async def _reaped(process: asyncio.subprocess.Process, gone: Callable[[], None]) -> None:
    """Wait for the child (killed, or ended), then call `gone`. Its pipes are read to their
    end first: asyncio (3.11) reports the exit only once every pipe has closed, and a pipe
    whose reading was paused (a child that wrote more than was read) would never close."""
    try:
        await asyncio.gather(_drained(process.stdout), _drained(process.stderr))
        await process.wait()
    finally:
        gone()


def _nothing() -> None:
    pass


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return repr(lines[-1][:300]) if lines else "nothing on stderr"


@dataclass
class RunningChart:
    """A started child, waiting for its input (or, with no process, why there is none)."""

    process: asyncio.subprocess.Process | None
    timeout: float
    max_png: int
    not_started: str = ""

    async def draw(self, chart: ChartInput) -> bytes | None:
        """The child's PNG of `chart`, or None (and one log line saying why)."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(chart)
        except TimeoutError:
            reason = f"the chart child gave no chart within {self.timeout:g} s"
        except ChartFailed as failed:
            reason = str(failed)
        except OSError as error:  # a pipe broken by a child that died early
            reason = f"the chart child could not be fed its input ({error})"
        log.warning("weekly chart not drawn: %s; the summary is posted without it", reason)
        return None

    async def _exchange(self, chart: ChartInput) -> bytes:
        process = self.process
        if process is None:
            raise ChartFailed(self.not_started)
        assert process.stdin and process.stdout and process.stderr
        errors = asyncio.ensure_future(_stderr_tail(process.stderr))
        try:
            process.stdin.write(chart.encode())
            with suppress(BrokenPipeError, ConnectionResetError):
                await process.stdin.drain()
                process.stdin.close()
            png = await _read_capped(process.stdout, self.max_png)
            status = await process.wait()
            stderr = await errors
        finally:
            errors.cancel()
            await asyncio.wait({errors})  # no reader left on stderr for the reaping
        if status != 0:
            raise ChartFailed(f"the chart child exited with status {status}: {_last_line(stderr)}")
        if not whole_png(png):
            raise ChartFailed(f"the chart child wrote {len(png)} bytes that are not a whole PNG")
        return png


@dataclass(frozen=True)
class ChartChild:
    """How to run the chart child: its command (no shell), how long it may take to draw once
    fed, and the most PNG bytes read back."""

    argv: tuple[str, ...] = field(default_factory=_child_argv)
    timeout: float = 30.0
    max_png: int = PNG_MAX_BYTES

    def none(self, why: str) -> RunningChart:
        """No child: `why` is said in the log line when a chart is wanted from it."""
        return RunningChart(None, self.timeout, self.max_png, not_started=why)

    @asynccontextmanager
    async def started(self, gone: Callable[[], None] = _nothing) -> AsyncIterator[RunningChart]:
        """The child, started now (so that it imports matplotlib while the caller works);
        killed if still running and reaped when the block ends, however it ends. `gone` is
        called once there is no child any more: reaped, or never started."""
        try:
            process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=_child_env(),
            )
        except OSError as error:  # said when a chart is wanted from it
            not_started = str(error) or type(error).__name__
            process = None
        except BaseException:  # cancelled as it started: asyncio killed and waited for it
            gone()
            raise
        if process is None:
            try:
                yield self.none(f"the chart child could not start ({not_started})")
            finally:
                gone()
            return
        try:
            yield RunningChart(process, self.timeout, self.max_png)
        finally:
            if process.returncode is None:
                with suppress(ProcessLookupError):
                    process.kill()
            # Reaped even if this task is cancelled again while waiting: the wait goes on,
            # and `gone` is called when it ends.
            await asyncio.shield(_reaped(process, gone))


CHART_CHILD: Final = ChartChild()


class ChartSlots:
    """The chart children of this process: at most `at_once` alive at a time. Owned by the
    core (bot.app), which hands it to every unit of work it builds (Context.charts)."""

    def __init__(
        self,
        child: ChartChild = CHART_CHILD,
        at_once: int = CHARTS_AT_ONCE,
        wait: float = CHART_SLOT_WAIT,
    ) -> None:
        self.child = child
        self.at_once = at_once
        self.wait = wait
        self._free = asyncio.Semaphore(at_once)

    @asynccontextmanager
    async def started(self) -> AsyncIterator[RunningChart]:
        """`child.started()` once a slot is free, waited for at most `wait` seconds (else no
        child, said when a chart is wanted). The slot is given back when the child has been
        reaped, however the block ends; a caller cancelled while it waits holds none."""
        try:
            # Not wait_for (bot.db.one_writer): a waiter cancelled just as a slot came
            # free gives it back (asyncio.Semaphore.acquire) and is cancelled.
            async with asyncio.timeout(self.wait):
                await self._free.acquire()
        except TimeoutError:
            got = False
        else:
            got = True
        if not got:
            yield self.child.none(
                f"no chart child slot came free within {self.wait:g} s ({self.at_once} at a time)"
            )
            return
        async with self.child.started(gone=self._free.release) as running:
            yield running
