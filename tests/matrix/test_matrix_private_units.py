"""The pure part of private replies on Matrix: which room only the bot and one person can
read, who a reply is for, and the replies held until a new room reaches the bot."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.matrix.private import HeldReplies, HeldReply, private_room, recipient
from bot.invocation import IdentityRef
from bot.render.document import Reply

BOT = "@coopbot:coop.test"
BOB = "@bob:coop.test"


@dataclass
class Room:
    users: dict[str, Any] = field(default_factory=dict)
    join_rule: str = "invite"
    encrypted: bool = True


def readers(*user_ids: str) -> dict[str, Any]:
    return dict.fromkeys(user_ids)


def test_only_an_invite_only_room_of_the_two_is_private() -> None:
    rooms = {
        "!crowd": Room(readers(BOT, BOB, "@eve:coop.test")),
        "!public": Room(readers(BOT, BOB), join_rule="public"),
        "!knock": Room(readers(BOT, BOB), join_rule="knock"),
        "!left": Room(readers(BOT)),
        "!plain": Room(readers(BOT, BOB), encrypted=False),
        "!ours": Room(readers(BOT, BOB)),
    }
    order = ["!gone", "!crowd", "!public", "!knock", "!left", "!plain", "!ours"]
    assert private_room(order, rooms, BOT, BOB, need_encryption=True) == "!ours"
    assert private_room(order, rooms, BOT, BOB, need_encryption=False) == "!plain"
    assert private_room(order[:5], rooms, BOT, BOB, need_encryption=False) is None


def test_a_private_reply_is_for_a_matrix_user_only() -> None:
    assert recipient(IdentityRef.parse("matrix:@bob:coop.test")) == BOB
    assert recipient(IdentityRef("discord", "1234")) is None
    assert recipient(IdentityRef("matrix", "bob")) is None
    assert recipient(None) is None


def test_held_replies_leave_when_their_room_arrives_or_when_too_old() -> None:
    held = HeldReplies(opening={BOB: "!new"})
    held.hold(HeldReply("!new", Reply(), "t1", held_at=100.0))
    held.hold(HeldReply("!other", Reply(), "t2", held_at=100.0))
    assert held.ready({"!elsewhere": object()}) == []
    assert held.opening == {BOB: "!new"}
    assert [item.txn for item in held.ready({"!new": object()})] == ["t1"]
    assert held.opening == {}
    assert held.expire(now=100.0 + 901, max_age=900) == [HeldReply("!other", Reply(), "t2", 100.0)]
    assert held.held == []
