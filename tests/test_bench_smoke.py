"""The benchmark keeps working: a tiny seed, one pass of every scenario through Core.handle
with the answers a member would see, and the report written from it (no timing asserted)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bench import measure, report
from bench.scenarios import scenarios
from bench.seed.build import seed
from bench.seed.plan import Plan

TINY = 0.001  # 40 members, 100 decisions, 1,000 entries, 40 tasks (the plan's floors)


@pytest.fixture
def restore_logging() -> object:
    yield None
    logging.disable(logging.NOTSET)


async def test_seed_then_every_scenario_answers(
    database_url: str, tmp_path: Path, restore_logging: object
) -> None:
    plan = Plan.at(TINY)
    seeded = await seed(database_url, TINY)
    assert seeded.rows["members"] == plan.members
    assert seeded.rows["decisions"] == plan.decisions
    assert seeded.rows["contributions"] == plan.contributions
    assert seeded.rows["tasks"] == plan.tasks

    found = await measure.commands(database_url, TINY, budget=0, at_most=1)
    for scenario in scenarios(plan):
        row = found["scenarios"][scenario.key]
        assert row["samples_ms"], scenario.key
        assert row["wrong"] == [], scenario.key  # each first line had what a member expects
        assert scenario.expect in row["first_line"]
        assert min(row["statements"]) > 0
    closed = found["scenarios"]["close_proposal"]["first_line"]
    assert "PASSED" in closed or "REJECTED" in closed
    assert len(found["baseline"]["samples_ms"]) == 1

    first = await measure.summary_first(database_url)
    assert "at Bench co-op" in first["first_line"]
    exported = await measure.export(database_url)
    # The seeded ledger, plus the points and kudos the scenarios just added.
    added = len(found["scenarios"]["task_done"]["samples_ms"]) + len(
        found["scenarios"]["kudos"]["samples_ms"]
    )
    warmups = 2  # task done and kudos each ran once before their measured runs
    rows = plan.contributions + added + warmups
    assert f"Export of contributions for all time: {rows} rows" in exported["first_line"]
    raw = await measure.raw_read(database_url)
    assert raw["first_line"] == f"{rows} rows"

    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    run = {
        "database": kind,
        "fraction": TINY,
        "seed": {"seconds": seeded.seconds, "stages": seeded.stages, "rows": seeded.rows},
        "summary_first": first,
        "commands": found,
        "raw_read": raw,
        "export": exported,
        "imports": measure.imports(),
    }
    meta = {"date": "today", "commit": "test", "cpus": 1, "load_before": "0", "seconds": 1.0}
    meta["load_after"] = "0"
    report.write({"meta": meta, "runs": [run]}, tmp_path)
    written = (tmp_path / "PERFORMANCE.md").read_text()
    assert "| vote (new) | p50 ≤ 2× bare insert+commit |" in written
    assert "export 1M contributions" in written
    assert (tmp_path / "performance.json").exists()
