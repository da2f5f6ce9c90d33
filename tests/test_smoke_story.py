"""alice sets up a co-op, bob and carol vote, the proposal passes."""

from __future__ import annotations

from bot.app import Core
from tests.support import say, setup_coop


async def test_proposal_passes(core: Core) -> None:
    await setup_coop(core)
    opened = await say(core, "alice", "!propose Buy a 3D printer closes:3d")
    assert "Proposal #1 opened by @alice" in opened
    assert "yes 0" not in opened
    assert "Your vote on #1 is recorded: yes" in await say(core, "bob", "!vote 1 yes")
    assert "recorded" in await say(core, "carol", "!vote 1 no")
    assert "changed" in await say(core, "carol", "!vote 1 yes")
    shown = await say(core, "bob", "!show 1")
    assert "yes 2 · no 0" in shown
    closed = await say(core, "alice", "!close 1")
    assert "PASSED" in closed and "yes 2, no 0, abstain 0" in closed
