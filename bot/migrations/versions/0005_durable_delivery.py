"""durable delivery: answers in the outbox, back-off, dead letters, leases, retention

Revision ID: 0005
Revises: 0001
Create Date: 2026-11-23 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # New columns are nullable: existing deliveries keep their state (a row without a
    # send key is sent with the transaction id it had before this revision).
    with op.batch_alter_table("outbox_deliveries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("send_key", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", bot.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("dead_at", bot.db.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("last_error", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("recipient", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("reply_to", sa.String(length=255), nullable=True))
    with op.batch_alter_table("handled_messages", schema=None) as batch_op:
        batch_op.create_index("ix_handled_messages_handled_at", ["handled_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("handled_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_handled_messages_handled_at")
    with op.batch_alter_table("outbox_deliveries", schema=None) as batch_op:
        batch_op.drop_column("reply_to")
        batch_op.drop_column("recipient")
        batch_op.drop_column("last_error")
        batch_op.drop_column("dead_at")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("send_key")
        batch_op.drop_column("lease_owner")
