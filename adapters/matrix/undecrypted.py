"""Members' events not yet readable: held, per member and room, until their room key arrives."""

from __future__ import annotations

import logging
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from nio import Event, MegolmEvent

log = logging.getLogger(__name__)

# Bounds, so that a hostile homeserver or member cannot grow what is held without limit.
MAX_HELD = 512  # in all: past it the oldest held event is given up
MAX_PER_MEMBER = 32  # one member's in one room: past it their newest events are not held
MAX_AGE = timedelta(minutes=10)  # a key that has not come by then is given up on

Readable = Callable[[MegolmEvent], Event | None]


@dataclass(frozen=True)
class Held:
    """An event of a member's, held: undecryptable, or behind one of theirs that is."""

    room_id: str
    event: Any
    since: datetime


class Undecrypted:
    """A member's message whose room key has not arrived yet (the key is sent to the bot's
    device apart from the message, and may come a sync later, or only once asked for) is
    held here, not dropped. The member's later events in that room wait behind it, so that
    their commands still run in the order sent. `release` hands back, oldest first, what
    can be read now; a held event whose key does not come within `max_age` is given up."""

    def __init__(
        self,
        *,
        max_held: int = MAX_HELD,
        max_per_member: int = MAX_PER_MEMBER,
        max_age: timedelta = MAX_AGE,
    ) -> None:
        self.max_held = max_held
        self.max_per_member = max_per_member
        self.max_age = max_age
        self._queues: OrderedDict[tuple[str, str], deque[Held]] = OrderedDict()
        self._ids: set[str] = set()
        # Released, not yet handled: still kept (on disk too) until `handled`, so that a
        # crash in between does not lose them (the core ignores one handled twice).
        self._handling: dict[str, Held] = {}
        self._asking: list[MegolmEvent] = []

    def __len__(self) -> int:
        return len(self._ids)

    def held(self) -> list[Held]:
        """Everything held: what is being handled, then queue by queue (each in the
        order its member sent it)."""
        queued = [held for queue in self._queues.values() for held in queue]
        return [*self._handling.values(), *queued]

    def admit(self, room_id: str, event: Any, now: datetime) -> bool:
        """Whether `event` is held (its caller does not handle it now): an undecryptable
        event is, and so is any later event of a member who has one held in the room."""
        key = (room_id, str(getattr(event, "sender", "")))
        queue = self._queues.get(key)
        if queue is None and not isinstance(event, MegolmEvent):
            return False
        event_id = str(getattr(event, "event_id", ""))
        if event_id in self._ids:
            return True  # held already (a sync or a backfill repeated it)
        if queue is not None and len(queue) >= self.max_per_member:
            log.warning("too many unreadable events from %s in %s; %s dropped", *key, event_id)
            return True
        self._hold(Held(room_id, event, now))
        if isinstance(event, MegolmEvent):
            log.warning(
                "could not decrypt %s from %s in %s yet (session %s); holding it for its key",
                event_id,
                key[1],
                room_id,
                event.session_id,
            )
            self._asking.append(event)
        while len(self._ids) > self.max_held and self._queues:
            self._give_up_oldest()
        return True

    def _hold(self, held: Held) -> None:
        key = (held.room_id, str(getattr(held.event, "sender", "")))
        self._queues.setdefault(key, deque()).append(held)
        self._ids.add(str(getattr(held.event, "event_id", "")))

    def handled(self, event_id: str) -> None:
        """A released event has been handled: it is no longer kept."""
        if self._handling.pop(event_id, None) is not None:
            self._ids.discard(event_id)

    def to_ask_for(self) -> list[MegolmEvent]:
        """The events admitted since the last call whose key may be asked for."""
        asking, self._asking = self._asking, []
        return asking

    def release(self, readable: Readable, now: datetime) -> list[tuple[str, Any]]:
        """(room id, event) for every held event that can be handled now, in each member's
        order: a decrypted one, the events behind it, and those behind one given up on."""
        released: list[tuple[str, Any]] = []
        for key, queue in list(self._queues.items()):
            while queue:
                head = queue[0]
                event = head.event
                if isinstance(event, MegolmEvent):
                    decrypted = readable(event)
                    if decrypted is None:
                        if now - head.since < self.max_age:
                            break
                        log.warning(
                            "the key of %s from %s in %s never came; giving it up",
                            event.event_id,
                            key[1],
                            key[0],
                        )
                        self._pop(queue)
                        continue
                    event = decrypted
                queue.popleft()
                self._handling[str(getattr(event, "event_id", ""))] = head
                released.append((head.room_id, event))
            if not queue:
                del self._queues[key]
        return released

    def records(self) -> list[dict[str, Any]]:
        """What is held, as JSON-ready records (kept on disk across a restart)."""
        return [
            {
                "room_id": held.room_id,
                "since": held.since.isoformat(),
                "decrypted": bool(getattr(held.event, "decrypted", False)),
                "source": held.event.source,
            }
            for held in self.held()
        ]

    def restore(self, records: list[dict[str, Any]]) -> None:
        """Hold again what `records` kept (after a restart), in the order kept."""
        for record in records:
            try:
                room_id = str(record["room_id"])
                since = datetime.fromisoformat(str(record["since"]))
                source = dict(record["source"])
            except (KeyError, TypeError, ValueError):
                continue
            event = _parse(source, decrypted=bool(record.get("decrypted")))
            if event is None:
                continue
            event.room_id = room_id
            if str(getattr(event, "event_id", "")) not in self._ids:
                self._hold(Held(room_id, event, since))

    def _pop(self, queue: deque[Held]) -> None:
        held = queue.popleft()
        self._ids.discard(str(getattr(held.event, "event_id", "")))

    def _give_up_oldest(self) -> None:
        key, queue = next(iter(self._queues.items()))
        log.warning("too many unreadable events held; giving up one from %s in %s", *key)
        # Only the unreadable head is given up: the events behind it are still handled.
        self._pop(queue)
        if not queue:
            del self._queues[key]


def _parse(source: dict[str, Any], *, decrypted: bool) -> Any:
    if source.get("type") == "m.room.encrypted" and not decrypted:
        event: Any = MegolmEvent.from_dict(source)
        return event if isinstance(event, MegolmEvent) else None
    if not decrypted:
        return Event.parse_event(source)
    event = Event.parse_decrypted_event(source)
    event.decrypted = True
    return event
