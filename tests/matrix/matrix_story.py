"""Story helpers for Matrix tests: a co-op room with members, commands, what is stored."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from bot.app import Core
from bot.db.models import Decision, HandledMessage, Identity, Vote
from bot.services import ballots
from tests.matrix.matrix_people import Person, Predicate, body_contains, of_type, reply_to

POLL_START = "org.matrix.msc3381.poll.start"
POLL_END = "org.matrix.msc3381.poll.end"


def pill(person: Person, name: str) -> str:
    return f'<a href="https://matrix.to/#/{html.escape(person.user_id)}">{html.escape(name)}</a>'


async def command(
    person: Person, room: str, bot_id: str, text: str, html_text: str | None = None
) -> dict[str, Any]:
    """`person` types `text` in `room`; returns the bot's reply to it as the member sees it."""
    event_id = await person.say(room, text, html_text)
    return await person.wait_for(room, reply_to(event_id, sender=bot_id))


async def sentinel(person: Person, room: str, bot_id: str, text: str = "!help") -> None:
    """`person` sends one more command and waits for its answer. The bot reads a room's
    events in order and answers each before it reads the next, so once this answer is in,
    so is every answer to an earlier message: one that has not arrived never will. (Outbox
    announcements are drained in order too: to wait for those, wait for a later one.)"""
    await command(person, room, bot_id, text)


def poll_of(bot_id: str, number: int) -> Predicate:
    """Matches the bot's native poll for decision #`number`."""

    def check(event: dict[str, Any]) -> bool:
        content = event.get("content", {})
        question = content.get(POLL_START, {}).get("question", {}).get("body", "")
        return (
            event.get("type") == POLL_START
            and event.get("sender") == bot_id
            and question.startswith(f"#{number} ")
        )

    return check


async def matching(person: Person, room: str, predicate: Predicate) -> list[dict[str, Any]]:
    """The events of the room's whole history (from the homeserver) matching `predicate`."""
    return [event for event in await person.history(room) if predicate(event)]


def body(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("body", ""))


def formatted(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("formatted_body", ""))


@dataclass
class CoopRoom:
    """A room bound to a co-op: `steward` set it up, `members` were added with pills."""

    room_id: str
    bot_id: str
    steward: Person
    members: list[Person]

    async def run(self, person: Person, text: str, html_text: str | None = None) -> dict[str, Any]:
        return await command(person, self.room_id, self.bot_id, text, html_text)

    async def poll_for(self, person: Person, number: int) -> dict[str, Any]:
        return await person.wait_for(self.room_id, poll_of(self.bot_id, number))

    async def poll_end(self, person: Person, poll_id: str) -> dict[str, Any]:
        def ends(event: dict[str, Any]) -> bool:
            relates = event.get("content", {}).get("m.relates_to", {})
            return bool(
                of_type(POLL_END, self.bot_id)(event) and relates.get("event_id") == poll_id
            )

        return await person.wait_for(self.room_id, ends)


async def private_answer(person: Person, bot_id: str, text: str) -> tuple[str, dict[str, Any]]:
    """(room id, event) of the bot's private message to `person` that contains `text`: the
    person accepts the bot's invitation to a direct message first, as a client would."""
    room = await person.invited_by(bot_id)
    if room not in person.seen:
        await person.join(room)
    return room, await person.wait_for(room, body_contains(text, bot_id))


async def joined(person: Person, room: str, user_id: str, within: float = 20.0) -> None:
    def is_join(event: dict[str, Any]) -> bool:
        return (
            event.get("type") == "m.room.member"
            and event.get("state_key") == user_id
            and event.get("content", {}).get("membership") == "join"
        )

    await person.wait_for(room, is_join, within=within)


async def coop_room(
    steward: Person,
    members: list[Person],
    bot_id: str,
    encrypted: bool = False,
    guests: tuple[Person, ...] = (),
) -> CoopRoom:
    """The steward creates a room, everyone joins, the bot is invited and joins by itself,
    the steward sets up the co-op and adds each member with a mention pill. `guests` are in
    the room but not in the co-op."""
    invited = [m.user_id for m in (*members, *guests)] + [bot_id]
    room = await steward.create_room("Riverside", invite=invited, encrypted=encrypted)
    for member in (*members, *guests):
        await member.join(room)
    await joined(steward, room, bot_id)
    coop = CoopRoom(room, bot_id, steward, members)
    setup = await coop.run(steward, "!coop setup Riverside")
    assert "Co-op Riverside set up" in body(setup), body(setup)
    for index, member in enumerate(members):
        name = f"M{index}"
        added = await coop.run(steward, f"!member add {name}", f"!member add {pill(member, name)}")
        assert "joined Riverside" in body(added), body(added)
    for member in members:
        await member.sync()
    return coop


async def stored_votes(core: Core, number: int) -> dict[str, str]:
    """{matrix user id: current choice} for decision `number`, as the database holds it."""
    async with core.sessions() as session:
        rows = await session.execute(
            select(Identity.identity, Decision, Vote.choice, Vote.ballot)
            .join(Vote, Vote.member_id == Identity.member_id)
            .join(Decision, Decision.id == Vote.decision_id)
            .where(Decision.number == number, Identity.identity.like("matrix:%"))
        )
        return {
            identity.removeprefix("matrix:"): ballots.read(decision, choice, ballot).letters()
            for identity, decision, choice, ballot in rows.tuples().all()
        }


async def stored_decision(core: Core, number: int) -> Decision:
    async with core.sessions() as session:
        found = await session.scalar(select(Decision).where(Decision.number == number))
        assert found is not None
        return found


async def handled_count(core: Core, event_id: str) -> int:
    async with core.sessions() as session:
        rows = await session.scalars(
            select(HandledMessage.message_id).where(HandledMessage.message_id == event_id)
        )
        return len(rows.all())
