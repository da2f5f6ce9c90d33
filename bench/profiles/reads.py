"""Quick profile of the read paths at scale: seeds a co-op with bulk inserts, times commands.

Usage: python -m bench.profiles.reads [--members 10000] [--entries 1000000] [--db URL]
A stopgap until `bench/seed` exists: the rows are consistent enough for the read paths
(members, identities, contributions, one open decision with its eligible members and votes)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import random
import resource
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import insert, select, text

from bench.seed.derive import CONTRIBUTION_MONTHS, spelled
from bot.app import create_core
from bot.clock import ManualClock
from bot.config import load_settings
from bot.db.models import Contribution, Coop, Decision, Identity, Member, Membership, Vote
from bot.invocation import Actor, RoomRef, build_invocation
from bot.services import exports

ROOM = RoomRef("console", "local")
NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for row in f:
            if row.startswith("VmRSS:"):
                return int(row.split()[1]) / 1024
    return 0.0


async def seed(core, members: int, entries: int, non_voters: int) -> None:  # type: ignore[no-untyped-def]
    await core.bootstrap_room(ROOM, Actor("console", "alice", "alice", True), "Bench co-op")
    async with core.sessions() as session, session.begin():
        coop = await session.scalar(select(Coop))
        assert coop is not None
        first = (await session.scalar(select(Member.id).order_by(Member.id.desc()))) or 0
        rows = [
            {"coop_id": coop.id, "name": f"m{i:05d}", "role": "member", "active": True,
             "joined_at": NOW - timedelta(days=400)}
            for i in range(members)
        ]  # fmt: skip
        for i in range(0, len(rows), 5000):
            await session.execute(insert(Member), rows[i : i + 5000])
        ids = list(
            await session.scalars(select(Member.id).where(Member.id > first).order_by(Member.id))
        )
        idents = [
            {"coop_id": coop.id, "member_id": m, "identity": f"console:m{n:05d}"}
            for n, m in enumerate(ids)
        ]
        for i in range(0, len(idents), 5000):
            await session.execute(insert(Identity), idents[i : i + 5000])
        rnd = random.Random(1)
        kinds = ("hours", "hours", "hours", "points", "kudos")
        span = 365 * 24 * 3600
        batch = []
        for n in range(entries):
            kind = kinds[n % 5]
            amount = (
                Decimal(rnd.randint(1, 16)) / 2 if kind == "hours" else Decimal(rnd.randint(1, 3))
            )
            batch.append({
                "coop_id": coop.id, "member_id": rnd.choice(ids), "kind": kind, "amount": amount,
                "note": "work", "created_at": NOW - timedelta(seconds=rnd.randrange(span)),
                "giver_id": ids[0] if kind == "kudos" else None,
            })  # fmt: skip
            if len(batch) == 20000:
                await session.execute(insert(Contribution), batch)
                batch = []
        if batch:
            await session.execute(insert(Contribution), batch)
        # One open decision: everyone eligible, all but `non_voters` have voted.
        d = Decision(
            coop_id=coop.id, number=coop.next_decision_number, kind="proposal", title="Big vote",
            body="", method="majority", threshold=None, quorum="1/2", status="open",
            author_id=ids[0], created_at=NOW, opens_at=NOW, closes_at=NOW + timedelta(days=3),
            opened_at=NOW, eligible_count=len(ids), opened_seq=coop.membership_seq + 2,
        )  # fmt: skip
        coop.next_decision_number += 1
        session.add(d)
        await session.flush()
        joined = coop.membership_seq + 1
        coop.membership_seq += 2
        el = [{"coop_id": coop.id, "member_id": m, "joined_seq": joined} for m in ids]
        for i in range(0, len(el), 5000):
            await session.execute(insert(Membership), el[i : i + 5000])
        votes = [
            {"decision_id": d.id, "member_id": m, "choice": "yes", "reason": "", "cast_at": NOW,
             "changes": 0}
            for m in ids[non_voters:]
        ]  # fmt: skip
        for i in range(0, len(votes), 5000):
            await session.execute(insert(Vote), votes[i : i + 5000])
    async with core.sessions() as session, session.begin():
        # The rollup the bot keeps with every entry, built as the seeder builds it.
        rollup = spelled(CONTRIBUTION_MONTHS, core.engine.dialect.name)
        await session.execute(text(rollup))
    async with core.sessions() as session, session.begin():
        await session.execute(text("ANALYZE"))


async def timed(label: str, action, repeats: int = 3) -> None:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(repeats):
        gc.collect()
        start = time.perf_counter()
        await action()
        samples.append(time.perf_counter() - start)
    samples.sort()
    print(
        f"{label:40} best {samples[0] * 1e3:9.1f} ms  worst {samples[-1] * 1e3:9.1f} ms", flush=True
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--non-voters", type=int, default=5_012)
    parser.add_argument("--db", default="")
    parser.add_argument("--only", default="")
    parser.add_argument("--keep", default="", help="SQLite file to reuse (seeded if missing)")
    args = parser.parse_args()
    folder = tempfile.mkdtemp()
    keep = Path(args.keep) if args.keep else None
    reuse = keep is not None and keep.exists()
    url = args.db or f"sqlite+aiosqlite:///{keep or Path(folder) / 'reads.db'}"
    settings = load_settings(None, database_url=url)
    if not url.startswith("sqlite"):
        from bot.db.engine import make_engine
        from bot.db.migrate import upgrade

        engine = make_engine(url)
        await upgrade(engine)
        await engine.dispose()
    clock = ManualClock(NOW)
    core = await create_core(settings, clock)
    start = time.perf_counter()
    if not reuse:
        await seed(core, args.members, args.entries, args.non_voters)
    print(f"seeded {args.members} members, {args.entries} entries in "
          f"{time.perf_counter() - start:.1f}s", flush=True)  # fmt: skip
    n = 0

    async def say(line: str, user: str = "alice") -> None:
        nonlocal n
        n += 1
        replies = await core.handle(
            build_invocation(ROOM, user, line, f"p{n}-{time.time_ns()}", is_room_admin=True)
        )
        if n % 3 == 1:
            lines = [x for r in replies for x in r.plain_lines()]
            print(
                f"  {line}: {len(lines)} lines, first: {lines[:1]}, last: {str(lines[-1:])[:160]}"
            )

    wanted = set(args.only.split(",")) if args.only else None

    def want(name: str) -> bool:
        return wanted is None or name in wanted

    for period in ("week", "month", "all"):
        if want(f"tally-{period}"):
            await timed(f"tally period:{period}", lambda p=period: say(f"tally period:{p}"))
    if want("member-list"):
        await timed("member list", lambda: say("member list"))
    if want("show"):
        await timed(f"show (with {args.non_voters} non-voters)", lambda: say("show 1"))
    if want("summary"):
        await timed("summary", lambda: say("summary"), repeats=2)
    if want("export"):

        async def export() -> None:
            before = _rss_mb()
            peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            out = Path(folder) / "export.csv"
            async with core.sessions() as session:
                if hasattr(exports, "write_csv"):
                    with out.open("w", newline="") as file:
                        await exports.write_csv(session, 1, "contributions", file)
                else:  # before streaming: the whole text at once
                    out.write_text(await exports.export_csv(session, 1, "contributions"))
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(
                f"  export rss before {before:.0f} MB, peak grew {peak - peak_before:.0f} MB",
                flush=True,
            )

        await timed("export contributions (export_csv)", export, repeats=1)
    await core.close()
    if not args.db and keep is None:
        os.remove(Path(folder) / "reads.db")


if __name__ == "__main__":
    asyncio.run(main())
