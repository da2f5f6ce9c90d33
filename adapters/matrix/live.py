"""Matrix live cards: the notice a decision opened with is edited in place (`m.replace`)
as votes arrive, at the pace bot.live.LiveCards allows; its final edit shows the result.
The native poll beside it stays the place to vote."""

from __future__ import annotations

import itertools
import re
from typing import Any

from nio import RoomGetEventResponse

from adapters.matrix.ballots import Ballots
from adapters.matrix.cards import cut_card, read_more_beside
from adapters.matrix.render import render_reply
from adapters.matrix.sending import Sender, txn
from adapters.matrix.threads import threads_kept
from bot.ports import CardUpdated, CoreAPI, DecisionRef
from bot.render.document import Reply

PLATFORM = "matrix"
REPLACE = "m.replace"


def edit_content(event_id: str, content: dict[str, Any]) -> dict[str, Any]:
    """An edit of `event_id` to `content` (clients show the new content in its place; the
    `* ` fallback body is for clients that do not know edits)."""
    new = {k: v for k, v in content.items() if k != "m.relates_to"}
    edit: dict[str, Any] = {
        "msgtype": new.get("msgtype", "m.notice"),
        "body": f"* {new.get('body', '')}",
        "m.new_content": new,
        "m.relates_to": {"rel_type": REPLACE, "event_id": event_id},
    }
    if "formatted_body" in new:
        edit["format"] = new.get("format", "org.matrix.custom.html")
        edit["formatted_body"] = f"* {new['formatted_body']}"
    # An edit notifies nobody again (the card named its members without notifying).
    edit["m.mentions"] = {}
    return edit


# "closes Mon 1 Dec 18:00 (Europe/Berlin), in 20 h": the time left, to the end of its line.
_TIME_LEFT = re.compile(r"(\([^()\s]+\)), in [^\n]*")


def same_news(shown: str, wanted: str) -> bool:
    """Whether a card showing `shown` is up to date with `wanted`: the time left changes
    by itself as time passes, and alone does not make a card worth an edit."""
    return _TIME_LEFT.sub(r"\1", shown) == _TIME_LEFT.sub(r"\1", wanted)


class CardEditor:
    """Edits the decision's live card notices to a card as it stands."""

    def __init__(self, sender: Sender, ballots: Ballots, prefix: str) -> None:
        self.sender = sender
        self.ballots = ballots
        self.prefix = prefix
        self._edits = itertools.count()

    async def content(self, core: CoreAPI, ref: DecisionRef, card: Reply) -> dict[str, Any]:
        """What the live card of `ref` shows once edited to `card`: the card as it was
        posted (a long body cut, its full text beside it), with its secret-ballot hint."""
        choices = card.choices
        secret = choices is not None and choices.secret and not choices.closed
        hint = CardUpdated(ref=ref, news=True, secret_ballot=secret)
        shown, _ = cut_card(card, read_more_beside(await threads_kept(core, ref)))
        return self.ballots.with_hint(render_reply(shown, self.prefix), card, hint, direct=False)

    async def edit(
        self, core: CoreAPI, ref: DecisionRef, card: Reply, room_id: str | None = None
    ) -> int:
        """Edit every live card of `ref` (only those in `room_id` if given) to `card`;
        returns how many were edited."""
        linked = await core.live_cards_of(PLATFORM, ref)
        targets = [(room, mid) for room, mid in linked if room_id is None or room == room_id]
        if not targets:
            return 0
        content = await self.content(core, ref, card)
        for room, mid in targets:
            key = txn("edit", mid, card.model_dump_json(), str(next(self._edits)))
            await self.sender.send(room, "m.room.message", edit_content(mid, content), key)
        return len(targets)

    async def last_edit(self, room_id: str, event_id: str) -> str | None:
        """The body the card `event_id` shows after its latest edit, as the homeserver
        has it (bundled with the event); None when it was never edited (or cannot be read
        now)."""
        response = await self.sender.client.room_get_event(room_id, event_id)
        if not isinstance(response, RoomGetEventResponse):
            return None
        relations = response.event.source.get("unsigned", {}).get("m.relations", {})
        latest = relations.get("m.replace")
        if not isinstance(latest, dict):
            return None
        new = latest.get("content", {}).get("m.new_content", {})
        body = new.get("body") if isinstance(new, dict) else None
        return body if isinstance(body, str) else None
