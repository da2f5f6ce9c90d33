"""Revision 0010 fills each decision's count of readable votes from what is stored (votes,
or a sealed decision's sealed ballots; unreadable rows not counted), and on SQLite its
triggers keep it from then on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import text

from bot.db.engine import make_engine
from bot.db.migrate import upgrade

_T = datetime(2026, 11, 16, 9, 0)
_DECISIONS = {  # number: (kind, method, status, secret)
    1: ("proposal", "majority", "open", False),
    2: ("poll", "single", "open", False),
    3: ("proposal", "majority", "closed", True),
    4: ("poll", "ranked", "closed", True),
    5: ("proposal", "consent", "open", False),
}
# (decision, member, choice, ballot JSON): readable ones, and unreadable text kept by 0004
_VOTES = [
    (1, 1, "yes", None), (1, 2, "no", None), (1, 3, "maybe", None),
    (2, 1, None, "[0]"), (2, 2, "Lake", None), (2, 3, None, "[1]"),
]  # fmt: skip
_SEALED = [(3, 0, "abstain", None), (3, 1, "yes", None), (4, 0, None, "[1, 0]"), (4, 1, "x", None)]


async def test_revision_0010_counts_the_readable_votes_stored(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine, "0009")
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    "INSERT INTO coops (id, name, created_at, settings, next_decision_number, "
                    "next_task_number) VALUES (1, 'Old', :t, '{}', 6, 1)"
                ),
                {"t": _T},
            )
            for member in (1, 2, 3):
                await connection.execute(
                    text(
                        "INSERT INTO members (id, coop_id, name, role, active, joined_at) "
                        "VALUES (:id, 1, :name, 'member', :yes, :t)"
                    ),
                    {"id": member, "name": f"m{member}", "yes": True, "t": _T},
                )
            for number, (kind, method, status, secret) in _DECISIONS.items():
                await connection.execute(
                    text(
                        "INSERT INTO decisions (id, coop_id, number, kind, title, body, method, "
                        "quorum, secret, status, author_id, created_at, opens_at, closes_at, "
                        "opened_at, eligible_count) VALUES (:n, 1, :n, :kind, 'Old', '', "
                        ":method, '0', :secret, :status, 1, :t, :t, :t, :t, 3)"
                    ),
                    {"n": number, "kind": kind, "method": method, "secret": secret,
                     "status": status, "t": _T},
                )  # fmt: skip
            for decision, member, choice, ballot in _VOTES:
                await connection.execute(
                    text(
                        "INSERT INTO votes (decision_id, member_id, choice, ballot, reason, "
                        "cast_at, changes) VALUES (:d, :m, :choice, :ballot, '', :t, 0)"
                    ),
                    {"d": decision, "m": member, "choice": choice, "ballot": ballot, "t": _T},
                )
            for decision, position, choice, ballot in _SEALED:
                await connection.execute(
                    text(
                        "INSERT INTO sealed_ballots (decision_id, position, choice, ballot) "
                        "VALUES (:d, :p, :choice, :ballot)"
                    ),
                    {"d": decision, "p": position, "choice": choice, "ballot": ballot},
                )
        await upgrade(engine)
        counted = "SELECT number, votes_cast FROM decisions ORDER BY number"
        async with engine.connect() as connection:
            found = dict((await connection.execute(text(counted))).tuples().all())
        assert found == {1: 2, 2: 2, 3: 2, 4: 1, 5: 0}
        if engine.dialect.name != "sqlite":
            return
        async with engine.begin() as connection:  # the triggers count from now on
            await connection.execute(
                text(
                    "INSERT INTO votes (decision_id, member_id, choice, reason, cast_at, "
                    "changes) VALUES (5, 1, 'block', 'lease', :t, 0)"
                ),
                {"t": _T},
            )
            await connection.execute(
                text("UPDATE votes SET choice = 'abstain' WHERE decision_id = 1 AND member_id = 3")
            )
            await connection.execute(
                text("DELETE FROM votes WHERE decision_id = 2 AND member_id = 1")
            )
            await connection.execute(text("DELETE FROM sealed_ballots WHERE decision_id = 3"))
            found = dict((await connection.execute(text(counted))).tuples().all())
        assert found == {1: 3, 2: 1, 3: 0, 4: 1, 5: 1}
    finally:
        await engine.dispose()
