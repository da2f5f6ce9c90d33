"""The Matrix driver: members at real matrix-nio clients in a room on a real Synapse."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import func, select

from bot.app import Core
from bot.db.models import OutboxDelivery
from tests.matrix.conftest import BotFactory, PersonFactory, RunningBot
from tests.matrix.matrix_people import Person, Predicate, reaction_to, reply_to
from tests.matrix.matrix_story import (
    POLL_END,
    POLL_START,
    CoopRoom,
    coop_room,
    joined,
    pill,
    poll_of,
)

PREFIX = "!"
REPLACE = "m.replace"
THREAD = "m.thread"


def answered(event_id: str, bot_id: str) -> Predicate:
    """The bot's answer to `event_id`: a reply, or the ✅ it reacts to a poll answer with."""
    replied, reacted = reply_to(event_id, bot_id), reaction_to(event_id, bot_id)
    return lambda event: replied(event) or reacted(event)


def _relation(event: dict[str, Any]) -> dict[str, Any]:
    relates = event.get("content", {}).get("m.relates_to", {})
    return relates if isinstance(relates, dict) else {}


def thread_root(event: dict[str, Any]) -> str | None:
    """The root of the thread `event` is in (m.thread), if any."""
    relation = _relation(event)
    return str(relation.get("event_id")) if relation.get("rel_type") == THREAD else None


def latest_messages(events: list[dict[str, Any]], sender: str) -> list[dict[str, Any]]:
    """`sender`'s messages as a client shows them: an edit (m.replace) changes the message
    it edits instead of being a message of its own."""
    messages: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.get("type") != "m.room.message" or event.get("sender") != sender:
            continue
        relation = _relation(event)
        if relation.get("rel_type") == REPLACE:
            original = messages.get(str(relation.get("event_id")))
            if original is not None:
                original["content"] = event["content"].get("m.new_content", event["content"])
            continue
        messages[event["event_id"]] = {**event, "content": dict(event.get("content", {}))}
    return list(messages.values())


def text(event: dict[str, Any]) -> str:
    return str(event.get("content", {}).get("body", ""))


class MatrixDriver:
    platform = "matrix"
    patience = 30.0
    edits_cards = True  # an event can be replaced (m.replace)
    direct_messages = True
    threads = True  # an m.thread rooted at the card

    def __init__(self, core: Core, people: PersonFactory, matrix_bot: BotFactory) -> None:
        self.core = core
        self._people = people
        self._matrix_bot = matrix_bot
        self.people: dict[str, Person] = {}
        self.bot: RunningBot | None = None
        self.coop: CoopRoom | None = None
        self._direct: dict[str, str] = {}  # name → the DM room they opened with the bot

    @property
    def room(self) -> CoopRoom:
        assert self.coop is not None, "setup() first"
        return self.coop

    @property
    def bot_id(self) -> str:
        assert self.bot is not None
        return self.bot.user_id

    @property
    def observer(self) -> Person:
        return self.room.steward

    async def setup(self, steward: str, *members: str) -> None:
        await self._meet(steward, *members)
        others = [self.people[m] for m in members]
        self.coop = await coop_room(self.people[steward], others, self.bot_id)

    async def _meet(self, *names: str) -> None:
        # Accounts are made side by side: the homeserver serves them at once.
        new = [name for name in names if name not in self.people]
        made = await asyncio.gather(*(self._people(name, e2e=True) for name in new))
        self.people.update(zip(new, made, strict=True))
        if self.bot is None:
            self.bot = await self._matrix_bot(self.core)

    async def open_room(self, steward: str, *members: str) -> None:
        """A room `steward` made, with `members` and the bot in it, not yet bound to a
        co-op (to bind it to one made elsewhere: `send(steward, "coop bind CODE")`)."""
        await self._meet(steward, *members)
        lead, others = self.people[steward], [self.people[m] for m in members]
        room = await lead.create_room(
            "Riverside", invite=[p.user_id for p in others] + [self.bot_id]
        )
        for person in others:
            await person.join(room)
        await joined(lead, room, self.bot_id)
        self.coop = CoopRoom(room, self.bot_id, lead, others)

    async def _say(self, member: str, room: str, text: str) -> None:
        # `@bob` becomes a mention pill, as a client writes a mention.
        html = text
        for name, person in self.people.items():
            html = re.sub(rf"@{name}(?![\w:-])", pill(person, name), html)
        person = self.people[member]
        event_id = await person.say(room, PREFIX + text, PREFIX + html if html != text else None)
        await person.wait_for(room, answered(event_id, self.bot_id))

    async def send(self, member: str, text: str) -> None:
        await self._say(member, self.room.room_id, text)

    async def _card_event(self, number: int) -> dict[str, Any]:
        """The notice decision #number opened with in the room: its live card."""
        cards = [e for e in await self._timeline() if re.search(rf"#{number}\b", text(e))]
        assert cards, f"no card for #{number}"
        return cards[0]

    async def send_in_thread(self, member: str, number: int, text: str) -> None:
        # As a client with threads sends it: in the thread, falling back to a reply to
        # the root for clients without threads.
        root = (await self._card_event(number))["event_id"]
        content = {
            "msgtype": "m.text",
            "body": PREFIX + text,
            "m.relates_to": {
                "rel_type": THREAD,
                "event_id": root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": root},
            },
        }
        person = self.people[member]
        event_id = await person.send(self.room.room_id, "m.room.message", content)
        await person.wait_for(self.room.room_id, answered(event_id, self.bot_id))

    async def thread_messages(self, number: int, reader: str | None = None) -> list[str]:
        # Matrix shows nobody a message alone in a room: `reader` sees what all do.
        root = (await self._card_event(number))["event_id"]
        return [text(e) for e in await self._messages(in_thread=root)]

    async def thread_count(self) -> int:
        roots = {thread_root(e) for e in await self._room_events()}
        return len(roots - {None})

    async def _poll(self, number: int) -> dict[str, Any]:
        return await self.observer.wait_for(self.room.room_id, poll_of(self.bot_id, number))

    async def press(self, member: str, number: int, choice: str) -> None:
        poll = await self._poll(number)
        answers = poll["content"][POLL_START]["answers"]
        ids = [a["id"] for a in answers if choice in (a["id"], a.get("org.matrix.msc1767.text"))]
        assert ids, f"no answer {choice!r} in {answers}"
        person = self.people[member]
        click = await person.answer_poll(self.room.room_id, poll["event_id"], ids[:1])
        await person.wait_for(self.room.room_id, answered(click, self.bot_id))

    async def vote_privately(self, member: str, number: int, choice: str) -> None:
        person = self.people[member]
        if member not in self._direct:
            room = await person.create_room("", invite=[self.bot_id], direct=True)
            await joined(person, room, self.bot_id)
            self._direct[member] = room
        await self._say(member, self._direct[member], f"vote {number} {choice}")

    async def _room_events(self) -> list[dict[str, Any]]:
        return await self.observer.history(self.room.room_id)

    async def _messages(self, in_thread: str | None) -> list[dict[str, Any]]:
        """The bot's messages in the thread rooted at `in_thread`, or (None) in the room's
        main timeline; where a message is is read from it as sent (an edit's new content
        carries no thread)."""
        events = await self._room_events()
        where = {e["event_id"]: thread_root(e) for e in events}
        messages = latest_messages(events, self.bot_id)
        return [e for e in messages if where.get(e["event_id"]) == in_thread]

    async def _timeline(self) -> list[dict[str, Any]]:
        """The bot's messages in the room's main timeline (a thread's are in the thread)."""
        return await self._messages(in_thread=None)

    async def room_messages(self) -> list[str]:
        return [text(e) for e in await self._timeline()]

    async def private_messages(self, member: str) -> list[str]:
        person = self.people[member]
        await person.sync(timeout_ms=500)  # whatever the bot sent meanwhile
        rooms = {room for room, inviter in person.invites.items() if inviter == self.bot_id}
        for room in rooms - set(person.seen):
            await person.join(room)  # a client accepts the bot's direct message
        rooms.update(self._direct.get(member, "").split())
        # What this person's client decrypted (the bot encrypts direct messages).
        return [
            text(e)
            for room in sorted(rooms)
            for e in latest_messages(person.seen.get(room, []), self.bot_id)
        ]

    async def card(self, number: int) -> str:
        return text(await self._card_event(number))  # the one the decision opened with

    async def controls(self, number: int) -> list[str]:
        poll = await self._poll(number)
        ended = [
            e
            for e in await self._room_events()
            if e.get("type") == POLL_END and _relation(e).get("event_id") == poll["event_id"]
        ]
        if ended:
            return []
        return [a["id"] for a in poll["content"][POLL_START]["answers"]]

    def mention(self, member: str) -> str:
        return f"@{member}"  # sent as a pill, as a client writes a mention

    async def notified(self, since: int = 0) -> set[str]:
        names = {person.user_id: name for name, person in self.people.items()}
        found: set[str] = set()
        for event in (await self._timeline())[since:]:
            content = event["content"]
            mentions = content.get("m.mentions")
            if mentions is None:
                # No intentional mentions: the legacy push rules read the body.
                body = text(event)
                found.update({"room"} if "@room" in body else set())
                found.update(n for uid, n in names.items() if uid in body)
                continue
            if mentions.get("room"):
                found.add("room")
            found.update(names.get(uid, uid) for uid in mentions.get("user_ids", []))
        return found

    async def _undelivered(self) -> int:
        async with self.core.sessions() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(OutboxDelivery)
                .where(
                    OutboxDelivery.platform == self.platform,
                    OutboxDelivery.delivered_at.is_(None),
                    OutboxDelivery.dead_at.is_(None),
                )
            )
        return int(count or 0)

    async def settle(self) -> None:
        # The adapter drains its outbox by itself: wait until nothing is left to send.
        deadline = asyncio.get_running_loop().time() + self.patience
        while await self._undelivered():
            assert asyncio.get_running_loop().time() < deadline, "the outbox did not drain"
            await self.observer.sync(timeout_ms=200)  # wait on the room's next events

    async def crash(self) -> None:
        bot = self.bot
        assert bot is not None and bot.task is not None
        bot.task.cancel()  # no stop(): nothing is drained, the client just goes
        await asyncio.gather(bot.task, return_exceptions=True)
        bot.adapter, bot.task = None, None

    async def restart(self, core: Core) -> None:
        assert self.bot is not None
        self.core = core
        self.bot.core = core
        await self.bot.start()
