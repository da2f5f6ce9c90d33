"""The Alembic migrations build exactly the schema the models describe, and keep data."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime

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
