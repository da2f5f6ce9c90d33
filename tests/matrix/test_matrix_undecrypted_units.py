"""Undecrypted: held events come back in each member's order once readable, and what is
held stays bounded in count, per member and in age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nio import Event, MegolmEvent

from adapters.matrix.undecrypted import Undecrypted

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
ROOM = "!room:hs"


def unreadable(event_id: str, sender: str = "@alice:hs", session: str = "s1") -> MegolmEvent:
    event = MegolmEvent.from_dict(
        {
            "type": "m.room.encrypted",
            "event_id": event_id,
            "sender": sender,
            "origin_server_ts": 0,
            "content": {
                "algorithm": "m.megolm.v1.aes-sha2",
                "ciphertext": f"text of {event_id}",
                "sender_key": "curve-key",
                "session_id": session,
                "device_id": "DEVICE",
            },
        }
    )
    assert isinstance(event, MegolmEvent)
    event.room_id = ROOM
    return event


def text(event_id: str, body: str, sender: str = "@alice:hs") -> Any:
    return Event.parse_event(
        {
            "type": "m.room.message",
            "event_id": event_id,
            "sender": sender,
            "origin_server_ts": 0,
            "content": {"msgtype": "m.text", "body": body},
        }
    )


class Keys:
    """The room keys the bot holds: an event of a session it has decrypts to its text."""

    def __init__(self) -> None:
        self.sessions: set[str] = set()

    def readable(self, event: MegolmEvent) -> Event | None:
        if event.session_id not in self.sessions:
            return None
        return text(event.event_id, str(event.ciphertext), event.sender)


def ids(released: list[tuple[str, Any]]) -> list[str]:
    return [event.event_id for _, event in released]


def handle(held: Undecrypted, released: list[tuple[str, Any]]) -> list[str]:
    """The ids released, each then handled."""
    for event_id in ids(released):
        held.handled(event_id)
    return ids(released)


def test_a_members_later_events_wait_behind_their_unreadable_one() -> None:
    held, keys = Undecrypted(), Keys()
    assert held.admit(ROOM, unreadable("$1"), T0)
    assert held.admit(ROOM, text("$2", "!vote 1 yes"), T0)
    assert not held.admit(ROOM, text("$3", "!help", sender="@bob:hs"), T0)
    assert not held.admit("!other:hs", text("$4", "!help"), T0)
    assert held.release(keys.readable, T0) == []
    assert [event.session_id for event in held.to_ask_for()] == ["s1"]
    assert held.to_ask_for() == []  # asked for once

    keys.sessions.add("s1")
    released = held.release(keys.readable, T0 + timedelta(seconds=5))
    assert handle(held, released) == ["$1", "$2"]
    assert released[0][1].body == "text of $1"
    assert len(held) == 0
    assert not held.admit(ROOM, text("$5", "!help"), T0)  # nothing to wait behind now


def test_an_event_held_twice_is_held_once() -> None:
    held, keys = Undecrypted(), Keys()
    held.admit(ROOM, unreadable("$1"), T0)
    held.admit(ROOM, unreadable("$1"), T0)
    keys.sessions.add("s1")
    assert ids(held.release(keys.readable, T0)) == ["$1"]


def test_a_key_that_never_comes_is_given_up_after_max_age() -> None:
    held, keys = Undecrypted(max_age=timedelta(minutes=10)), Keys()
    held.admit(ROOM, unreadable("$1"), T0)
    held.admit(ROOM, text("$2", "!help"), T0 + timedelta(minutes=1))
    assert held.release(keys.readable, T0 + timedelta(minutes=9, seconds=59)) == []
    # Given up, the unreadable one is dropped; the later one is handled after all.
    assert handle(held, held.release(keys.readable, T0 + timedelta(minutes=10))) == ["$2"]
    assert len(held) == 0


def test_one_member_cannot_hold_more_than_their_share() -> None:
    held, keys = Undecrypted(max_per_member=3), Keys()
    for n in range(10):
        assert held.admit(ROOM, unreadable(f"${n}"), T0)
    assert held.admit(ROOM, unreadable("$b", sender="@bob:hs"), T0)
    assert len(held) == 4
    keys.sessions.add("s1")
    assert ids(held.release(keys.readable, T0)) == ["$0", "$1", "$2", "$b"]


def test_what_is_held_in_all_is_bounded_oldest_given_up_first() -> None:
    held, keys = Undecrypted(max_held=5, max_per_member=100), Keys()
    for n in range(50):
        held.admit(ROOM, unreadable(f"${n}", sender=f"@m{n}:hs"), T0 + timedelta(seconds=n))
    assert len(held) == 5
    keys.sessions.add("s1")
    assert ids(held.release(keys.readable, T0 + timedelta(minutes=1))) == [
        f"${n}" for n in range(45, 50)
    ]


def test_what_is_held_is_restored_in_order_after_a_restart() -> None:
    before, keys = Undecrypted(), Keys()
    before.admit(ROOM, unreadable("$1"), T0)
    follower = text("$2", "!vote 1 yes")
    follower.decrypted = True
    before.admit(ROOM, follower, T0)
    records = before.records()

    after = Undecrypted()
    after.restore(records)
    after.restore([{"room_id": ROOM}, {"nonsense": 1}])  # damaged records are skipped
    assert after.to_ask_for() == []
    assert after.records() == records
    keys.sessions.add("s1")
    released = after.release(keys.readable, T0)
    assert ids(released) == ["$1", "$2"]
    assert released[1][1].body == "!vote 1 yes"


def test_a_released_event_is_kept_until_handled() -> None:
    held, keys = Undecrypted(), Keys()
    held.admit(ROOM, unreadable("$1"), T0)
    held.admit(ROOM, text("$2", "!vote 1 yes"), T0)
    keys.sessions.add("s1")
    assert ids(held.release(keys.readable, T0)) == ["$1", "$2"]
    held.handled("$1")
    records = held.records()
    assert [record["source"]["event_id"] for record in records] == ["$2"]

    # A crash before "$2" was handled: the next start handles it (the core dedupes).
    after = Undecrypted()
    after.restore(records)
    assert ids(after.release(keys.readable, T0)) == ["$2"]
    held.handled("$2")
    assert held.records() == [] and len(held) == 0
