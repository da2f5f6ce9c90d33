"""At close, a secret decision keeps who took part and the anonymous choices, and nothing
stored (any table, any column, the SQLite file itself) links a member to a choice."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.engine import is_sqlite
from bot.invocation import CAP_ATTACHMENTS, CAP_EPHEMERAL
from bot.render.plain import render_plain
from tests.support import invocation, say, setup_coop

PRIVATE = frozenset({CAP_ATTACHMENTS, CAP_EPHEMERAL})
MEMBERS = ("bob", "carol", "dan", "erin")
MARKER = "MARKER-carols-hidden-reason"

# voter → (typed, in words, as stored) on the secret ranked poll #1
RANKED = {
    "bob": ("D>A", "Farm > Lakehouse", [3, 0]),
    "carol": ("B>C>A", "Cabin > City > Lakehouse", [1, 2, 0]),
    "erin": ("C>B", "City > Cabin", [2, 1]),
}
# What may be stored about a closed decision's result: counts, never a ballot.
RESULT_KEYS = {"eligible", "turnout", "needed", "yes", "no", "abstain", "block", "totals",
               "winners"}  # fmt: skip


async def dump(engine: AsyncEngine) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, every column."""
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda c: inspect(c).get_table_names())
        found: dict[str, list[dict[str, Any]]] = {}
        for table in tables:
            rows = await connection.execute(text(f'SELECT * FROM "{table}"'))
            found[table] = [dict(row._mapping) for row in rows.all()]
    return found


def as_text(value: object) -> str:
    return json.dumps(value, default=str, ensure_ascii=False, sort_keys=True)


def loaded(value: object) -> Any:
    """A JSON column's value (SQLite hands it over as text), anything else as it is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def _vote_on_everything(core: Core) -> None:
    await setup_coop(core, members=MEMBERS)
    await say(
        core,
        "alice",
        '!poll Retreat? options:"Lakehouse | Cabin | City | Farm" method:ranked secret:yes '
        "closes:1h",
    )
    await say(core, "alice", "!propose Raise dues secret:yes closes:1h")
    await say(core, "alice", "!propose Paint the door closes:1h")
    # erin first votes otherwise, then changes her vote: only the last one counts.
    await say(core, "erin", "!vote 1 A")
    for voter, (typed, words, _) in RANKED.items():
        # Voted where only the voter sees the answer: the answer names the choice.
        (reply,) = await core.handle(invocation(voter, f"!vote 1 {typed}", capabilities=PRIVATE))
        assert f"recorded: {words} ({typed})" in render_plain(reply) or (
            f"changed: {words} ({typed})" in render_plain(reply)
        )
    await core.handle(invocation("bob", "!vote 2 yes", capabilities=PRIVATE))
    # carol's answer is stored but never sent: the process dies before it can send it.
    answers = await core.answer(
        invocation("carol", f'!vote 2 no reason:"{MARKER}"', capabilities=PRIVATE)
    )
    assert "recorded: no" in render_plain(answers[0].reply)
    await say(core, "dan", "!vote 3 yes reason:visible")


async def test_after_close_no_stored_row_links_a_member_to_a_secret_choice(
    core: Core, settings: Settings, clock: ManualClock
) -> None:
    await _vote_on_everything(core)
    await core.close()

    # Another process on the same database closes the votes when they are due.
    clock.advance(timedelta(hours=2))
    other = await create_core(settings, clock)
    try:
        assert await other.run_due_work() >= 3
        # carol's answer, sent after the restart, says her vote counted, not what it was.
        pending = [render_plain(d.reply) for d in await other.pending_deliveries("console")]
        answer = [p for p in pending if p.startswith("Your vote on #2")]
        assert answer == [
            "Your vote on #2 is recorded (secret ballot)\n"
            "  turnout 2/5 — 1 more vote reaches quorum"
        ]
        shown = await say(other, "bob", "!show 1")
        assert "turnout 3/5" in shown
        assert "round 1: Cabin 1 · City 1 · Farm 1 · Lakehouse 0" in shown
        assert "NO QUORUM (yes 1, no 1, abstain 0; turnout 2/5" in await say(
            other, "bob", "!show 2"
        )
        database = await dump(other.engine)
    finally:
        await other.close()

    names = {row["id"]: row["name"] for row in database["members"]}
    numbers = {row["id"]: row["number"] for row in database["decisions"]}
    secret_ids = {row["id"] for row in database["decisions"] if row["secret"]}
    assert {numbers[i] for i in secret_ids} == {1, 2}

    # The vote rows of the secret decisions are gone; the open vote's row stays.
    assert [numbers[v["decision_id"]] for v in database["votes"]] == [3]
    # Who took part remains, and nothing else about them.
    assert {tuple(sorted(r)) for r in database["participations"]} == {
        ("decision_id", "member_id", "voted_at")
    }
    took_part = {
        (numbers[r["decision_id"]], names[r["member_id"]]) for r in database["participations"]
    }
    assert took_part == {(1, "bob"), (1, "carol"), (1, "erin"), (2, "bob"), (2, "carol")}
    # The anonymous ballots remain: no member, no time, no id, in the order of their content.
    assert {tuple(sorted(r)) for r in database["sealed_ballots"]} == {
        ("ballot", "choice", "decision_id", "position")
    }
    sealed = sorted(database["sealed_ballots"], key=lambda r: (r["decision_id"], r["position"]))
    ranked = [loaded(r["ballot"]) for r in sealed if numbers[r["decision_id"]] == 1]
    assert ranked == [[1, 2, 0], [2, 1], [3, 0]]  # content order: not who, not when
    assert sorted(r["choice"] for r in sealed if numbers[r["decision_id"]] == 2) == ["no", "yes"]

    # Nowhere else is any secret ballot, in any form, nor the reason given with one.
    forbidden = [MARKER]
    for typed, words, positions in RANKED.values():
        forbidden += [typed, words, as_text(positions)]
    for table, rows in database.items():
        for row in rows:
            if table == "sealed_ballots":
                continue
            if table == "decisions":
                assert set(loaded(row["result"]) or {}) <= RESULT_KEYS
            written = as_text({k: loaded(v) for k, v in row.items()})
            for secret in forbidden:
                assert secret not in written, (table, row)
    # No stored answer or audit entry about a secret decision holds a choice.
    for row in database["audit_events"]:
        if row["subject"] in ("decision:1", "decision:2"):
            assert not set(loaded(row["detail"]) or {}) & {"choice", "ballot", "reason"}, row
    for row in database["outbox"]:
        document = loaded(row["document"])
        if document.get("subject") in ("decision:1:1", "decision:1:2"):
            assert "recorded: " not in as_text(document) and "changed: " not in as_text(document)
    # The open decision keeps its votes, linked, as before.
    assert [(v["choice"], v["reason"]) for v in database["votes"]] == [("yes", "visible")]


def _checkpointed_bytes(url: str) -> bytes:
    path = Path(url.split("///", 1)[1])
    connection = sqlite3.connect(path)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    return path.read_bytes()


async def test_deleted_secret_votes_do_not_linger_in_the_sqlite_file(
    core: Core, settings: Settings
) -> None:
    if not is_sqlite(settings.database_url):
        return  # PostgreSQL keeps dead rows until VACUUM reclaims them: see docs/SECURITY.md
    await setup_coop(core, members=MEMBERS)
    await say(core, "alice", "!propose Raise dues secret:yes")
    await say(core, "carol", f'!vote 1 no reason:"{MARKER}"')
    assert MARKER.encode() in _checkpointed_bytes(settings.database_url)
    await say(core, "alice", "!close 1")
    assert MARKER.encode() not in _checkpointed_bytes(settings.database_url)


async def test_a_withdrawn_secret_decision_is_sealed_too(core: Core) -> None:
    await setup_coop(core, members=MEMBERS)
    await say(core, "alice", '!poll Colour? options:"Red | Blue" secret:yes')
    await say(core, "bob", "!vote 1 B")
    await say(core, "carol", "!vote 1 A")
    assert "withdrawn by @alice" in await say(core, "alice", "!withdraw 1")
    database = await dump(core.engine)
    assert database["votes"] == []
    assert sorted(r["member_id"] for r in database["participations"]) == [2, 3]
    sealed = sorted(database["sealed_ballots"], key=lambda r: r["position"])
    assert [loaded(r["ballot"]) for r in sealed] == [[0], [1]]
    assert "withdrawn" in await say(core, "bob", "!show 1")
