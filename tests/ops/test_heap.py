"""A running bot keeps its start-up objects out of the collector's full collections."""

from __future__ import annotations

import gc
from pathlib import Path

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runner import running_core
from tests.support import setup_coop


async def test_start_up_objects_are_frozen_while_the_bot_runs(
    tmp_path: Path, clock: ManualClock
) -> None:
    settings = load_settings(None, database_url=f"sqlite+aiosqlite:///{tmp_path}/coopbot.db")
    before = gc.get_freeze_count()
    async with running_core(settings, clock) as core:
        assert gc.get_freeze_count() > before + 10_000  # modules, the schema, the core
        await setup_coop(core)
        gc.collect()  # a full collection leaves them frozen
        assert gc.get_freeze_count() > before + 10_000
    assert gc.get_freeze_count() == before
