"""bounded input: who set a vote below the co-op's defaults, and normalised settings

Decisions record a steward's exception to the co-op's defaults (who, why, what). Co-op
settings overrides written by earlier releases as typed text (`60%`, `1e-3`) are rewritten
in the stored form the bot now reads (the exact fraction `3/5`), so no command ever parses
free text from a stored row again; a value that cannot be read safely is dropped, which
restores the configured default, and is reported in the migration log.

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23 10:00:00.000000
"""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0005"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

# What earlier releases accepted, bounded: percentages, fractions and plain decimals of a
# sane length, never an exponent (Fraction("1e-99999999") would take hours to build).
_PERCENT = re.compile(r"([0-9]{1,3}(?:\.[0-9]{1,12})?) *%")
_FRACTION = re.compile(r"([0-9]{1,12}) */ *([0-9]{1,12})")
_DECIMAL = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,24})?")
_RATIO_KEYS = ("quorum", "reserve_share")


def _ratio(text: object) -> str | None:
    """A stored ratio in the new form (`1/2`), or None when it can't be read safely."""
    if not isinstance(text, str | int) or isinstance(text, bool):
        return None
    raw = str(text).strip()
    if len(raw) > 40:
        return None
    if match := _PERCENT.fullmatch(raw):
        value = Fraction(Decimal(match.group(1))) / 100
    elif match := _FRACTION.fullmatch(raw):
        if int(match.group(2)) == 0:
            return None
        value = Fraction(int(match.group(1)), int(match.group(2)))
    elif _DECIMAL.fullmatch(raw):
        value = Fraction(Decimal(raw))
    else:
        return None
    return str(value) if 0 <= value <= 1 else None


def _normalised(settings: dict[str, Any]) -> dict[str, Any]:
    out = dict(settings)
    for key in _RATIO_KEYS:
        if key not in out:
            continue
        value = _ratio(out[key])
        if key == "reserve_share" and value is not None and Fraction(value) >= 1:
            value = None
        if value is None:
            log.warning("dropping the unreadable co-op setting %s=%.40r", key, out.pop(key))
        else:
            out[key] = value
    return out


def upgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lowered_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("lowered_reason", sa.String(length=500), nullable=True))
        batch_op.add_column(sa.Column("lowered", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_decisions_lowered_by_id_members"), "members", ["lowered_by_id"], ["id"]
        )

    coops = sa.table("coops", sa.column("id", sa.Integer()), sa.column("settings", sa.JSON()))
    connection = op.get_bind()
    for coop_id, settings in connection.execute(sa.select(coops.c.id, coops.c.settings)).all():
        stored = json.loads(settings) if isinstance(settings, str) else settings
        if not isinstance(stored, dict):
            continue
        normalised = _normalised(stored)
        if normalised != stored:
            connection.execute(
                coops.update().where(coops.c.id == coop_id).values(settings=normalised)
            )


def downgrade() -> None:
    with op.batch_alter_table("decisions", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_decisions_lowered_by_id_members"), type_="foreignkey"
        )
        batch_op.drop_column("lowered")
        batch_op.drop_column("lowered_reason")
        batch_op.drop_column("lowered_by_id")
