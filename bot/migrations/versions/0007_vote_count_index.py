"""an index to count a decision's votes by choice without reading vote rows

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 05:10:00
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A proposal's tally and any decision's turnout (a poll's readable ballots have no
    # choice) are a GROUP BY choice: with this index, an index-only scan.
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_index("ix_votes_decision_choice", ["decision_id", "choice"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_index("ix_votes_decision_choice")
