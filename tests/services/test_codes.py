"""One-time codes: only the asker gets them, they carry 80 bits, expire, work once, are
stored as hashes, and every wrong code gets the same answer; guessing is slowed and audited."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select, text

from bot.app import Core, create_core
from bot.clock import ManualClock
from bot.config import Settings
from bot.db.models import AuditEvent, OneTimeCode
from bot.domain.codes import ALPHABET, ENTROPY_BITS, normalise
from bot.invocation import RoomRef
from bot.render.plain import render_plain
from tests.support import invocation, one_time_code, say, setup_coop

OTHER_ROOM = RoomRef("console", "other")
NEW_ROOM = RoomRef("matrix", "!new:example.org")
WRONG = "That code does not work: codes work once, for a short time, in the co-op that made them"


async def link_code(core: Core, who: str = "bob", room: RoomRef | None = None) -> str:
    return one_time_code(await say(core, who, "!member link", room or RoomRef("console", "local")))


async def test_a_code_is_a_private_reply_to_the_asker_only(core: Core) -> None:
    await setup_coop(core)
    for user, command in (("bob", "!member link"), ("alice", "!coop code")):
        (reply,) = await core.handle(invocation(user, command))
        assert reply.private_to == f"console:{user}" and reply.ephemeral
        assert "works once, for 15 minutes" in render_plain(reply)


async def test_codes_are_80_random_bits_typed_leniently(core: Core) -> None:
    await setup_coop(core)
    codes = {await link_code(core) for _ in range(20)}
    assert len(codes) == 20 and ENTROPY_BITS >= 64
    for code in codes:
        groups = code.split("-")
        assert [len(g) for g in groups] == [4, 4, 4, 4]
        assert all(c in ALPHABET for c in "".join(groups))
    assert normalise("7k3q m2xd-9tpa w4re") == "7K3QM2XD9TPAW4RE"
    assert normalise("OIL0-0000-0000-0000") == "0110000000000000"  # O, I, L read as 0, 1, 1
    assert normalise("7K3Q-M2XD-9TPA") is None and normalise("x" * 100) is None

    # Typed in lower case with spaces for dashes, a code still works.
    code = await link_code(core)
    typed = code.lower().replace("-", " ")
    linked = await say(core, "robert", f"!member link {typed}")
    assert "@bob linked console identity" in linked


async def test_the_database_holds_only_hashes_of_codes(core: Core) -> None:
    await setup_coop(core)
    code = await link_code(core)
    await say(core, "eve", "!member link 0000-0000-0000-0000")
    async with core.sessions() as session:
        stored = (await session.scalars(select(OneTimeCode.code_hash))).all()
        rows = []
        for table in ("one_time_codes", "audit_events", "code_attempts"):
            rows += [tuple(r) for r in (await session.execute(text(f"SELECT * FROM {table}")))]
    dump = json.dumps(rows, default=str)
    assert len(stored) == 1 and len(stored[0]) == 64
    for form in (code, code.replace("-", ""), "0000-0000-0000-0000", "0000000000000000"):
        assert form not in dump


async def test_every_wrong_code_gets_the_same_answer(core: Core, clock: ManualClock) -> None:
    await setup_coop(core)
    await say(core, "zed", "!coop setup Other Co-op", OTHER_ROOM)
    used = await link_code(core)
    assert "linked" in await say(core, "robert", f"!member link {used}")
    expired = await link_code(core)
    clock.advance(timedelta(minutes=15))
    others = await link_code(core, "zed", OTHER_ROOM)
    bind = one_time_code(await say(core, "alice", "!coop code"))
    link_for_bind = await link_code(core)

    answers = set()
    for person, attempt in (
        ("eve1", "7K3Q-M2XD-9TPA-W4RE"),  # unknown
        ("eve2", used),  # used
        ("eve3", expired),  # expired
        ("eve4", others),  # another co-op's
        ("eve5", bind),  # another kind
        ("eve6", "not a code at all"),
    ):
        answers.add(await say(core, person, f"!member link {attempt}"))
    answers.add(await say(core, "eve7", f"!coop bind {link_for_bind}", NEW_ROOM))
    assert {answer.split(" — ")[0] for answer in answers} == {WRONG}
    assert "`!member link`" in " ".join(answers) and "`!coop code`" in " ".join(answers)


async def test_a_code_lives_as_long_as_configured(settings: Settings, clock: ManualClock) -> None:
    core = await create_core(settings.model_copy(update={"code_minutes": 60}), clock)
    try:
        await setup_coop(core)
        code = await link_code(core)
        clock.advance(timedelta(minutes=59))
        assert "linked" in await say(core, "robert", f"!member link {code}")
        later = await link_code(core)
        assert "for 60 minutes" in await say(core, "bob", "!member link")
        clock.advance(timedelta(minutes=60))
        assert WRONG in await say(core, "roberta", f"!member link {later}")
    finally:
        await core.close()


async def test_wrong_codes_slow_one_person_down_with_growing_waits(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    for n in range(5):
        assert WRONG in await say(core, "eve", f"!member link 0000-0000-0000-000{n}")
    good = await link_code(core)
    blocked = await say(core, "eve", f"!member link {good}")
    assert blocked == (
        "Too many wrong codes were tried here; nothing was checked — try again in 1 minute"
    )
    clock.advance(timedelta(minutes=1))
    assert WRONG in await say(core, "eve", "!member link 0000-0000-0000-0009")
    assert "try again in 2 minutes" in await say(core, "eve", f"!member link {good}")
    # Someone else in the co-op is not held up by eve.
    assert "linked" in await say(core, "robert", f"!member link {good}")


async def test_many_people_guessing_in_one_coop_slow_the_coop_down(
    core: Core, clock: ManualClock
) -> None:
    await setup_coop(core)
    for n in range(20):
        await say(core, f"guest{n}", "!member link 0000-0000-0000-0000")
    good = await link_code(core)
    assert "Too many wrong codes" in await say(core, "robert", f"!member link {good}")
    # Another co-op is not affected, and the co-op's wait is short.
    await say(core, "zed", "!coop setup Other Co-op", OTHER_ROOM)
    theirs = await link_code(core, "zed", OTHER_ROOM)
    assert "linked" in await say(core, "zack", f"!member link {theirs}", OTHER_ROOM)
    clock.advance(timedelta(minutes=1))
    assert "linked" in await say(core, "robert", f"!member link {good}")


async def test_failed_redemptions_are_audited_without_the_code(core: Core) -> None:
    await setup_coop(core)
    await say(core, "eve", "!member link 7K3Q-M2XD-9TPA-W4RE")
    await say(core, "eve", "!member link 7K3Q-M2XD-9TPA-W4RE")
    async with core.sessions() as session:
        failed = (
            await session.scalars(
                select(AuditEvent).where(AuditEvent.action == "code.failed").order_by(AuditEvent.id)
            )
        ).all()
    assert [e.actor_identity for e in failed] == ["console:eve", "console:eve"]
    assert [e.detail["failures"] for e in failed] == [1, 2]
    assert failed[0].detail["attempt"] == failed[1].detail["attempt"]
    assert failed[0].detail["kind"] == "link" and "7K3Q" not in json.dumps(failed[0].detail)
    exported = await say(core, "alice", "!export audit period:all")
    assert "7K3Q" not in exported


async def test_a_removed_member_can_be_added_again_and_link_again(core: Core) -> None:
    await setup_coop(core)
    code = await link_code(core)
    assert "linked" in await say(core, "robert", f"!member link {code}")  # bob is also robert
    assert "no longer a member" in await say(core, "alice", "!member remove @bob")

    # Bob comes back (as bob), and links his other identity again.
    assert "@bob joined" in await say(core, "alice", "!member add @bob")
    again = await link_code(core)
    linked = await say(core, "robert", f"!member link {again}")
    assert "@bob linked console identity" in linked
    listing = await say(core, "robert", "!member list")
    assert "3 members" in listing

    # Re-added through the other identity first works the same way.
    assert "no longer a member" in await say(core, "alice", "!member remove @bob")
    assert "joined" in await say(core, "alice", "!member add @robert")
    back = await link_code(core, "robert")
    assert "linked" in await say(core, "bob", f"!member link {back}")
