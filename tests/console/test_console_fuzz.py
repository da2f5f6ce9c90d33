"""No text typed into the console crashes the bot or changes what it should not."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.console.adapter import ConsoleAdapter
from bot.app import create_core
from bot.clock import ManualClock
from bot.config import load_settings
from tests.support import setup_coop

COMMAND_WORDS = [
    "help",
    "propose",
    "poll",
    "vote",
    "show",
    "list",
    "close",
    "extend",
    "withdraw",
    "task add",
    "task claim",
    "task done",
    "task list",
    "log",
    "kudos",
    "tally",
    "summary",
    "patronage",
    "export",
    "member add",
    "member role",
    "member link",
    "coop settings",
    "coop bind",
    "coop code",
]
fragments = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "#1",
            "1",
            "yes",
            "block",
            "A>B",
            "A=5",
            "@bob",
            "@everyone",
            '"',
            "“",
            "closes:",
            "opens:1d",
            'options:"A | B"',
            "points:9999999",
            "3d",
            "2026-13-45",
            "period:2026-W99",
            "-1",
            "1e309",
            "NaN",
            "<b>x</b>",
        ]
    ),
)
lines = st.builds(
    lambda speaker, word, parts: f"{speaker}!{word} " + " ".join(parts),
    st.sampled_from(["", "@bob: ", "@carol: ", "@nobody: "]),
    st.sampled_from(COMMAND_WORDS),
    st.lists(fragments, max_size=6),
) | st.text(max_size=200)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(script=st.lists(lines, min_size=1, max_size=8))
def test_arbitrary_console_input_never_crashes(script: list[str], tmp_path: Path) -> None:
    asyncio.run(_run_script(script, tmp_path))


async def _run_script(script: list[str], tmp_path: Path) -> None:
    db = tmp_path / "fuzz.db"
    config = load_settings(
        None, database_url=f"sqlite+aiosqlite:///{db}", attachments_dir=str(tmp_path / "att")
    )
    core = await create_core(config, ManualClock())
    out = io.StringIO()
    adapter = ConsoleAdapter(
        user="alice",
        prefix="!",
        attachments_dir=tmp_path / "att",
        stdin=io.StringIO(""),
        stdout=out,
    )
    try:
        if not (await core.messages_about("console", "setup-done")):
            await setup_coop(core, members=("bob", "carol"))
            await core.link_message("console", "local", "setup", "setup-done")
        for text in script:
            await adapter.handle_line(core, text)
    finally:
        await core.close()
    printed = out.getvalue()
    assert "Traceback" not in printed
    assert "Something went wrong" not in printed, printed
