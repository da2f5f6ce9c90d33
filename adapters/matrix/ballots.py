"""Matrix ballots: native polls on a decision's news, the secret-ballot hint, typed votes."""

from __future__ import annotations

from typing import Any

from nio import MatrixRoom

from adapters.matrix.polls import (
    UNSTABLE_END,
    UNSTABLE_START,
    poll_end_content,
    poll_fallback,
    poll_start_content,
    supports_native_poll,
)
from adapters.matrix.render import plain_text
from adapters.matrix.secret import REDACTION_REASON, add_line, direct_vote_hint, typed_vote_note
from adapters.matrix.sending import Sender, txn
from bot.ports import CardClosed, CardOpened, CardUpdated, CoreAPI, Intent
from bot.render.document import Reply

PLATFORM = "matrix"


class Ballots:
    """The Matrix side of voting on a decision, around the card the core sends."""

    def __init__(self, sender: Sender, prefix: str, bot_id: str) -> None:
        self.sender = sender
        self.prefix = prefix
        self.bot_id = bot_id

    def with_hint(
        self, content: dict[str, Any], reply: Reply, intent: Intent, *, direct: bool
    ) -> dict[str, Any]:
        """`content` with the secret-ballot hint under the news of a secret decision (not
        in a direct message: the hint belongs to the co-op's rooms)."""
        secret_ballot = (
            isinstance(intent, CardOpened | CardUpdated) and intent.secret_ballot and not direct
        )
        if not secret_ballot:
            return content
        return add_line(content, *direct_vote_hint(reply, self.bot_id, self.prefix))

    async def remove_typed_vote(self, room: MatrixRoom, event_id: str) -> tuple[str, str]:
        """Redact a secret vote typed in a group room (the vote counts; the event showing
        it must go) and return the (plain, HTML) note to add under the answer."""
        redacted = await self.sender.redact(room, event_id, REDACTION_REASON)
        return typed_vote_note(redacted, self.bot_id)

    async def sync_poll(
        self,
        core: CoreAPI,
        room_id: str,
        reply: Reply,
        intent: Intent,
        txn_id: str,
        *,
        direct: bool,
    ) -> None:
        """Only the news of a decision opening or closing starts or ends a native poll (not
        in a direct message); a `show` carries the same choices and must not."""
        if not isinstance(intent, CardOpened | CardUpdated | CardClosed):
            return
        if not intent.news or direct:
            return
        choices = reply.choices
        assert choices is not None
        linked = [
            message_id
            for linked_room, message_id in await core.cards_of(PLATFORM, intent.ref)
            if linked_room == room_id
        ]
        if isinstance(intent, CardClosed):
            summary = plain_text(reply)
            for poll_id in linked:
                await self.sender.send(
                    room_id, UNSTABLE_END, poll_end_content(poll_id, summary), txn("end", poll_id)
                )
            return
        if linked or not supports_native_poll(choices):
            return
        content = poll_start_content(choices, poll_fallback(choices, self.prefix))
        poll_id = await self.sender.send(room_id, UNSTABLE_START, content, f"{txn_id}-poll")
        await core.link_card(PLATFORM, room_id, poll_id, intent.ref)
