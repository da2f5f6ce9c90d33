"""The Alembic migrations build exactly the schema the models describe, and keep data."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from bot.app import create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.engine import make_engine
from bot.db.migrate import upgrade
from bot.db.models import Base, Member
from bot.invocation import RoomRef
from bot.services.registry_sync import RoleHolder
from tests.support import say


async def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)

        def diff(connection: object) -> list[object]:
            context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
            return list(compare_metadata(context, Base.metadata))

        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_upgrading_again_keeps_existing_rows(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO coops (name, created_at, settings, next_decision_number, "
                    "next_task_number) VALUES ('Kept', '2026-11-16 09:00:00', '{}', 1, 1)"
                )
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            names = (await connection.execute(text("SELECT name FROM coops"))).scalars().all()
        assert names == ["Kept"]
    finally:
        await engine.dispose()


_T = datetime(2026, 11, 16, 9, 0)
_coops = sa.table(
    "coops",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("created_at", sa.DateTime),
    sa.column("settings", sa.JSON),
    sa.column("next_decision_number", sa.Integer),
    sa.column("next_task_number", sa.Integer),
)
_bindings = sa.table(
    "room_bindings",
    sa.column("id", sa.Integer),
    sa.column("coop_id", sa.Integer),
    sa.column("platform", sa.String),
    sa.column("room_id", sa.String),
    sa.column("created_at", sa.DateTime),
)
_members = sa.table(
    "members",
    sa.column("id", sa.Integer),
    sa.column("coop_id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("role", sa.String),
    sa.column("active", sa.Boolean),
    sa.column("joined_at", sa.DateTime),
)
_identities = sa.table(
    "identities",
    sa.column("coop_id", sa.Integer),
    sa.column("member_id", sa.Integer),
    sa.column("identity", sa.String),
)
_audit = sa.table(
    "audit_events",
    sa.column("coop_id", sa.Integer),
    sa.column("at", sa.DateTime),
    sa.column("action", sa.String),
    sa.column("subject", sa.String),
    sa.column("detail", sa.JSON),
)

# (co-op, [(binding id, platform)], [(member id, identity, role, admitted by role sync)])
_BEFORE = [
    (1, [(1, "discord")], [(1, "1", "steward", False), (2, "2", "member", True),
                           (3, "3", "member", False), (4, "4", "member", True)]),
    (2, [(2, "matrix"), (3, "discord")], [(5, "5", "member", True)]),
    (3, [(4, "discord"), (5, "discord")], [(6, "6", "member", True)]),
]  # fmt: skip


async def test_upgrading_keeps_each_coops_role_sync_where_it_was_safe(
    database_url: str, clock: ManualClock
) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0001")
        async with engine.begin() as connection:
            for coop_id, rooms, people in _BEFORE:
                await connection.execute(
                    _coops.insert().values(
                        id=coop_id, name=f"Co-op {coop_id}", created_at=_T, settings={},
                        next_decision_number=1, next_task_number=1,
                    )
                )  # fmt: skip
                for binding_id, platform in rooms:
                    await connection.execute(
                        _bindings.insert().values(
                            id=binding_id, coop_id=coop_id, platform=platform,
                            room_id=f"{binding_id}0", created_at=_T,
                        )
                    )  # fmt: skip
                for member_id, user, role, synced in people:
                    identity = f"discord:{user}"
                    await connection.execute(
                        _members.insert().values(
                            id=member_id, coop_id=coop_id, name=f"user{user}", role=role,
                            active=True, joined_at=_T,
                        )
                    )  # fmt: skip
                    await connection.execute(
                        _identities.insert().values(
                            coop_id=coop_id, member_id=member_id, identity=identity
                        )
                    )
                    detail = {"identity": identity, "role": role}
                    if synced:
                        detail["source"] = "role sync"
                    await connection.execute(
                        _audit.insert().values(
                            coop_id=coop_id, at=_T, action="member.add", subject="", detail=detail
                        )
                    )
            # User 4 also linked a Matrix identity: the Discord sync alone never removes them.
            await connection.execute(
                _identities.insert().values(coop_id=1, member_id=4, identity="matrix:@d:x")
            )
        await upgrade(engine)

        async with engine.connect() as connection:
            modes = dict(
                (await connection.execute(text("SELECT id, role_sync FROM room_bindings"))).all()
            )
            sources = dict(
                (
                    await connection.execute(
                        text("SELECT identity, source_binding_id FROM identities")
                    )
                ).all()
            )
    finally:
        await engine.dispose()
    # The founders' server syncs as before; a co-op's only Discord server bound later admits
    # members but makes no stewards; where several servers are bound, only the founding one.
    assert modes == {1: "stewards", 2: "off", 3: "members", 4: "stewards", 5: "off"}
    # What role sync admitted belongs to the co-op's one Discord binding; with two, nobody
    # can tell which server admitted whom, so the identity counts as admitted by a person.
    assert sources == {
        "discord:1": None,
        "discord:2": 1,
        "discord:3": None,
        "discord:4": 1,
        "matrix:@d:x": None,
        "discord:5": 3,
        "discord:6": None,
    }

    # The next sync of the first server: user2 lost the role and leaves; nobody else does.
    core = await create_core(Settings(database_url=database_url), clock)
    try:
        holder = RoleHolder("discord:4", "user4", "member")

        async def pages() -> AsyncIterator[Sequence[RoleHolder]]:
            yield [holder]

        result = await core.sync_role_members(RoomRef("discord", "10"), pages())
        assert (result.added, result.changed, result.removed) == (0, 0, 1)
        async with core.sessions() as session:
            active = (await session.scalars(select(Member.name).where(Member.active))).all()
        assert sorted(active) == ["user1", "user3", "user4", "user5", "user6"]
    finally:
        await core.close()


_decisions = sa.table(
    "decisions",
    *(sa.column(c, sa.Integer) for c in ("id", "coop_id", "number", "author_id")),
    *(sa.column(c, sa.String) for c in ("kind", "title", "body", "method", "quorum", "status")),
    sa.column("secret", sa.Boolean),
    sa.column("eligible_count", sa.Integer),
    *(sa.column(c, sa.DateTime) for c in ("created_at", "opens_at", "closes_at", "opened_at")),
)
_options = sa.table(
    "decision_options",
    *(sa.column(c, sa.Integer) for c in ("decision_id", "position")),
    sa.column("label", sa.String),
)
_votes = sa.table(
    "votes",
    *(sa.column(c, sa.Integer) for c in ("id", "decision_id", "member_id", "changes")),
    *(sa.column(c, sa.String) for c in ("choice", "reason")),
    sa.column("cast_at", sa.DateTime),
)
_outbox = sa.table(
    "outbox",
    *(sa.column(c, sa.Integer) for c in ("id", "coop_id")),
    sa.column("created_at", sa.DateTime),
    sa.column("document", sa.JSON),
)
_deliveries = sa.table(
    "outbox_deliveries",
    *(sa.column(c, sa.Integer) for c in ("id", "outbox_id", "attempts")),
    *(sa.column(c, sa.String) for c in ("platform", "room_id", "reply_to", "recipient")),
)

# decision: (number, kind, method, status, secret, options, {member id: stored text})
_OLD_VOTES = [
    (1, "poll", "approval", "open", False, ["Lake", "a,c", "City"], {1: "A,C", 2: "B"}),
    (2, "poll", "ranked", "open", False, ["B", "A", "C>A"], {1: "C>A", 2: "B>A>C"}),
    (3, "poll", "score", "open", False, ["Hall", "Barn"], {1: "A=5,B=0", 2: "hall=2"}),
    (4, "poll", "single", "open", False, ["Red", "Green"], {1: "Purple"}),
    (5, "proposal", "majority", "open", False, [], {1: "yes", 2: "no"}),
    (6, "poll", "ranked", "closed", True, ["Up", "Down", "Out"], {1: "C>A", 2: "A", 3: "B>C"}),
    (7, "proposal", "majority", "open", True, [], {1: "yes", 3: "no"}),
]


async def test_upgrading_stores_ballots_as_positions_and_seals_closed_secret_ones(
    database_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0003")
        async with engine.begin() as connection:
            await connection.execute(
                _coops.insert().values(id=1, name="Old", created_at=_T, settings={},
                                       next_decision_number=8, next_task_number=1)
            )  # fmt: skip
            await connection.execute(
                _bindings.insert().values(
                    id=1, coop_id=1, platform="console", room_id="local", created_at=_T
                )
            )
            for member_id, name in ((1, "alice"), (2, "bob"), (3, "carol")):
                await connection.execute(
                    _members.insert().values(id=member_id, coop_id=1, name=name,
                                             role="steward", active=True, joined_at=_T)
                )  # fmt: skip
                await connection.execute(
                    _identities.insert().values(
                        coop_id=1, member_id=member_id, identity=f"console:{name}"
                    )
                )
            vote_id = 0
            for number, kind, method, status, secret, options, votes in _OLD_VOTES:
                await connection.execute(
                    _decisions.insert().values(
                        id=number, coop_id=1, number=number, author_id=1, kind=kind,
                        title=f"Old {number}", body="", method=method, quorum="0",
                        status=status, secret=secret, eligible_count=3, created_at=_T,
                        opens_at=_T, closes_at=_T + timedelta(days=30), opened_at=_T,
                    )
                )  # fmt: skip
                for position, label in enumerate(options):
                    await connection.execute(
                        _options.insert().values(decision_id=number, position=position, label=label)
                    )
                for member_id, text_choice in votes.items():
                    vote_id += 1
                    await connection.execute(
                        _votes.insert().values(id=vote_id, decision_id=number, member_id=member_id,
                                               choice=text_choice, reason="", cast_at=_T, changes=0)
                    )  # fmt: skip
            # An answer to a secret vote, sent in a direct message before this revision.
            answer = {
                "kind": "info",
                "subject": "decision:1:7",
                "ephemeral": True,
                "blocks": [
                    {"kind": "line", "indent": 0, "parts": [
                        {"kind": "text", "text": "Your vote on #7 is recorded: "},
                        {"kind": "bold", "text": "yes"},
                    ]},
                    {"kind": "line", "indent": 1, "parts": [
                        {"kind": "text", "text": "turnout 1/3 — no quorum needed"},
                    ]},
                ],
            }  # fmt: skip
            await connection.execute(
                _outbox.insert().values(id=1, coop_id=1, created_at=_T, document=answer)
            )
            await connection.execute(
                _deliveries.insert().values(id=1, outbox_id=1, attempts=1, platform="console",
                                            room_id="dm", reply_to="m1", recipient="alice")
            )  # fmt: skip
        with caplog.at_level(logging.WARNING):
            await upgrade(engine)
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT decision_id, member_id, choice, ballot FROM votes")
            )
            stored = {
                (d, m): (c, json.loads(b) if isinstance(b, str) else b) for d, m, c, b in rows.all()
            }
            sealed = (
                await connection.execute(
                    text("SELECT choice, ballot FROM sealed_ballots ORDER BY position")
                )
            ).all()
            took_part = (
                await connection.execute(text("SELECT decision_id, member_id FROM participations"))
            ).all()
            document = (await connection.execute(text("SELECT document FROM outbox"))).scalar()
    finally:
        await engine.dispose()

    assert stored == {
        # The letters the bot wrote are what was cast, not the option called `a,c`.
        (1, 1): (None, [0, 2]),
        (1, 2): (None, [1]),
        # `C>A` ranks C over A; it was not a vote for the option called `C>A`.
        (2, 1): (None, [2, 0]),
        (2, 2): (None, [1, 0, 2]),
        (3, 1): (None, [[0, 5], [1, 0]]),
        (3, 2): (None, [[0, 2]]),  # not in the bot's form: read as the old code read it
        (4, 1): ("Purple", None),  # unreadable: kept as it was, never dropped
        (5, 1): ("yes", None),
        (5, 2): ("no", None),
        (7, 1): ("yes", None),  # still open: the link is needed to change a vote
        (7, 3): ("no", None),
    }
    # #6 was a closed secret poll: its ballots are sealed, in the order of their content.
    assert [(c, json.loads(b) if isinstance(b, str) else b) for c, b in sealed] == [
        (None, [0]),
        (None, [1, 2]),
        (None, [2, 0]),
    ]
    assert sorted(took_part) == [(6, 1), (6, 2), (6, 3)]
    if isinstance(document, str):
        document = json.loads(document)
    assert document["blocks"][0]["parts"] == [
        {"kind": "text", "text": "Your vote on #7 is recorded (secret ballot)"}
    ]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert (
        "vote 1 on #1 of co-op 1: read by its letters; the old reader had read another ballot"
        in warned
    )
    assert (
        "vote 3 on #2 of co-op 1: read by its letters; the old reader had read another ballot"
        in warned
    )
    assert (
        "vote 7 on #4 of co-op 1 could not be read; kept as it was, shown as unreadable" in warned
    )
    assert not any("Purple" in w or "C>A" in w for w in warned)

    core = await create_core(Settings(database_url=database_url), clock)
    try:
        shown = await say(core, "alice", "!show 4")
        assert "1 stored vote from an earlier version could not be read" in shown
        assert "Lake 1 · a,c 1 · City 1" in await say(core, "alice", "!show 1")
        assert "first preferences: B 0 · A 1 · C>A 1" in await say(core, "alice", "!show 2")
        closed = await say(core, "alice", "!show 6")
        assert "round 1: Up 1 · Down 1 · Out 1" in closed
        assert "turnout 3/3" in closed
        assert "mean score: Hall 3.50 · Barn 0.00" in await say(core, "alice", "!show 3")
    finally:
        await core.close()
