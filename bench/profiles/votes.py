"""Times the vote path on a seeded database (`python -m bench.seed <url> 1.0` first):
`python -m bench.profiles.votes <url> [runs] [scenario …]` (FRACTION=0.01 for a database
seeded at 1 %). Each scenario runs on the
database as seeded (the closes change it: seed afresh, or copy the SQLite file, between
runs). Prints p50, p99 and statements per scenario, and each p50 as a ratio to a bare
insert+commit measured in the same run, since the machine may be loaded by other work.

The seeder writes open polls' votes as the text a member typed (`F>H>C`), which revision
0004 made unreadable (counted for nothing); this script first stores them as option
positions, as a vote does now, so the ranked close counts 9,800 real ballots."""

from __future__ import annotations

import asyncio
import logging
import os
import statistics
import sys
from typing import Any

from bench.measure import Speaker, _baseline, open_core
from bench.scenarios import scenarios
from bench.seed.plan import Plan

KEYS = ("show", "vote_new", "vote_changed", "task_claim", "close_proposal", "close_ranked")


async def positions(core: Any) -> int:
    """Store the seeded open polls' letter votes as option positions; returns how many."""
    from sqlalchemy import select, update

    from bot.db.models import Decision, Vote
    from bot.domain import polls

    async with core.sessions() as session, session.begin():
        rows = (
            await session.execute(
                select(Vote.id, Vote.choice, Decision.method)
                .join(Decision, Decision.id == Vote.decision_id)
                .where(Decision.kind == "poll", Decision.status == "open", Vote.ballot.is_(None))
            )
        ).all()
        changed = []
        for vote_id, text, method in rows:
            if method == "score":
                pairs = [part.split("=") for part in text.split(",")]
                ballot: list[Any] = [[polls.LETTERS.index(k), int(v)] for k, v in pairs]
            else:
                ballot = [polls.LETTERS.index(k) for k in text.replace(">", ",").split(",")]
            changed.append({"id": vote_id, "choice": None, "ballot": ballot})
        if changed:
            await session.execute(update(Vote), changed)
        return len(changed)


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(
    url: str, runs: int, keys: tuple[str, ...] = (*KEYS, "summary"), fraction: float = 1.0
) -> str:
    logging.disable(logging.WARNING)
    core = await open_core(url)
    speaker = Speaker(core)
    lines: list[str] = []
    try:
        lines.append(f"stored as positions: {await positions(core)} seeded poll votes")
        base = (await _baseline(core, speaker, 200))["samples_ms"]
        bare = statistics.median(base)
        lines.append(f"bare insert+commit: p50 {bare:.2f} ms, p99 {_pct(base, 0.99):.2f} ms")
        found: dict[str, Any] = {s.key: s for s in scenarios(Plan.at(fraction))}
        for key in keys:
            scenario = found[key]
            most = 5 if key.startswith("close") else (20 if key == "summary" else runs)
            samples: list[float] = []
            statements: list[int] = []
            first = ""
            for k, call in enumerate(scenario.calls[: most + scenario.warmup]):
                spent, _, sent, first, _ = await speaker.say(call.user, call.text)
                if scenario.expect not in first:
                    raise SystemExit(f"{key}: unexpected reply {first!r}")
                if k >= scenario.warmup:
                    samples.append(spent)
                    statements.append(sent)
            p50 = statistics.median(samples)
            lines.append(
                f"{key:15} p50 {p50:8.2f} ms  p99 {_pct(samples, 0.99):8.2f} ms  "
                f"{p50 / bare:6.1f}× bare  statements {min(statements)}–{max(statements)}  "
                f"({len(samples)} runs)"
            )
    finally:
        await core.close()
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    keys = tuple(argv[2:]) or (*KEYS, "summary")
    fraction = float(os.environ.get("FRACTION", "1"))
    print(asyncio.run(run(argv[0], int(argv[1]) if len(argv) > 1 else 200, keys, fraction)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
