"""hot-path indexes and the monthly contribution rollup

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-27 04:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None


def _month_expression(dialect: str) -> str:
    """The UTC calendar month of `created_at` as an integer (202611): SQLite stores naive UTC
    text `2026-11-23 09:00:00`, PostgreSQL a naive UTC timestamp."""
    if dialect == "sqlite":
        return "CAST(substr(created_at, 1, 4) || substr(created_at, 6, 2) AS INTEGER)"
    return "CAST(EXTRACT(YEAR FROM created_at) * 100 + EXTRACT(MONTH FROM created_at) AS INTEGER)"


def upgrade() -> None:
    op.create_table(
        "contribution_months",
        sa.Column("coop_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("hours_cents", sa.BigInteger(), nullable=False),
        sa.Column("points_cents", sa.BigInteger(), nullable=False),
        sa.Column("kudos_cents", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["coop_id"], ["coops.id"], name=op.f("fk_contribution_months_coop_id_coops")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_contribution_months_member_id_members")
        ),
        sa.PrimaryKeyConstraint(
            "coop_id", "month", "member_id", name=op.f("pk_contribution_months")
        ),
    )
    dialect = op.get_bind().dialect.name
    # Existing entries, summed exactly as a tally sums them (whole cents).
    cents = "CAST(ROUND(amount * 100) AS BIGINT)"
    op.execute(
        "INSERT INTO contribution_months (coop_id, month, member_id, hours_cents, "
        f"points_cents, kudos_cents) SELECT coop_id, {_month_expression(dialect)} AS month, "
        f"member_id, SUM(CASE WHEN kind = 'hours' THEN {cents} ELSE 0 END), "
        f"SUM(CASE WHEN kind = 'points' THEN {cents} ELSE 0 END), "
        f"SUM(CASE WHEN kind = 'kudos' THEN {cents} ELSE 0 END) FROM contributions "
        f"GROUP BY coop_id, {_month_expression(dialect)}, member_id"
    )
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.drop_index("ix_contributions_coop_at")
        batch_op.create_index(
            "ix_contributions_coop_at",
            ["coop_id", "created_at", "member_id", "kind", "amount"],
            unique=False,
        )
        batch_op.create_index(
            "ix_contributions_coop_member_at", ["coop_id", "member_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_contributions_giver_at", ["giver_id", "created_at"], unique=False)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.create_index("ix_tasks_holder_status", ["holder_id", "status"], unique=False)
        batch_op.create_index(
            "ix_tasks_coop_status_number", ["coop_id", "status", "number"], unique=False
        )
        batch_op.create_index(
            "ix_tasks_coop_status_done", ["coop_id", "status", "done_at"], unique=False
        )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.create_index(
            "ix_decisions_coop_status_closed", ["coop_id", "status", "closed_at"], unique=False
        )
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_members_coop_active_name", ["coop_id", "active", "name"], unique=False
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_events_coop_at", ["coop_id", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_events_coop_at")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_index("ix_members_coop_active_name")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_index("ix_decisions_coop_status_closed")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_coop_status_done")
        batch_op.drop_index("ix_tasks_coop_status_number")
        batch_op.drop_index("ix_tasks_holder_status")
    with op.batch_alter_table("contributions", schema=None) as batch_op:
        batch_op.drop_index("ix_contributions_giver_at")
        batch_op.drop_index("ix_contributions_coop_member_at")
        batch_op.drop_index("ix_contributions_coop_at")
        batch_op.create_index("ix_contributions_coop_at", ["coop_id", "created_at"], unique=False)
    op.drop_table("contribution_months")
