"""The co-op's vocabulary is stored as the same strings as before and read back as enums,
on SQLite and PostgreSQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import StatementError

from bot.app import Core
from bot.db.models import Decision, Member, Task
from bot.domain.polls import PollMethod
from bot.domain.proposals import ProposalMethod
from bot.domain.vocabulary import DecisionKind, DecisionStatus, Role, TaskStatus
from tests.support import say, setup_coop


async def _raw(core: Core, sql: str) -> list[tuple[object, ...]]:
    async with core.sessions() as session:
        return [tuple(row) for row in (await session.execute(text(sql))).all()]


async def test_enums_are_stored_as_their_values_and_read_back_as_members(core: Core) -> None:
    await setup_coop(core)
    await say(core, "bob", "!propose Buy a printer method:consent")
    await say(core, "bob", '!poll Where? options:"Lake | Cabin" method:ranked')
    await say(core, "alice", "!close 2")
    await say(core, "bob", "!task add Fix the gate")
    await say(core, "bob", "!task claim 1")

    stored = await _raw(core, "SELECT number, kind, method, status FROM decisions ORDER BY number")
    assert stored == [(1, "proposal", "consent", "open"), (2, "poll", "ranked", "closed")]
    assert await _raw(core, "SELECT status FROM tasks") == [("claimed",)]
    roles = await _raw(core, "SELECT name, role FROM members ORDER BY name")
    assert roles == [("alice", "steward"), ("bob", "member"), ("carol", "member")]

    async with core.sessions() as session:
        first, second = (await session.scalars(select(Decision).order_by(Decision.number))).all()
        task = await session.scalar(select(Task))
        alice = await session.scalar(select(Member).where(Member.name == "alice"))
    assert first.kind is DecisionKind.PROPOSAL and first.method is ProposalMethod.CONSENT
    assert first.status is DecisionStatus.OPEN
    assert second.kind is DecisionKind.POLL and second.method is PollMethod.RANKED
    assert second.status is DecisionStatus.CLOSED
    assert task is not None and task.status is TaskStatus.CLAIMED
    assert alice is not None and alice.role is Role.STEWARD


async def test_queries_compare_enum_columns_with_members(core: Core) -> None:
    await setup_coop(core)
    await say(core, "bob", "!propose Buy a printer")
    async with core.sessions() as session:
        found = await session.scalar(
            select(Decision.number).where(Decision.status == DecisionStatus.OPEN)
        )
        stewards = (
            await session.scalars(select(Member.name).where(Member.role == Role.STEWARD))
        ).all()
    assert found == 1
    assert stewards == ["alice"]


async def test_a_value_outside_the_vocabulary_is_refused_before_it_is_written(
    core: Core,
) -> None:
    await setup_coop(core)
    async with core.sessions() as session:
        alice = await session.scalar(select(Member).where(Member.name == "alice"))
        assert alice is not None
        alice.role = "admin"  # type: ignore[assignment]
        with pytest.raises(StatementError, match="admin"):
            await session.flush()
    assert await _raw(core, "SELECT role FROM members WHERE name = 'alice'") == [("steward",)]
