"""A console bot killed with a vote due closes it exactly once when it comes back."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time

from tests.console.conftest import Console, console_env


def _wait_for(lines: queue.Queue[str], needle: str, count: int, timeout: float) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while sum(needle in line for line in seen) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"timed out waiting for {needle!r}; saw {seen}"
        seen.append(lines.get(timeout=remaining))
    return seen


def test_sigkilled_bot_announces_the_close_once_after_restart(console: Console) -> None:
    process = subprocess.Popen(
        console.command("alice"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=console.workdir,
        env=console_env(),
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None and process.stdin is not None
    stdout = process.stdout

    def pump() -> None:
        for text in stdout:
            lines.put(text)

    threading.Thread(target=pump, daemon=True).start()
    try:
        process.stdin.write(
            "!member add @bob\n!propose Fix the roof closes:1h\n@bob: !vote 1 yes\n!vote 1 yes\n"
        )
        process.stdin.flush()
        _wait_for(lines, "Your vote on #1 is recorded", 2, timeout=60)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL

    # Two hours later (the deadline passed while the bot was down).
    second = console.run("", COOPBOT_CLOCK_OFFSET_SECONDS="7200")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("#1 Fix the roof — PASSED") == 1, second.stdout

    third = console.run("!show 1\n", COOPBOT_CLOCK_OFFSET_SECONDS="10800")
    assert third.returncode == 0
    assert "— PASSED" in third.stdout  # `show` gives the result on request…
    assert third.stdout.count("PASSED") == 1  # …and no announcement repeats


def test_a_vote_committed_just_before_a_sigkill_is_answered_once_after_restart(
    console: Console,
) -> None:
    setup = console.run("!member add @bob\n!propose Fix the roof\n")
    assert setup.returncode == 0 and "Proposal #1 opened" in setup.stdout, setup.stderr

    # The process SIGKILLs itself right after bob's vote commits, before it answers.
    crashed = console.run("@bob: !vote 1 yes\n", COOPBOT_CRASH_AFTER_COMMIT="vote")
    assert crashed.returncode == -signal.SIGKILL, crashed
    assert "recorded" not in crashed.stdout

    # Restarted a minute later: the answer that was never sent is sent now, to bob.
    second = console.run("", COOPBOT_CLOCK_OFFSET_SECONDS="60")
    assert second.returncode == 0, second.stderr
    assert second.stdout.count("(to @bob) Your vote on #1 is recorded") == 1, second.stdout

    third = console.run("!show 1\n", COOPBOT_CLOCK_OFFSET_SECONDS="120")
    assert third.returncode == 0, third.stderr
    assert "recorded" not in third.stdout  # sent once, never again
    assert "yes 1" in third.stdout  # and the vote counted once
