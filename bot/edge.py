"""The core's entry for text from outside: every Invocation passes here before it is parsed,
so what reaches storage and screens is the same on every platform and every database."""

from __future__ import annotations

from dataclasses import replace

from bot.domain.limits import MESSAGE_MAX
from bot.domain.text import clean_message, clean_name, unstorable
from bot.errors import UserError
from bot.invocation import Invocation


def checked(inv: Invocation) -> Invocation:
    """`inv` with its text and names made safe (see bot.domain.text), or a UserError when it
    holds what no database can store: NUL, other control characters, lone surrogates."""
    if len(inv.text) > MESSAGE_MAX:
        raise UserError(
            f"Your message is {len(inv.text):,} characters long; no command needs more than "
            f"{MESSAGE_MAX:,}",
            "shorten it: a title takes 200 characters, a body 4,000",
        )
    ids = (inv.room.platform, inv.room.room_id, inv.message_id, inv.actor.user_id, *inv.mentioned)
    for value in ids:
        bad = unstorable(value)
        if bad is not None:
            raise UserError(f"This message comes with an id I can't store ({bad})")
    return replace(
        inv,
        text=clean_message(inv.text),
        actor=replace(
            inv.actor, display_name=clean_name(inv.actor.display_name) or inv.actor.user_id
        ),
        mentioned={key: clean_name(name) for key, name in inv.mentioned.items()},
    )
