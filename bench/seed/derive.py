"""Everything the app derives from the base rows, as INSERT … SELECT / UPDATE statements:
a new derived table (a rollup, membership intervals, sealed ballots) is one more statement
here, run after the base rows are in."""

from __future__ import annotations

# Identities: every member is `console:<name>`; every tenth also has a Matrix identity.
IDENTITIES = """
INSERT INTO identities (coop_id, member_id, identity)
SELECT coop_id, id, 'console:' || name FROM members
UNION ALL
SELECT coop_id, id, 'matrix:@' || name || ':example.org' FROM members WHERE id % 10 = 0
"""

# The eligibility snapshot of each open decision: the members active when it opened.
# (Historical decisions keep only their eligible_count: a snapshot per closed decision would be
# decisions × members rows, 10⁹ at the goal size, which no test of the app reads.)
ELIGIBILITY = """
INSERT INTO eligibility (decision_id, member_id)
SELECT d.id, m.id FROM decisions d JOIN members m ON m.coop_id = d.coop_id
WHERE d.status = 'open' AND m.active AND m.joined_at <= d.opened_at
"""

OPEN_ELIGIBLE_COUNT = """
UPDATE decisions SET eligible_count =
    (SELECT count(*) FROM eligibility e WHERE e.decision_id = decisions.id)
WHERE status = 'open'
"""

COOP_COUNTERS = """
UPDATE coops SET
    next_decision_number =
        (SELECT coalesce(max(number), 0) + 1 FROM decisions WHERE decisions.coop_id = coops.id),
    next_task_number =
        (SELECT coalesce(max(number), 0) + 1 FROM tasks WHERE tasks.coop_id = coops.id)
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

# Statements are written once for both databases; `{empty_json}` is the one spelling that
# differs (a JSON literal: text on SQLite, a cast on PostgreSQL).
STATEMENTS: tuple[tuple[str, str], ...] = (
    ("identities", IDENTITIES),
    ("eligibility", ELIGIBILITY),
    ("open eligible_count", OPEN_ELIGIBLE_COUNT),
    ("co-op counters", COOP_COUNTERS),
    ("audit of decisions", AUDIT_DECISIONS),
)

# Tables whose integer id PostgreSQL hands out from a sequence, moved past the seeded ids.
SEQUENCED = (
    "coops",
    "room_bindings",
    "members",
    "identities",
    "decisions",
    "decision_options",
    "votes",
    "tasks",
    "contributions",
    "audit_events",
)
