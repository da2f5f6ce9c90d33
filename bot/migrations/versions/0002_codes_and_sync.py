"""one-time codes as hashes with attempt limits; role sync per binding with undoable changes

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 15:55:33.891197

Codes: the old 32-bit codes are dropped (they lived 24 hours at most; whoever holds one asks
for a new one). Role sync, which used to act for every Discord binding of a co-op, now acts
per binding, only where it was switched on. So that nobody loses membership, existing
bindings keep what they did as far as that was safe:

- a co-op's founding room (its first binding), on Discord: sync "stewards", as before;
- a co-op's only Discord binding, bound later: sync "members" (no steward rights flow in
  from a bound server unless a steward grants it);
- the identities that role sync admitted (as the audit log shows) belong to that Discord
  binding when the co-op has just one; with several, nobody can tell which server admitted
  whom, so those identities count as admitted by a person and no sync removes them;
- every other binding: sync "off" until a steward turns it on with `coop sync`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "code_attempts",
        sa.Column("scope", sa.String(length=320), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("blocked_until", bot.db.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("scope", name=op.f("pk_code_attempts")),
    )
    op.create_table(
        "sync_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coop_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("binding_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=300), nullable=False),
        sa.Column("action", sa.String(length=10), nullable=False),
        sa.Column("role_before", sa.String(length=10), nullable=True),
        sa.Column("role_after", sa.String(length=10), nullable=True),
        sa.Column("platform_role", sa.String(length=10), nullable=True),
        sa.Column("at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("undone_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.Column("undone_by", sa.Integer(), nullable=True),
        sa.Column("held", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["binding_id"],
            ["room_bindings.id"],
            name=op.f("fk_sync_changes_binding_id_room_bindings"),
        ),
        sa.ForeignKeyConstraint(
            ["coop_id"], ["coops.id"], name=op.f("fk_sync_changes_coop_id_coops")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_sync_changes_member_id_members")
        ),
        sa.ForeignKeyConstraint(
            ["undone_by"], ["members.id"], name=op.f("fk_sync_changes_undone_by_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_changes")),
        sa.UniqueConstraint("coop_id", "number", name=op.f("uq_sync_changes_coop_id")),
    )
    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.create_index("ix_sync_changes_held", ["binding_id", "held"], unique=False)

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source_binding_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_identities_source_binding_id"), ["source_binding_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_identities_source_binding_id_room_bindings"),
            "room_bindings",
            ["source_binding_id"],
            ["id"],
        )

    # A code is now stored as its hash; the old short codes are not carried over.
    op.drop_table("one_time_codes")
    op.create_table(
        "one_time_codes",
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("coop_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["coop_id"], ["coops.id"], name=op.f("fk_one_time_codes_coop_id_coops")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_one_time_codes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("code_hash", name=op.f("pk_one_time_codes")),
    )
    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_one_time_codes_coop_expires", ["coop_id", "expires_at"], unique=False
        )

    with op.batch_alter_table("room_bindings", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("role_sync", sa.String(length=10), server_default="off", nullable=False)
        )

    _keep_existing_role_sync()


_bindings = sa.table(
    "room_bindings",
    sa.column("id", sa.Integer),
    sa.column("coop_id", sa.Integer),
    sa.column("platform", sa.String),
    sa.column("role_sync", sa.String),
)
_identities = sa.table(
    "identities",
    sa.column("coop_id", sa.Integer),
    sa.column("identity", sa.String),
    sa.column("source_binding_id", sa.Integer),
)
_audit = sa.table(
    "audit_events",
    sa.column("coop_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("detail", sa.JSON),
)


def _keep_existing_role_sync() -> None:
    connection = op.get_bind()
    rooms: dict[int, list[Any]] = {}
    for row in connection.execute(
        sa.select(_bindings.c.id, _bindings.c.coop_id, _bindings.c.platform).order_by(
            _bindings.c.id
        )
    ):
        rooms.setdefault(row.coop_id, []).append(row)
    for coop_id, bound in rooms.items():
        founding = bound[0]
        discord = [room for room in bound if room.platform == "discord"]
        if founding.platform == "discord":
            _set_mode(founding.id, "stewards")
        if len(discord) != 1:
            continue
        only = discord[0]
        if only.id != founding.id:
            _set_mode(only.id, "members")
        admitted = _admitted_by_role_sync(coop_id)
        if admitted:
            connection.execute(
                _identities.update()
                .where(
                    _identities.c.coop_id == coop_id,
                    _identities.c.identity.in_(sorted(admitted)),
                )
                .values(source_binding_id=only.id)
            )


def _set_mode(binding_id: int, mode: str) -> None:
    op.get_bind().execute(
        _bindings.update().where(_bindings.c.id == binding_id).values(role_sync=mode)
    )


def _admitted_by_role_sync(coop_id: int) -> set[str]:
    found: set[str] = set()
    for (detail,) in op.get_bind().execute(
        sa.select(_audit.c.detail).where(
            _audit.c.coop_id == coop_id, _audit.c.action == "member.add"
        )
    ):
        if not isinstance(detail, dict) or detail.get("source") != "role sync":
            continue
        identity = detail.get("identity")
        if isinstance(identity, str) and identity.startswith("discord:"):
            found.add(identity)
    return found


def downgrade() -> None:
    with op.batch_alter_table("room_bindings", schema=None) as batch_op:
        batch_op.drop_column("role_sync")

    with op.batch_alter_table("one_time_codes", schema=None) as batch_op:
        batch_op.drop_index("ix_one_time_codes_coop_expires")
    op.drop_table("one_time_codes")
    op.create_table(
        "one_time_codes",
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("coop_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("created_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.Column("used_at", bot.db.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["coop_id"], ["coops.id"], name=op.f("fk_one_time_codes_coop_id_coops")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_one_time_codes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_one_time_codes")),
    )

    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_identities_source_binding_id_room_bindings"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_identities_source_binding_id"))
        batch_op.drop_column("source_binding_id")

    with op.batch_alter_table("sync_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_sync_changes_held")
    op.drop_table("sync_changes")
    op.drop_table("code_attempts")
