"""On SQLite one process runs the bot: a second `coopbot` process on the same file refuses
to start with one line saying why, and starts once the first has stopped."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
import time

from tests.console.conftest import Console, console_env


def _wait_for(lines: queue.Queue[str], text: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while not any(text in line for line in seen):
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"{text!r} never came: {seen}"
        with contextlib.suppress(queue.Empty):
            seen.append(lines.get(timeout=remaining))


def test_a_second_process_on_the_same_sqlite_file_refuses_to_start(console: Console) -> None:
    first = subprocess.Popen(
        console.command("alice"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=console.workdir,
        env=console_env(),
    )
    try:
        assert first.stdin is not None
        first.stdin.write("!member add @bob\n")
        first.stdin.flush()
        assert first.stdout is not None
        stdout = first.stdout
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(t) for t in stdout], daemon=True).start()
        _wait_for(lines, "bob")  # the first process runs (and holds the lock)

        second = console.run("!member list\n", user="bob")

        assert second.returncode == 1
        assert second.stdout == ""
        first_line, *rest = second.stderr.strip().splitlines()
        assert "another coopbot process is running on" in first_line, second.stderr
        assert "only one process" in first_line
        assert "Traceback" not in second.stderr
        assert len(rest) <= 1 and "PostgreSQL" in (rest[0] if rest else first_line)
    finally:
        assert first.stdin is not None
        first.stdin.close()
        try:
            first.wait(timeout=60)
        finally:
            if first.returncode is None:
                first.kill()
                first.wait()
    assert first.returncode == 0

    again = console.run("!member list\n", user="alice")
    assert again.returncode == 0, again.stderr
    assert "bob" in again.stdout
