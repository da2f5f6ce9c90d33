"""Everything the app derives from the base rows, as INSERT … SELECT / UPDATE / DELETE
statements: a new derived table (a rollup, sealed ballots) is one more
statement here, run after the base rows are in."""

from __future__ import annotations

from importlib import import_module

# Identities: every member is `console:<name>`; every tenth also has a Matrix identity.
IDENTITIES = """
INSERT INTO identities (coop_id, member_id, identity)
SELECT coop_id, id, 'console:' || name FROM members
UNION ALL
SELECT coop_id, id, 'matrix:@' || name || ':example.org' FROM members WHERE id % 10 = 0
"""

# The eligible count of each open decision: the members whose membership stretch covered
# the tick of the co-op's membership clock when it opened.
OPEN_ELIGIBLE_COUNT = """
UPDATE decisions SET eligible_count =
    (SELECT count(*) FROM memberships m WHERE m.coop_id = decisions.coop_id
     AND m.joined_seq < decisions.opened_seq
     AND (m.left_seq IS NULL OR m.left_seq > decisions.opened_seq))
WHERE status = 'open'
"""

COOP_COUNTERS = """
UPDATE coops SET
    next_decision_number =
        (SELECT coalesce(max(number), 0) + 1 FROM decisions WHERE decisions.coop_id = coops.id),
    next_task_number =
        (SELECT coalesce(max(number), 0) + 1 FROM tasks WHERE tasks.coop_id = coops.id),
    membership_seq = (SELECT coalesce(max(s), 0) + 1 FROM (
        SELECT max(opened_seq) AS s FROM decisions WHERE decisions.coop_id = coops.id
        UNION ALL SELECT max(joined_seq) FROM memberships WHERE memberships.coop_id = coops.id
        UNION ALL SELECT max(left_seq) FROM memberships WHERE memberships.coop_id = coops.id
    ) AS ticks)
"""

# The audit trail of the decisions (export audit reads it): who opened each, and each close.
AUDIT_DECISIONS = """
INSERT INTO audit_events (coop_id, at, actor_id, action, subject, detail)
SELECT coop_id, created_at, author_id, kind || '.create', 'decision:' || number, {empty_json}
FROM decisions
UNION ALL
SELECT coop_id, closed_at, NULL, 'decision.' || CASE status WHEN 'closed' THEN 'close'
       ELSE 'withdraw' END, 'decision:' || number, {empty_json}
FROM decisions WHERE status IN ('closed', 'withdrawn')
"""

# The monthly rollup of the ledger (migration 0006, bot.db.rollup): one row per co-op, UTC
# month and member with a column per kind, in whole cents as a tally sums them.
CONTRIBUTION_MONTHS = """
INSERT INTO contribution_months (coop_id, month, member_id, hours_cents, points_cents,
                                 kudos_cents)
SELECT coop_id, {month}, member_id,
       SUM(CASE WHEN kind = 'hours' THEN CAST(ROUND(amount * 100) AS BIGINT) ELSE 0 END),
       SUM(CASE WHEN kind = 'points' THEN CAST(ROUND(amount * 100) AS BIGINT) ELSE 0 END),
       SUM(CASE WHEN kind = 'kudos' THEN CAST(ROUND(amount * 100) AS BIGINT) ELSE 0 END)
FROM contributions GROUP BY coop_id, {month}, member_id
"""

# Closed and withdrawn secret decisions are sealed (bot.services.ballots.seal): who took part,
# by member id; the anonymous ballots numbered in the order of their content (the JSON text of
# (choice, ballot): proposal choices before poll ballots, then by text, byte by byte); then
# their vote rows are deleted.
_SEALED = "(SELECT id FROM decisions WHERE secret AND status IN ('closed', 'withdrawn'))"

PARTICIPATIONS = f"""
INSERT INTO participations (decision_id, member_id, voted_at)
SELECT decision_id, member_id, cast_at FROM votes WHERE decision_id IN {_SEALED}
"""

SEALED_BALLOTS = f"""
INSERT INTO sealed_ballots (decision_id, position, choice, ballot)
SELECT decision_id,
       ROW_NUMBER() OVER (PARTITION BY decision_id
                          ORDER BY choice IS NULL, {{choice_text}}, {{ballot_text}}) - 1,
       choice, ballot
FROM votes WHERE decision_id IN {_SEALED}
"""

SEALED_VOTES = f"DELETE FROM votes WHERE decision_id IN {_SEALED}"

# Each decision's count of readable votes: a proposal's known choice, a poll's ballot,
# counted in its votes or, once sealed, its sealed ballots. On SQLite the triggers of
# revision 0010 have counted the rows as they were loaded; this sets the same, with the
# revision's own statement (its module name starts with a digit: imported by name).
VOTES_CAST: str = import_module("bot.migrations.versions.0010_decision_votes_cast").BACKFILL

# Statements are written once for both databases; these are the spellings that differ.
SPELLINGS: dict[str, dict[str, str]] = {
    "sqlite": {
        "{empty_json}": "'{}'",
        # SQLAlchemy stores a naive UTC DateTime as text `2026-11-23 09:00:00.000000`
        "{month}": "CAST(substr(created_at, 1, 4) || substr(created_at, 6, 2) AS INTEGER)",
        "{choice_text}": "choice",
        "{ballot_text}": "ballot",  # JSON is stored as the text json.dumps wrote
    },
    "postgresql": {
        "{empty_json}": "CAST('{}' AS JSON)",
        "{month}": (
            "CAST(EXTRACT(YEAR FROM created_at) * 100 + EXTRACT(MONTH FROM created_at) AS INTEGER)"
        ),
        "{choice_text}": 'choice COLLATE "C"',
        "{ballot_text}": 'CAST(ballot AS TEXT) COLLATE "C"',  # json keeps its input text
    },
}


def spelled(sql: str, dialect: str) -> str:
    for placeholder, spelling in SPELLINGS[dialect].items():
        sql = sql.replace(placeholder, spelling)
    return sql


STATEMENTS: tuple[tuple[str, str], ...] = (
    ("identities", IDENTITIES),
    ("open eligible_count", OPEN_ELIGIBLE_COUNT),
    ("co-op counters", COOP_COUNTERS),
    ("audit of decisions", AUDIT_DECISIONS),
    ("contribution_months", CONTRIBUTION_MONTHS),
    ("participations (sealed)", PARTICIPATIONS),
    ("sealed_ballots", SEALED_BALLOTS),
    ("votes of sealed decisions", SEALED_VOTES),
    ("votes_cast", VOTES_CAST),
)

# Tables whose integer id PostgreSQL hands out from a sequence, moved past the seeded ids.
SEQUENCED = (
    "coops",
    "room_bindings",
    "members",
    "memberships",
    "identities",
    "decisions",
    "decision_options",
    "votes",
    "tasks",
    "contributions",
    "audit_events",
)
