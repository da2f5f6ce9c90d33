"""Every change is acknowledged, also across a crash; failed sends back off, then become
dead letters a steward sees and retries; a dead sender's work is taken over in seconds."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.models import OutboxDelivery, OutboxMessage, Vote
from bot.invocation import RoomRef
from bot.ports import Delivery, PermanentSendError
from bot.render.plain import render_plain
from bot.services.outbox import LEASE
from tests.support import CONSOLE_ROOM, invocation, say, setup_coop

AFTER_THE_LEASE = LEASE + timedelta(seconds=1)


class Recorder:
    """A platform that takes every message (or fails, as told) and remembers what it got."""

    def __init__(self, fail_with: Exception | None = None) -> None:
        self.sent: list[Delivery] = []
        self.tries = 0
        self.fail_with = fail_with

    async def __call__(self, delivery: Delivery) -> str | None:
        self.tries += 1
        if self.fail_with is not None:
            raise self.fail_with
        self.sent.append(delivery)
        return f"posted-{len(self.sent)}"

    @property
    def texts(self) -> list[str]:
        return [render_plain(d.reply) for d in self.sent]


async def _votes(core: Core) -> int:
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(Vote)) or 0)


async def _stored_answers(core: Core) -> int:
    async with core.sessions() as session:
        found = await session.scalar(
            select(func.count())
            .select_from(OutboxDelivery)
            .where(OutboxDelivery.reply_to.is_not(None))
        )
        return int(found or 0)


async def test_a_vote_committed_just_before_a_crash_is_answered_once_after_the_restart(
    settings: Settings, clock: ManualClock
) -> None:
    first = await create_core(settings, clock)
    await setup_coop(first)
    await say(first, "alice", "!propose Fix the roof")
    vote = invocation("bob", "!vote 1 yes", message_id="evt-bob-votes")
    answers = await first.answer(vote)
    # The vote is committed with its answer; the process dies before sending anything.
    assert [a.delivery is not None for a in answers] == [True]
    await first.close()

    second = await create_core(settings, clock)
    platform = Recorder()
    # The dead process's short lease still holds for a few seconds…
    assert await second.deliver_pending("console", platform) == 0
    clock.advance(AFTER_THE_LEASE)
    # …then the restarted bot sends the answer, to bob alone, once.
    assert await second.deliver_pending("console", platform) == 1
    (late,) = platform.sent
    assert "Your vote on #1 is recorded" in render_plain(late.reply)
    assert late.reply.ephemeral and late.recipient == "bob"
    assert late.room == CONSOLE_ROOM and late.reply_to == "evt-bob-votes"
    assert await second.deliver_pending("console", platform) == 0
    # The platform redelivers bob's message (a Matrix sync replay): silent, nothing changes.
    assert await second.answer(vote) == []
    assert await _votes(second) == 1
    assert await _stored_answers(second) == 0  # a sent answer is not kept
    await second.close()


async def test_a_redelivered_message_whose_answer_was_sent_stays_silent(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    platform = Recorder()
    proposal = invocation("alice", "!propose Buy a kiln", message_id="evt-propose")
    (answer,) = await core.answer(proposal)
    assert answer.delivery is not None
    assert await core.deliver(answer.delivery, platform)
    assert "Proposal #1 opened" in platform.texts[0]

    assert await core.answer(proposal) == []
    clock.advance(AFTER_THE_LEASE)
    assert await core.deliver_pending("console", platform) == 0
    assert len(platform.sent) == 1
    assert await _stored_answers(core) == 0


async def test_refusals_and_lookups_are_answered_at_once_and_store_nothing(
    core: Core,
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Buy a kiln")
    before = await _stored_answers(core)

    (refused,) = await core.answer(invocation("bob", "!vote 9 yes"))
    assert refused.delivery is None and refused.reply.kind == "error"
    assert "#9" in render_plain(refused.reply)
    (shown,) = await core.answer(invocation("bob", "!show 1"))
    assert shown.delivery is None and "Buy a kiln" in render_plain(shown.reply)
    assert await _stored_answers(core) == before == 0


async def test_a_dead_senders_delivery_is_taken_over_within_seconds_with_the_same_key(
    settings: Settings, clock: ManualClock
) -> None:
    holder = await create_core(settings, clock)
    standby = await create_core(settings, clock)
    await setup_coop(holder)
    await say(holder, "alice", "!propose Fix the roof closes:1h")
    clock.advance(timedelta(hours=1))
    assert await holder.run_due_work() == 1  # the result is announced through the outbox

    sending = asyncio.Event()
    never = asyncio.Event()
    keys: list[str] = []

    async def slow_send(delivery: Delivery) -> str | None:
        keys.append(delivery.key)
        sending.set()
        await never.wait()  # the platform hangs; then the process dies
        return None

    work = asyncio.create_task(holder.deliver_pending("console", slow_send))
    await sending.wait()
    taken = Recorder()
    # While the holder's heartbeat renews its lease, the standby keeps off it.
    for _ in range(3):
        clock.advance(LEASE * 0.6)
        assert await holder.courier.renew() == 1
        assert await standby.deliver_pending("console", taken) == 0

    work.cancel()  # the holder dies mid-send: no mark, no renewal any more
    with pytest.raises(asyncio.CancelledError):
        await work
    clock.advance(LEASE * 0.6)
    assert await standby.deliver_pending("console", taken) == 0  # its lease still runs
    clock.advance(LEASE * 0.5)  # just past the lease (5 s) after the last renewal
    assert await standby.deliver_pending("console", taken) == 1
    assert "#1 Fix the roof" in taken.texts[0]
    # The same key: Discord's nonce and Matrix's transaction id make the resend a no-op.
    assert [d.key for d in taken.sent] == keys
    await holder.close()
    await standby.close()


async def test_the_heartbeat_renews_a_lease_while_a_send_is_in_hand(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Fix the roof closes:1h")
    clock.advance(timedelta(hours=1))
    await core.run_due_work()
    core.courier.heartbeat_seconds = 0.01
    release = asyncio.Event()
    started = asyncio.Event()

    async def slow_send(delivery: Delivery) -> str | None:
        started.set()
        await release.wait()
        return None

    async def leased_until() -> object:
        async with core.sessions() as session:
            return await session.scalar(select(OutboxDelivery.leased_until))

    work = asyncio.create_task(core.deliver_pending("console", slow_send))
    await started.wait()
    first = await leased_until()
    clock.advance(timedelta(seconds=8))
    for _ in range(500):  # the heartbeat renews on its own, from the moved clock
        if await leased_until() == clock.now() + LEASE:
            break
        await asyncio.sleep(0.01)
    assert await leased_until() == clock.now() + LEASE != first
    release.set()
    assert await work == 1


async def test_a_failing_send_backs_off_then_becomes_a_dead_letter_a_steward_retries(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    core = await create_core(settings.model_copy(update={"outbox_max_attempts": 4}), clock)
    await setup_coop(core)
    await say(core, "alice", "!propose Fix the secret roof closes:1h")
    clock.advance(timedelta(hours=1))
    await core.run_due_work()
    down = Recorder(fail_with=RuntimeError("HTTP 502 from the platform"))

    waits = []
    for _ in range(3):
        assert await core.deliver_pending("console", down) == 0
        tries = down.tries
        async with core.sessions() as session:
            row = await session.scalar(select(OutboxDelivery))
        assert row is not None and row.next_attempt_at is not None and row.dead_at is None
        waits.append(row.next_attempt_at - clock.now())
        clock.advance(row.next_attempt_at - clock.now() - timedelta(seconds=1))
        assert await core.deliver_pending("console", down) == 0
        assert down.tries == tries  # not hammered before its time
        clock.advance(timedelta(seconds=1))
    assert waits == [timedelta(seconds=s) for s in (5, 10, 20)]
    assert await core.deliver_pending("console", down) == 0  # the 4th send fails too
    assert down.tries == 4

    clock.advance(timedelta(days=1))
    assert await core.deliver_pending("console", down) == 0
    assert down.tries == 4  # a dead letter is never sent by itself
    assert await core.outbox_depth() == {"console": (0, 1)}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    line = warnings[0].getMessage()
    assert "console room local" in line and "HTTP 502 from the platform" in line
    assert "after 4 send(s)" in line and "coop outbox retry" in line
    assert not any("secret roof" in r.getMessage() for r in caplog.records)

    listed = await say(core, "alice", "!coop outbox")
    assert "Undelivered messages of Riverside Co-op: 1" in listed
    assert " announcement to console room local" in listed
    assert "after 4 sends: RuntimeError: HTTP 502 from the platform" in listed
    assert "secret roof" not in listed  # never what the message says
    assert "Only stewards" in await say(core, "bob", "!coop outbox retry")

    assert "1 undelivered message queued again" in await say(core, "alice", "!coop outbox retry")
    up = Recorder()
    assert await core.deliver_pending("console", up) == 1
    assert "#1 Fix the secret roof" in up.texts[0]
    assert await core.outbox_depth() == {}  # nothing pending, nothing dead
    assert "Nothing undelivered in Riverside Co-op" in await say(core, "alice", "!coop outbox")
    assert "no dead letters" in await say(core, "alice", "!coop outbox retry")
    await core.close()


async def test_a_room_that_is_gone_makes_a_dead_letter_at_once_and_others_still_get_theirs(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    workshop = RoomRef("console", "workshop")
    issued = re.search(r"code[^:]*: (\S+)", await say(core, "alice", "!coop code"))
    assert issued is not None
    code = issued.group(1)
    assert "now bound" in await say(core, "alice", f"!coop bind {code}", workshop)
    await say(core, "alice", "!propose Fix the roof closes:1h")
    clock.advance(timedelta(hours=1))
    await core.run_due_work()  # the opening went to the workshop, the result to both rooms

    got: list[Delivery] = []

    async def send(delivery: Delivery) -> str | None:
        if delivery.room == workshop:
            raise PermanentSendError("the bot was removed from the room")
        got.append(delivery)
        return None

    assert await core.deliver_pending("console", send) == 1
    assert [d.room for d in got] == [CONSOLE_ROOM]
    assert await core.outbox_depth() == {"console": (0, 2)}
    listed = await say(core, "alice", "!coop outbox")
    assert "Undelivered messages of Riverside Co-op: 2" in listed
    assert "after 1 send: PermanentSendError: the bot was removed from the room" in listed


async def test_a_rooms_messages_keep_their_order_while_the_oldest_waits_for_its_retry(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    await say(core, "alice", "!propose Fix the roof closes:1h")
    await say(core, "alice", "!propose Paint the door closes:1h")
    clock.advance(timedelta(hours=1))
    assert await core.run_due_work() == 2
    order: list[str] = []
    failures = [RuntimeError("timed out")]

    async def flaky(delivery: Delivery) -> str | None:
        if failures:
            raise failures.pop()
        order.append(render_plain(delivery.reply).split(" —")[0])
        return None

    assert await core.deliver_pending("console", flaky) == 0
    clock.advance(timedelta(seconds=2))
    assert await core.deliver_pending("console", flaky) == 0  # the second waits its turn
    clock.advance(timedelta(seconds=3))
    assert await core.deliver_pending("console", flaky) == 2
    assert order == ["#1 Fix the roof", "#2 Paint the door"]


async def test_a_delivery_whose_senders_keep_dying_is_given_up(
    settings: Settings, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    core = await create_core(settings.model_copy(update={"outbox_max_attempts": 3}), clock)
    await setup_coop(core)
    await say(core, "alice", "!propose Fix the roof closes:1h")
    clock.advance(timedelta(hours=1))
    await core.run_due_work()
    for _ in range(3):  # leased, then the sender dies before any outcome
        assert len(await core.pending_deliveries("console")) == 1
        clock.advance(AFTER_THE_LEASE)
    assert await core.pending_deliveries("console") == []
    assert await core.outbox_depth() == {"console": (0, 1)}
    assert "no outcome after 3 sends" in caplog.text
    await core.close()


async def test_only_a_coops_own_dead_letters_are_listed_and_retried(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    elsewhere = RoomRef("console", "elsewhere")
    await say(core, "erin", "!coop setup Hilltop Co-op", elsewhere)
    await say(core, "alice", "!propose Fix the roof closes:1h")
    await say(core, "erin", "!propose Plant trees closes:1h", elsewhere)
    clock.advance(timedelta(hours=1))
    await core.run_due_work()
    gone = Recorder(fail_with=PermanentSendError("room gone"))
    await core.deliver_pending("console", gone)
    await core.deliver_pending("console", gone)
    assert await core.outbox_depth() == {"console": (0, 2)}

    assert "Undelivered messages of Hilltop Co-op: 1" in await say(
        core, "erin", "!coop outbox", elsewhere
    )
    assert "1 undelivered message queued" in await say(
        core, "erin", "!coop outbox retry", elsewhere
    )
    assert await core.outbox_depth() == {"console": (1, 1)}
    assert "Undelivered messages of Riverside Co-op: 1" in await say(core, "alice", "!coop outbox")


async def test_an_answer_stored_with_its_change_keeps_what_it_needs_to_be_sent_late(
    core: Core,
) -> None:
    await setup_coop(core)
    code_request = invocation("alice", "!coop code", message_id="evt-code")
    (answer,) = await core.answer(code_request)
    assert answer.delivery is not None
    async with core.sessions() as session:
        stored = await session.scalar(select(OutboxMessage).order_by(OutboxMessage.id.desc()))
        row = await session.get(OutboxDelivery, answer.delivery.delivery_id)
    assert stored is not None and row is not None
    # The whole reply, privacy included: sent late, it still goes to alice alone.
    assert stored.document["ephemeral"] is True
    assert (row.platform, row.room_id, row.recipient, row.reply_to) == (
        "console",
        "local",
        "alice",
        "evt-code",
    )
    assert await core.deliver(answer.delivery, Recorder())
    async with core.sessions() as session:
        assert await session.get(OutboxDelivery, answer.delivery.delivery_id) is None
