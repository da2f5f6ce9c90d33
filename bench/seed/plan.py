"""What a seeded co-op holds at a given fraction of the goal size, and the fixtures the
scenarios use (which decision to show, which members have not voted, …): all derived from
the fraction alone, so a measuring process knows them without reading the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

# Monday 16 Nov 2026, 09:00 UTC: the clock every seeded row and every scenario agrees on.
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
HISTORY = timedelta(days=365)  # contributions, tasks and closed decisions span a year
GOAL_MEMBERS = 10_000
GOAL_DECISIONS = 100_000
GOAL_CONTRIBUTIONS = 1_000_000
GOAL_TASKS = 10_000
COOP_ID = 1
COOP_NAME = "Bench co-op"
ROOM_PLATFORM = "console"
ROOM_ID = "local"
STEWARDS = 10  # m00000 … m00009
CLOSABLE = 5  # open proposals and ranked polls per seed that the close scenarios close
RANKED_OPTIONS = 10
VOTES_PER_CLOSED = 4  # ballots on each historical decision
REMOVED_SHARE = 0.02  # the last 2 % of members were removed at some point of the year


def member_name(index: int) -> str:
    return f"m{index:05d}"


@dataclass(frozen=True)
class Plan:
    """Sizes and fixture numbers for one fraction (1.0 = the goal size)."""

    fraction: float
    members: int
    decisions: int
    contributions: int
    tasks: int

    @classmethod
    def at(cls, fraction: float) -> Plan:
        if not 0 < fraction <= 1:
            raise ValueError("the fraction of the goal size is in (0, 1]")
        return cls(
            fraction=fraction,
            members=max(40, round(GOAL_MEMBERS * fraction)),
            decisions=max(60, round(GOAL_DECISIONS * fraction)),
            contributions=max(400, round(GOAL_CONTRIBUTIONS * fraction)),
            tasks=max(40, round(GOAL_TASKS * fraction)),
        )

    # Members ---------------------------------------------------------------------------
    @property
    def removed_from(self) -> int:
        """Members with an index from here on were removed (inactive) during the year."""
        return self.members - max(1, round(self.members * REMOVED_SHARE))

    @property
    def scenario_pool(self) -> range:
        """Active, non-steward members that hold no seeded task: the scenarios act as them."""
        return range(STEWARDS, self.removed_from - self.claimed_tasks)

    # Decisions: historical ones first (closed or withdrawn), then the open fixtures.
    @property
    def fixtures(self) -> list[str]:
        """The open and scheduled decisions at the end of the numbering, in order."""
        return (
            ["show"]
            + ["close_proposal"] * CLOSABLE
            + ["close_ranked"] * CLOSABLE
            + ["consent", "secret_proposal", "approval", "score", "secret_single"]
            + ["scheduled_proposal", "scheduled_poll"]
        )

    @property
    def historical(self) -> int:
        return self.decisions - len(self.fixtures)

    def fixture_number(self, role: str, nth: int = 0) -> int:
        hits = [i for i, r in enumerate(self.fixtures) if r == role]
        return self.historical + 1 + hits[nth]

    @property
    def show_number(self) -> int:
        """An open majority proposal on which every member with an even index voted."""
        return self.fixture_number("show")

    def show_voted(self, index: int) -> bool:
        return index % 2 == 0

    # Tasks ------------------------------------------------------------------------------
    @property
    def claimed_tasks(self) -> int:
        return max(2, self.tasks // 10)

    @property
    def open_tasks(self) -> int:
        return max(20, self.tasks * 15 // 100)

    def task_status(self, number: int) -> str:
        """Tasks 1 … open_tasks are open, then the claimed ones, then done / cancelled."""
        if number <= self.open_tasks:
            return "open"
        if number <= self.open_tasks + self.claimed_tasks:
            return "claimed"
        return "cancelled" if number % 5 == 0 else "done"

    def claim_holder(self, number: int) -> int:
        """The member index holding claimed task `number` (distinct holders, just below
        the removed members)."""
        return self.removed_from - self.claimed_tasks + (number - self.open_tasks - 1)
