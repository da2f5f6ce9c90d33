"""The bot's side of the chart child: started early, fed the chart input, its PNG read back.

Any way out (a chart drawn, a failure, the summary cancelled, the bot stopping) kills the
child if it still runs and reaps it. A child that cannot start, fails, times out, writes
too much or writes something other than a whole PNG gives one log line and no chart; its
stderr goes only into that line, never to a room."""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import sys
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from bot.render.chart_input import ChartInput

log = logging.getLogger(__name__)

CHILD_MODULE: Final = "bot.render.chart_child"
PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"
# A 40-bar chart is ~60 KB; the cap only stops a child gone wrong from filling memory.
PNG_MAX_BYTES: Final = 4 * 1024 * 1024
STDERR_KEPT: Final = 4096
READ_SIZE: Final = 64 * 1024
# Where the `bot` package this process runs from lives: the child imports the same code.
CODE_ROOT: Final = str(Path(__file__).resolve().parents[2])


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


async def _reaped(process: asyncio.subprocess.Process) -> None:
    """Wait for the child (killed, or ended). Its pipes are read to their end first: asyncio
    (3.11) reports the exit only once every pipe has closed, and a pipe whose reading was
    paused (a child that wrote more than was read) would never close: the wait hung."""
    await asyncio.gather(_drained(process.stdout), _drained(process.stderr))
    await process.wait()


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return repr(lines[-1][:300]) if lines else "nothing on stderr"


@dataclass
class RunningChart:
    """A started child, waiting for its input (or, with no process, why it could not start)."""

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
            raise ChartFailed(f"the chart child could not start ({self.not_started})")
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

    @asynccontextmanager
    async def started(self) -> AsyncIterator[RunningChart]:
        """The child, started now (so that it imports matplotlib while the caller works);
        killed if still running and reaped when the block ends, however it ends."""
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
        else:
            not_started = ""
        if not_started:
            yield RunningChart(None, self.timeout, self.max_png, not_started=not_started)
            return
        try:
            yield RunningChart(process, self.timeout, self.max_png)
        finally:
            if process.returncode is None:
                with suppress(ProcessLookupError):
                    process.kill()
            # Reaped even if this task is cancelled again while waiting: the wait goes on.
            await asyncio.shield(_reaped(process))


CHART_CHILD: Final = ChartChild()
