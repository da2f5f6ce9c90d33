"""The commands `make bench` measures, as command text and the member who types it, derived
from the seed plan alone; each names what a member must see in the first reply line."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bench.seed.plan import CLOSABLE, COOP_NAME, Plan, member_name
from bot.services.members import MEMBER_PAGE_SIZE


@dataclass(frozen=True)
class Call:
    user: str
    text: str


@dataclass(frozen=True)
class Scenario:
    """One row of the table: `calls` yields fresh invocations (a vote by a member who has
    not voted yet, a claim of a task still open, …); `expect` is in each first reply line."""

    key: str
    label: str
    goal: str
    calls: list[Call]
    expect: str
    max_samples: int = 200
    warmup: int = 1
    paged: str = ""  # in the whole reply, when the reply must be paged at this size

    @property
    def short(self) -> str:
        """The label without the sizes in brackets (for the growth table and the chart)."""
        return self.label if self.key.startswith("vote") else self.label.split(" (")[0]


STEWARD = member_name(0)


def _pool(plan: Plan, parity: int | None = None) -> Iterator[int]:
    for index in plan.scenario_pool:
        if parity is None or index % 2 == parity:
            yield index


def scenarios(plan: Plan) -> list[Scenario]:
    """In the order they run: reads of the open decision before the votes that change it;
    the summary after the closes, so that it counts what a co-op usually has open."""
    show = plan.show_number
    voters = list(_pool(plan, 0))
    non_voters = list(_pool(plan, 1))
    pool = list(_pool(plan))
    open_tasks = range(1, plan.open_tasks + 1)
    claimers = pool[: len(open_tasks)]
    givers = pool[::-1]
    closes = [plan.fixture_number("close_proposal", k) for k in range(CLOSABLE)]
    ranked = [plan.fixture_number("close_ranked", k) for k in range(CLOSABLE)]
    reader = member_name(pool[0])
    waiting = sum(1 for i in range(plan.removed_from) if not plan.show_voted(i))
    repeat = 400
    return [
        Scenario(
            "show",
            f"show an open decision ({waiting:,} non-voters)",
            "p99 ≤ 20 ms",
            [Call(reader, f"show {show}")] * repeat,
            f"#{show}",
        ),
        Scenario(
            "member_list",
            "member list",
            "p99 ≤ 20 ms, paged",
            [Call(reader, "member list")] * repeat,
            f"{COOP_NAME}: {plan.removed_from} members",
            paged="member list page:2" if plan.removed_from > MEMBER_PAGE_SIZE else "",
        ),
        Scenario(
            "vote_new",
            "vote (new)",
            "p50 ≤ 2× bare insert+commit",
            [Call(member_name(i), f"vote {show} yes") for i in non_voters],
            f"Your vote on #{show} is recorded",
        ),
        Scenario(
            "vote_changed",
            "vote (changed)",
            "p50 ≤ 2× bare insert+commit",
            [
                Call(member_name(i), f"vote {show} {'no' if k % 2 else 'abstain'}")
                for k, i in enumerate(voters)
            ],
            f"Your vote on #{show} is changed",
        ),
        Scenario(
            "task_claim",
            "task claim",
            "p99 ≤ 20 ms",
            [
                Call(member_name(i), f"task claim {n}")
                for i, n in zip(claimers, open_tasks, strict=False)
            ],
            "claimed by",
        ),
        Scenario(
            "task_done",
            "task done",
            "p99 ≤ 20 ms",
            [
                Call(member_name(i), f"task done {n}")
                for i, n in zip(claimers, open_tasks, strict=False)
            ],
            "done by",
        ),
        Scenario(
            "kudos",
            "kudos",
            "p99 ≤ 20 ms",
            [
                Call(member_name(g), f"kudos @{member_name(r)} thanks for the help")
                for g, r in zip(givers, pool, strict=True)
                if g != r
            ],
            "thanks",
        ),
        *[
            Scenario(
                f"tally_{period}",
                f"tally {period}",
                "p99 ≤ 250 ms",
                [Call(reader, f"tally period:{period}")] * repeat,
                "Contributions —",
                # from 10 % on, every period has far more members with entries than a page
                paged=f"tally period:{period} page:2" if plan.members >= 1000 else "",
            )
            for period in ("week", "month", "all")
        ],
        Scenario(
            "close_proposal",
            f"close a proposal ({plan.removed_from:,} eligible)",
            "p99 ≤ 100 ms",
            [Call(STEWARD, f"close {n}") for n in closes],
            "Proposal",
            warmup=0,
        ),
        Scenario(
            "close_ranked",
            f"close a ranked poll ({plan.removed_from:,} ballots × 10 options)",
            "p99 ≤ 200 ms",
            [Call(STEWARD, f"close {n}") for n in ranked],
            "ranked question —",
            warmup=0,
        ),
        Scenario(
            "summary",
            "weekly summary with chart",
            "p99 ≤ 1 s",
            [Call(STEWARD, "summary")] * repeat,
            "at Bench co-op",
        ),
    ]
