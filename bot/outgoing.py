"""What the core hands an adapter to send: answers, outbox deliveries, and the send
contract (re-exported by bot.ports, the adapter contract)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.intents import Intent, intent_for
from bot.invocation import RoomRef
from bot.render.document import Reply


@dataclass(frozen=True)
class Delivery:
    """One outbox message to be sent to one room: an announcement for a bound room, or the
    answer to a command that changed state (`reply_to` is then the command's message, and
    a private answer goes only to `recipient`, the actor's user id on the platform).

    `key` is the same for every send of this delivery: the Discord nonce and the Matrix
    transaction id are derived from it, so the platform recognises a resend."""

    delivery_id: int
    room: RoomRef
    reply: Reply
    key: str = ""
    recipient: str | None = None
    reply_to: str | None = None
    given_intent: Intent | None = None  # as stored; else the one its reply implies

    @property
    def intent(self) -> Intent:
        """What the core means by this message (bot.intents): how an adapter sends it."""
        return self.given_intent if self.given_intent is not None else intent_for(self.reply)


@dataclass(frozen=True)
class Answer:
    """One reply to a command. `delivery` is set when the command changed state: the reply
    is stored with the change, and the adapter sends it through `CoreAPI.deliver`.
    `binding_changed`: the command set up or bound its room, or changed what the room's
    roles may do (`coop setup`, `coop bind`, `coop sync`); a platform that syncs the
    registry from its roles syncs now."""

    reply: Reply
    delivery: Delivery | None = None
    given_intent: Intent | None = None
    binding_changed: bool = False

    @property
    def intent(self) -> Intent:
        """What the core means by this reply (bot.intents): how an adapter shows it."""
        if self.given_intent is not None:
            return self.given_intent
        if self.delivery is not None:
            return self.delivery.intent
        return intent_for(self.reply)


class PermanentSendError(Exception):
    """A send that can never succeed as it is (the room is gone, the bot may not post
    there): the delivery becomes a dead letter at once instead of being retried."""


# Sends one delivery; returns the platform's id of the message posted (if any).
Send = Callable[[Delivery], Awaitable[str | None]]
