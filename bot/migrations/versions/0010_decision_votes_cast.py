"""each decision keeps its count of readable votes (`decisions.votes_cast`)

A vote's acknowledgement, a reminder and an open decision's card show the turnout: the
readable votes cast (a proposal's known choice, a poll's ballot; a closed secret decision's
sealed ballots). Counting them at each vote read every vote of the decision; the count is
now kept on the decision row in the transaction that writes the votes: on PostgreSQL by
the vote's statement, on SQLite by triggers this revision creates. It adds the column and
fills it from the votes (and sealed ballots) stored; and an index of when membership
stretches ended, by which an open decision's non-voters are counted (its eligible count,
less its voters, less the eligible who left since without voting).

A later revision that rebuilds `votes`, `sealed_ballots` or `decisions` on SQLite (a batch
operation copying the table) must create these triggers again (`TRIGGERS`).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

# What `turnout` counted as this revision was written (bot/services/vote_statements.py):
# a proposal's vote with a known choice, a poll's vote holding a ballot (no choice).
_KNOWN = "('yes', 'no', 'abstain', 'block')"
_READABLE = (
    "((decisions.kind = 'proposal' AND {t}.choice IN " + _KNOWN + ")"
    " OR (decisions.kind <> 'proposal' AND {t}.choice IS NULL))"
)
_COUNT = "(SELECT count(*) FROM {t} WHERE {t}.decision_id = decisions.id AND " + _READABLE + ")"
BACKFILL = (
    "UPDATE decisions SET votes_cast = "
    + _COUNT.format(t="votes")
    + " + "
    + _COUNT.format(t="sealed_ballots")
)

# SQLite keeps the count by triggers: it has no data-modifying CTE, so a vote's statements
# could not update it without one more statement per vote (PostgreSQL's vote statement
# updates it itself, returning the turnout: bot/services/vote_statements.py). A row of
# `votes` or `sealed_ballots` counts 1 while readable; sealing a secret decision moves its
# votes into sealed ballots, leaving the count as it was.
_ROW_READABLE = (
    "CASE WHEN decisions.kind = 'proposal' AND {row}.choice IN " + _KNOWN + " THEN 1"
    " WHEN decisions.kind <> 'proposal' AND {row}.choice IS NULL THEN 1 ELSE 0 END"
)
_ADD = (
    "UPDATE decisions SET votes_cast = votes_cast {sign} "
    + _ROW_READABLE
    + (" WHERE decisions.id = {row}.decision_id;")
)


def _triggers(table: str) -> dict[str, str]:
    """The SQLite triggers keeping `decisions.votes_cast` as rows of `table` change."""
    added, removed = _ADD.format(sign="+", row="NEW"), _ADD.format(sign="-", row="OLD")
    return {
        f"{table}_counted_insert": f"AFTER INSERT ON {table} BEGIN {added} END",
        f"{table}_counted_update": f"AFTER UPDATE ON {table} BEGIN {removed} {added} END",
        f"{table}_counted_delete": f"AFTER DELETE ON {table} BEGIN {removed} END",
    }


TRIGGERS = {**_triggers("votes"), **_triggers("sealed_ballots")}


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("votes_cast", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(BACKFILL)
    # An open decision's non-voters are its eligible count less its voters and less the
    # eligible who left since without voting: found by when their stretch ended.
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index("ix_memberships_coop_left", ["coop_id", "left_seq"], unique=False)
    if op.get_bind().dialect.name == "sqlite":
        for name, body in TRIGGERS.items():
            op.execute(f"CREATE TRIGGER {name} {body}")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index("ix_memberships_coop_left")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("votes_cast")
