"""a covering index of the monthly rollup for tallies over many months

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 11:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COLUMNS = ["coop_id", "month", "member_id", "hours_cents", "points_cents", "kudos_cents"]


def upgrade() -> None:
    # A tally over many months (`tally period:all`) sums its months' rollup rows per member:
    # with every column in this index, the month range is read from it alone (the primary
    # key's index would need a lookup of the table row for each month of each member).
    with op.batch_alter_table("contribution_months", schema=None) as batch_op:
        batch_op.create_index("ix_contribution_months_covering", COLUMNS, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("contribution_months", schema=None) as batch_op:
        batch_op.drop_index("ix_contribution_months_covering")
