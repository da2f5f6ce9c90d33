"""ballot positions: votes store what was cast, secret ballots are sealed at close

Poll votes were stored as text (`C>A>B`) and read back with the parser for what members
type, which tries an option's whole text before letters: with options such as `B | A` or
`a,c` a stored ballot read back as another one. Each poll vote now stores its ballot as
option positions (`votes.ballot`, JSON); a proposal vote keeps its choice word; a check
says each row holds exactly one of them.

Existing rows are read once. The text was written by the bot itself in letters, so the
letters are what was cast; text that is not in that form is read as the old code read it.
Where the old reading would have differed from the letters, or a row cannot be read at all,
the upgrade log says so (decision and vote number, never the choice); an unreadable row
keeps its text and is shown as unreadable, never dropped.

Secret decisions that are closed or withdrawn are sealed: who took part goes to
`participations`, the anonymous choices to `sealed_ballots` (in the order of their content),
and their vote rows are deleted. Stored answers to secret votes lose the choice they showed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 04:00:00
"""

from __future__ import annotations

import json
import logging
import re
from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from alembic import op

import bot.db.types

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

_LETTERS = "ABCDEFGHIJKLMNOPQRST"
_ONE_CHOICE = "(choice IS NULL) <> (ballot IS NULL)"

_decisions = sa.table(
    "decisions",
    sa.column("id", sa.Integer),
    sa.column("coop_id", sa.Integer),
    sa.column("number", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("method", sa.String),
    sa.column("secret", sa.Boolean),
    sa.column("status", sa.String),
)
_options = sa.table(
    "decision_options",
    sa.column("decision_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("label", sa.String),
)
_votes = sa.table(
    "votes",
    sa.column("id", sa.Integer),
    sa.column("decision_id", sa.Integer),
    sa.column("member_id", sa.Integer),
    sa.column("choice", sa.String),
    sa.column("ballot", sa.JSON(none_as_null=True)),
    sa.column("cast_at", bot.db.types.UTCDateTime()),
)
_sealed = sa.table(
    "sealed_ballots",
    sa.column("decision_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("choice", sa.String),
    sa.column("ballot", sa.JSON(none_as_null=True)),
)
_participations = sa.table(
    "participations",
    sa.column("decision_id", sa.Integer),
    sa.column("member_id", sa.Integer),
    sa.column("voted_at", bot.db.types.UTCDateTime()),
)
_outbox = sa.table(
    "outbox",
    sa.column("id", sa.Integer),
    sa.column("coop_id", sa.Integer),
    sa.column("document", sa.JSON),
)
_deliveries = sa.table(
    "outbox_deliveries",
    sa.column("outbox_id", sa.Integer),
    sa.column("reply_to", sa.String),
)

Ballot = list[int] | list[list[int]]


class _Unreadable(ValueError):
    pass


def _letters(method: str, n: int, text: str) -> Ballot | None:
    """The ballot in the form the bot wrote (`B`, `A,C`, `C>A>B`, `A=5,C=0`), or None."""
    letters = _LETTERS[:n]
    raw = text.strip()
    if method == "score":
        pairs = [re.fullmatch(r"([A-T])=([0-5])", part) for part in raw.split(",")]
        if not all(pairs) or not raw:
            return None
        scored = [[letters.index(m[1]), int(m[2])] for m in pairs if m and m[1] in letters]
        picks = [p for p, _ in scored]
        if len(scored) != len(pairs) or picks != sorted(set(picks)):
            return None
        return scored
    separator = ">" if method == "ranked" else ","
    parts = raw.split(separator)
    if not raw or any(len(p) != 1 or p not in letters for p in parts):
        return None
    picks = [letters.index(p) for p in parts]
    if len(set(picks)) != len(picks):
        return None
    if method == "single" and len(picks) != 1:
        return None
    if method == "approval" and picks != sorted(picks):
        return None
    return picks


def _old_reading(method: str, options: list[str], text: str) -> Ballot:
    """polls.parse_ballot as it was before this revision (whole option text first)."""
    letters = _LETTERS[: len(options)]

    def whole(raw: str) -> int | None:
        key = raw.casefold()
        return next(
            (i for i, option in enumerate(options) if option.strip().casefold() == key), None
        )

    def index(token: str) -> int:
        name = token.strip()
        if len(name) == 1 and name.upper() in letters:
            return letters.index(name.upper())
        found = whole(name)
        if found is None:
            raise _Unreadable(name)
        return found

    raw = text.strip()
    if not raw:
        raise _Unreadable("empty")
    if method == "single":
        if "," in raw or ">" in raw or "=" in raw:
            pick = whole(raw)
            if pick is None:
                raise _Unreadable("not one option")
            return [pick]
        return [index(raw)]
    if method in ("approval", "ranked"):
        if method == "ranked" and "," in raw and ">" not in raw and whole(raw) is None:
            raise _Unreadable("not ranked")
        found = whole(raw)
        separator = "," if method == "approval" else ">"
        picks = [found] if found is not None else [index(p) for p in raw.split(separator)]
        if len(set(picks)) != len(picks):
            raise _Unreadable("repeated")
        return sorted(picks) if method == "approval" else picks
    scored: dict[int, int] = {}
    for part in raw.split(","):
        name, equals, value = part.rpartition("=")
        value = value.strip()
        if not equals or not re.fullmatch(r"[0-9]{1,2}", value) or int(value) > 5:
            raise _Unreadable("not a score")
        option = index(name)
        if option in scored:
            raise _Unreadable("scored twice")
        scored[option] = int(value)
    return [[i, scored[i]] for i in sorted(scored)]


def _convert_votes(connection: sa.engine.Connection) -> None:
    decisions = {row.id: row for row in connection.execute(sa.select(_decisions)).all()}
    options: dict[int, list[str]] = defaultdict(list)
    for decision_id, label in connection.execute(
        sa.select(_options.c.decision_id, _options.c.label).order_by(
            _options.c.decision_id, _options.c.position
        )
    ).all():
        options[decision_id].append(label)
    rows = connection.execute(
        sa.select(_votes.c.id, _votes.c.decision_id, _votes.c.choice).order_by(_votes.c.id)
    ).all()
    for vote_id, decision_id, text in rows:
        decision = decisions[decision_id]
        where = f"vote {vote_id} on #{decision.number} of co-op {decision.coop_id}"
        if decision.kind != "poll":
            if text not in ("yes", "no", "abstain", "block"):
                log.warning("%s is no proposal choice; kept as it was, shown as unreadable", where)
            continue
        labels = options[decision_id]
        ballot = _letters(decision.method, len(labels), text)
        try:
            old = _old_reading(decision.method, labels, text)
        except _Unreadable:
            old = None
        if ballot is None:
            ballot = old
        elif old is not None and old != ballot:
            # The bot wrote letters; the old reader took an option's text for them.
            log.warning("%s: read by its letters; the old reader had read another ballot", where)
        if ballot is None:
            log.warning("%s could not be read; kept as it was, shown as unreadable", where)
            continue
        connection.execute(
            _votes.update().where(_votes.c.id == vote_id).values(choice=None, ballot=ballot)
        )


def _as_letters(method: str, ballot: Any) -> str:
    if method == "score":
        return ",".join(f"{_LETTERS[i]}={s}" for i, s in ballot)
    return (">" if method == "ranked" else ",").join(_LETTERS[i] for i in ballot)


def _content(row: tuple[str | None, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def _seal_closed_secret_ballots(connection: sa.engine.Connection) -> None:
    ended = connection.execute(
        sa.select(_decisions.c.id).where(
            _decisions.c.secret.is_(True), _decisions.c.status.in_(("closed", "withdrawn"))
        )
    ).scalars()
    for decision_id in ended.all():
        votes = connection.execute(
            sa.select(_votes.c.member_id, _votes.c.cast_at, _votes.c.choice, _votes.c.ballot).where(
                _votes.c.decision_id == decision_id
            )
        ).all()
        for member_id, cast_at in sorted((v.member_id, v.cast_at) for v in votes):
            connection.execute(
                _participations.insert().values(
                    decision_id=decision_id, member_id=member_id, voted_at=cast_at
                )
            )
        ballots = sorted(((v.choice, v.ballot) for v in votes), key=_content)
        for position, (choice, ballot) in enumerate(ballots):
            connection.execute(
                _sealed.insert().values(
                    decision_id=decision_id, position=position, choice=choice, ballot=ballot
                )
            )
        connection.execute(_votes.delete().where(_votes.c.decision_id == decision_id))


def _redact_stored_secret_answers(connection: sa.engine.Connection) -> None:
    """Answers to secret votes that showed the choice (in a direct message) keep only that
    the vote was recorded."""
    secret = {
        f"decision:{coop_id}:{number}"
        for coop_id, number in connection.execute(
            sa.select(_decisions.c.coop_id, _decisions.c.number).where(
                _decisions.c.secret.is_(True)
            )
        ).all()
    }
    if not secret:
        return
    answers = connection.execute(
        sa.select(_outbox.c.id, _outbox.c.document).where(
            _outbox.c.id.in_(
                sa.select(_deliveries.c.outbox_id).where(_deliveries.c.reply_to.is_not(None))
            )
        )
    ).all()
    for outbox_id, document in answers:
        if not isinstance(document, dict) or document.get("subject") not in secret:
            continue
        blocks = document.get("blocks") or []
        first = blocks[0] if blocks else {}
        parts = first.get("parts") or [] if isinstance(first, dict) else []
        head = parts[0].get("text", "") if parts and isinstance(parts[0], dict) else ""
        if not head.startswith("Your vote on #") or len(parts) == 1:
            continue
        hidden = dict(first, parts=[{"kind": "text", "text": head.removesuffix(": ")
                                     + " (secret ballot)"}])  # fmt: skip
        connection.execute(
            _outbox.update()
            .where(_outbox.c.id == outbox_id)
            .values(document=dict(document, blocks=[hidden, *blocks[1:]]))
        )


def upgrade() -> None:
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ballot", sa.JSON(none_as_null=True), nullable=True))
        batch_op.alter_column("choice", existing_type=sa.String(length=500), nullable=True)
    op.create_table(
        "sealed_ballots",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("choice", sa.String(length=500), nullable=True),
        sa.Column("ballot", sa.JSON(none_as_null=True), nullable=True),
        sa.CheckConstraint(_ONE_CHOICE, name=op.f("ck_sealed_ballots_one_choice")),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_sealed_ballots_decision_id_decisions"),
        ),
        sa.PrimaryKeyConstraint("decision_id", "position", name=op.f("pk_sealed_ballots")),
    )
    op.create_table(
        "participations",
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("voted_at", bot.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["decisions.id"],
            name=op.f("fk_participations_decision_id_decisions"),
        ),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_participations_member_id_members")
        ),
        sa.PrimaryKeyConstraint("decision_id", "member_id", name=op.f("pk_participations")),
    )
    connection = op.get_bind()
    _convert_votes(connection)
    _seal_closed_secret_ballots(connection)
    _redact_stored_secret_answers(connection)
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.create_check_constraint(op.f("ck_votes_one_choice"), _ONE_CHOICE)


def downgrade() -> None:
    # Ballots go back to letters. Sealed ballots cannot be linked to their voters again
    # (that is their point): a sealed decision keeps its stored result, not its ballots.
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_votes_one_choice"), type_="check")
    connection = op.get_bind()
    methods = dict(connection.execute(sa.select(_decisions.c.id, _decisions.c.method)).all())
    for vote_id, decision_id, ballot in connection.execute(
        sa.select(_votes.c.id, _votes.c.decision_id, _votes.c.ballot).where(
            _votes.c.ballot.is_not(None)
        )
    ).all():
        connection.execute(
            _votes.update()
            .where(_votes.c.id == vote_id)
            .values(choice=_as_letters(methods[decision_id], ballot))
        )
    op.drop_table("participations")
    op.drop_table("sealed_ballots")
    with op.batch_alter_table("votes", schema=None) as batch_op:
        batch_op.drop_column("ballot")
        batch_op.alter_column("choice", existing_type=sa.String(length=500), nullable=False)
