"""eligibility as membership intervals on a per-co-op membership clock

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 07:50:00

Before: one `eligibility` row per member per opened decision. After: `memberships`, one row
per stretch of a member's membership (joined_seq, left_seq) on the co-op's membership clock
(`coops.membership_seq`), and `decisions.opened_seq`; eligible = a stretch covering it.

The old rows are the truth for the decisions already opened (a member removed and restored,
or a snapshot that disagrees with the join and removal times, keeps exactly the set it had):
per co-op, the opened decisions get the clock values 2, 4, …, 2K in order of opening, and
each member one stretch per run of consecutive decisions they were eligible for, from the
odd value before the first to the odd value after the last; the stretch of an active member
stays open when it reaches the last decision, and an active member who was not eligible for
the last one gets a stretch from 2K+1. The clock then stands at 2K+1, so what happens next
sorts after every decision opened so far.
"""

from __future__ import annotations

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table("coops", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("membership_seq", sa.BigInteger(), server_default="0", nullable=False)
        )
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("opened_seq", sa.BigInteger(), nullable=True))
    op.create_table(
        "memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("coop_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("joined_seq", sa.BigInteger(), nullable=False),
        sa.Column("left_seq", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["coop_id"], ["coops.id"], name=op.f("fk_memberships_coop_id_coops")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_memberships_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(
            "ix_memberships_coop_joined",
            ["coop_id", "joined_seq", "left_seq", "member_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_memberships_member_joined", ["member_id", "joined_seq"], unique=False
        )
    _convert(op.get_bind())
    op.drop_table("eligibility")


def _convert(bind: sa.Connection) -> None:
    coops = sa.table("coops", sa.column("id"), sa.column("membership_seq"))
    decisions = sa.table(
        "decisions",
        sa.column("id"),
        sa.column("coop_id"),
        sa.column("opened_at"),
        sa.column("opened_seq"),
    )
    members = sa.table("members", sa.column("id"), sa.column("coop_id"), sa.column("active"))
    eligibility = sa.table("eligibility", sa.column("decision_id"), sa.column("member_id"))
    memberships = sa.table(
        "memberships",
        sa.column("coop_id"),
        sa.column("member_id"),
        sa.column("joined_seq"),
        sa.column("left_seq"),
    )
    for (coop_id,) in bind.execute(sa.select(coops.c.id).order_by(coops.c.id)).all():
        opened = bind.execute(
            sa.select(decisions.c.id)
            .where(decisions.c.coop_id == coop_id, decisions.c.opened_at.is_not(None))
            .order_by(decisions.c.opened_at, decisions.c.id)
        ).scalars()
        index = {decision_id: k for k, decision_id in enumerate(opened, start=1)}
        last = len(index)
        numbered = list(index.items())
        for start in range(0, last, _BATCH):
            chunk = numbered[start : start + _BATCH]
            bind.execute(
                decisions.update()
                .where(decisions.c.id == sa.bindparam("d_id"))
                .values(opened_seq=sa.bindparam("seq")),
                [{"d_id": d, "seq": 2 * k} for d, k in chunk],
            )
        eligible: dict[int, list[int]] = defaultdict(list)
        rows = bind.execute(
            sa.select(eligibility.c.member_id, eligibility.c.decision_id)
            .join(decisions, decisions.c.id == eligibility.c.decision_id)
            .where(decisions.c.coop_id == coop_id)
        )
        for member_id, decision_id in rows:
            if decision_id in index:
                eligible[member_id].append(index[decision_id])
        stretches: list[dict[str, int | None]] = []
        active_rows = bind.execute(
            sa.select(members.c.id, members.c.active).where(members.c.coop_id == coop_id)
        ).all()
        for member_id, active in active_rows:
            runs: list[list[int]] = []
            for k in sorted(eligible.get(member_id, [])):
                if runs and runs[-1][1] == k - 1:
                    runs[-1][1] = k
                else:
                    runs.append([k, k])
            for first, final in runs:
                open_ended = bool(active) and final == last
                stretches.append(
                    {
                        "coop_id": coop_id,
                        "member_id": member_id,
                        "joined_seq": 2 * first - 1,
                        "left_seq": None if open_ended else 2 * final + 1,
                    }
                )
            if active and not (runs and runs[-1][1] == last):
                stretches.append(
                    {
                        "coop_id": coop_id,
                        "member_id": member_id,
                        "joined_seq": 2 * last + 1,
                        "left_seq": None,
                    }
                )
        for start in range(0, len(stretches), _BATCH):
            bind.execute(memberships.insert(), stretches[start : start + _BATCH])
        bind.execute(
            coops.update().where(coops.c.id == coop_id).values(membership_seq=2 * last + 1)
        )


def downgrade() -> None:
    op.create_table(
        "eligibility",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["decisions.id"], name=op.f("fk_eligibility_decision_id_decisions")
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_eligibility_member_id_members")
        ),
        sa.PrimaryKeyConstraint("decision_id", "member_id", name=op.f("pk_eligibility")),
    )
    op.execute(
        "INSERT INTO eligibility (decision_id, member_id) "
        "SELECT DISTINCT d.id, m.member_id FROM decisions d JOIN memberships m "
        "ON m.coop_id = d.coop_id AND m.joined_seq < d.opened_seq "
        "AND (m.left_seq IS NULL OR m.left_seq > d.opened_seq) "
        "WHERE d.opened_seq IS NOT NULL"
    )
    op.drop_table("memberships")
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_column("opened_seq")
    with op.batch_alter_table("coops", schema=None) as batch_op:
        batch_op.drop_column("membership_seq")
