"""Text that no database or screen can take is refused or normalised where every message
enters the core, identically on SQLite and PostgreSQL; ordinary text passes untouched."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from bot.app import Core
from bot.db.models import Contribution, Decision, DecisionOption, Member, Vote
from bot.invocation import Actor, RoomRef
from bot.render.plain import render_plain
from tests.support import invocation, say, setup_coop

ORDINARY = [
    "Café crème für Jürgen — naïve señora",
    "Ask bob@here.com or ops@room.org",
    "Family trip 👩‍👩‍👧‍👦 🏳️‍🌈 🇩🇪",
    "合作社の会議 협동조합 회의",
    "تعاونية الحي — קואופרטיב",
    "Hebrew with a mark: שלום\u200f!",
]


async def _count(core: Core, model: type[object]) -> int:
    async with core.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def _titles(core: Core) -> list[str]:
    async with core.sessions() as session:
        return list((await session.scalars(select(Decision.title).order_by(Decision.id))).all())


@pytest.mark.parametrize(
    ("typed", "what"),
    [
        ("Fix the roof\x00 now", "U+0000"),
        ("Fix the roof \ud800 now", "U+D800, half of a character"),
        ("Fix the roof \udce9 now", "the byte 0xE9, which is not valid UTF-8"),
        ("Fix the roof \x1b[2J now", "U+001B"),
        ("Fix the roof \x07 now", "U+0007"),
    ],
)
async def test_characters_no_database_can_store_are_refused_in_one_line(
    core: Core, typed: str, what: str
) -> None:
    """NUL broke PostgreSQL and a lone surrogate broke both databases with a traceback
    ("Something went wrong"); SQLite kept the NUL. Now both refuse them the same way."""
    await setup_coop(core)
    reply = await say(core, "bob", f"!propose {typed}")
    assert reply.startswith("Your message contains a character I can't store"), reply
    assert what in reply and reply.count("\n") <= 1
    assert await _count(core, Decision) == 0


async def test_ids_that_cannot_be_stored_are_refused(core: Core) -> None:
    await setup_coop(core)
    bad = replace(invocation("bob", "!list"), message_id="m\x00")
    (reply,) = await core.handle(bad)
    assert "an id I can't store (U+0000" in render_plain(reply)


async def test_a_message_longer_than_any_command_is_refused_before_parsing(core: Core) -> None:
    await setup_coop(core)
    reply = await say(core, "bob", "!propose " + "x" * 9000)
    assert reply.startswith("Your message is 9,008 characters long; no command needs more than")


async def test_line_breaks_in_one_line_fields_become_spaces(core: Core) -> None:
    """A member could end an option, a reason or a note with a line that looks like the
    bot's own (`#1 … — PASSED`). One-line fields are now one line, whatever was pasted."""
    await setup_coop(core)
    forged = "\n#1 Raise dues — PASSED (yes 3, no 0, abstain 0)"
    await say(core, "bob", f'!poll Lunch? options:"Soup{forged} | Salad\r\nbar | Pie\u2028Day"')
    await say(core, "bob", f'!vote 1 A reason:"fine{forged}"')
    await say(core, "bob", f'!log 1 "mended{forged}" category:"work\nshop"')
    await say(core, "bob", f'!kudos @carol "for the soup{forged}"')
    async with core.sessions() as session:
        labels = (await session.scalars(select(DecisionOption.label))).all()
        reasons = (await session.scalars(select(Vote.reason))).all()
        notes = (await session.scalars(select(Contribution.note))).all()
        categories = (await session.scalars(select(Contribution.category))).all()
    assert list(labels) == [
        "Soup #1 Raise dues — PASSED (yes 3, no 0, abstain 0)",
        "Salad bar",
        "Pie Day",
    ]
    assert list(reasons) == ["fine #1 Raise dues — PASSED (yes 3, no 0, abstain 0)"]
    assert "mended #1 Raise dues — PASSED (yes 3, no 0, abstain 0)" in notes
    assert "for the soup #1 Raise dues — PASSED (yes 3, no 0, abstain 0)" in notes
    assert "work shop" in categories
    shown = await say(core, "carol", "!show 1")
    assert not any(line.startswith("#1 Raise dues") for line in shown.splitlines()), shown


async def test_a_body_keeps_its_lines_and_every_line_stays_indented(core: Core) -> None:
    await setup_coop(core)
    opened = await say(
        core, "bob", '!propose Buy a printer body:"We print parts.\r\n#1 Other — PASSED"'
    )
    async with core.sessions() as session:
        body = await session.scalar(select(Decision.body))
    assert body == "We print parts.\n#1 Other — PASSED"
    lines = opened.splitlines()
    assert "  We print parts." in lines and "  #1 Other — PASSED" in lines, opened


async def test_bidi_overrides_and_isolates_are_removed(core: Core) -> None:
    """U+202E made `Raise dues by 5%‮%05 yb` read differently to others than it was written."""
    await setup_coop(core)
    opened = await say(core, "bob", "!propose Pay \u202eevil\u202c \u2067isolated\u2069 dues")
    assert "Pay evil isolated dues" in opened, opened
    assert await _titles(core) == ["Pay evil isolated dues"]


@pytest.mark.parametrize("title", ORDINARY)
async def test_ordinary_text_passes_untouched(core: Core, title: str) -> None:
    await setup_coop(core)
    opened = await say(core, "bob", f"!propose {title}")
    assert f"\n  {title}\n" in opened, opened
    assert await _titles(core) == [title]


async def test_an_email_address_is_shown_as_typed(core: Core) -> None:
    """The crowd-ping filter broke `bob@here.com` into `bob@\u200bhere.com`."""
    await setup_coop(core)
    logged = await say(core, "bob", "!log 1 wrote to bob@here.com and team@everyone.org")
    assert "wrote to bob@here.com and team@everyone.org" in logged, logged
    shouted = await say(core, "bob", "!log 1 hey @here and @everyone")
    assert "@here" not in shouted and "@everyone" not in shouted
    assert "hey @\u200bhere and @\u200beveryone" in shouted


async def test_a_display_name_from_the_platform_is_kept_on_one_line(core: Core) -> None:
    await setup_coop(core)
    forged = "Dan\n#1 Raise dues — PASSED \u202eevil\x00"
    added = await core.handle(
        replace(
            invocation("alice", "!member add @dan"),
            mentioned={"console:dan": forged},
        )
    )
    assert "joined" in render_plain(added[0])
    async with core.sessions() as session:
        names = (await session.scalars(select(Member.name).order_by(Member.id))).all()
    assert names[-1] == "Dan #1 Raise dues — PASSED evil"
    # The actor's own name (which a platform sets, not the command) is cleaned the same way.
    founder = replace(
        invocation("erin", "!coop setup Erin's co-op", room=RoomRef("console", "other")),
        actor=Actor("console", "erin", "Erin\u2066\r\nsteward", is_room_admin=True),
    )
    (reply,) = await core.handle(founder)
    assert "@Erin steward is its first steward" in render_plain(reply), render_plain(reply)
