"""Python calls per vote, a measure the machine's load does not move
(`python -m bench.profiles.vote_calls <url> [votes] [fraction]`, on a database seeded at
`fraction` of the full size, 1 unless given):
new votes through Core.handle under cProfile; prints the calls per vote, the CPU ms per
vote (this process, profiled) and the functions that spend the most of it. The database
is changed (votes cast): seed afresh, or copy the SQLite file, between runs."""

from __future__ import annotations

import asyncio
import cProfile
import io
import logging
import pstats
import sys
import time

from bench.measure import Speaker, open_core
from bench.scenarios import scenarios
from bench.seed.plan import Plan


async def run(url: str, votes: int, shown: int = 25, fraction: float = 1.0) -> str:
    logging.disable(logging.WARNING)
    core = await open_core(url)
    speaker = Speaker(core)
    scenario = {s.key: s for s in scenarios(Plan.at(fraction))}["vote_new"]
    calls = scenario.calls[: votes + scenario.warmup]
    profile = cProfile.Profile()
    try:
        for call in calls[: scenario.warmup]:
            await speaker.say(call.user, call.text)
        cpu = time.process_time()
        profile.enable()
        for call in calls[scenario.warmup :]:
            _, _, _, first, _ = await speaker.say(call.user, call.text)
            if scenario.expect not in first:
                raise SystemExit(f"unexpected reply {first!r}")
        profile.disable()
        cpu_ms = (time.process_time() - cpu) * 1000
    finally:
        await core.close()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out)
    done = len(calls) - scenario.warmup
    total = stats.total_calls  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(shown)
    head = f"{done} votes: {total / done:.0f} Python calls per vote, {cpu_ms / done:.2f} CPU ms"
    return head + " per vote (profiled)\n" + out.getvalue()


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    votes = int(argv[1]) if len(argv) > 1 else 400
    fraction = float(argv[2]) if len(argv) > 2 else 1.0
    print(asyncio.run(run(argv[0], votes, fraction=fraction)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
