"""Secret ballots in Matrix group rooms: the direct-message hint, and the note on a typed vote.

Every message in a Matrix room is an event the whole room can read, so a secret choice is
only private when it is sent to the bot in a direct message. The core stays platform-neutral;
these Matrix-only lines are added when a reply is rendered.
"""

from __future__ import annotations

import html
from typing import Any

from adapters.matrix.render import MATRIX_TO
from bot.render.document import Choices, Reply
from bot.render.sanitize import neutralise

REDACTION_REASON = "secret ballot: vote in a direct message"


def _vote_example(choices: Choices) -> str:
    """How to vote by text, as the core wrote it for the decision's method; a reply stored
    before the core said so gets the plain form of its options."""
    if choices.vote_command:
        return choices.vote_command
    keys = "|".join(option.key for option in choices.options)
    return f"vote {choices.decision_number} {keys}"


def _bot_link(bot_id: str) -> str:
    href = html.escape(MATRIX_TO + bot_id, quote=True)
    return f'<a href="{href}">{html.escape(bot_id)}</a>'


def direct_vote_hint(reply: Reply, bot_id: str, prefix: str) -> tuple[str, str]:
    """(plain, HTML) of the line telling members to vote in a direct message to the bot."""
    assert reply.choices is not None
    example = neutralise(prefix + _vote_example(reply.choices))
    plain = f"secret ballot: send {example} to {bot_id} in a direct message"
    markup = (
        f"secret ballot: send <code>{html.escape(example)}</code> to "
        f"{_bot_link(bot_id)} in a direct message"
    )
    return plain, markup


def typed_vote_note(redacted: bool, bot_id: str) -> tuple[str, str]:
    """(plain, HTML) of the line under the answer to a secret vote typed in a group room."""
    if redacted:
        lead = "I removed your message so that the room can't see your choice"
    else:
        lead = "your message shows your choice to everyone in this room"
    plain = f"{lead}; next time send your vote to {bot_id} in a direct message"
    markup = (
        f"{html.escape(lead)}; next time send your vote to {_bot_link(bot_id)} in a direct message"
    )
    return plain, markup


def add_line(content: dict[str, Any], plain: str, markup: str) -> dict[str, Any]:
    """`content` (an m.notice from render_reply) with one more line in both forms. The bot's
    own link is not a mention: `m.mentions` stays as it was."""
    updated = dict(content)
    updated["body"] = f"{content['body']}\n{plain}" if content.get("body") else plain
    formatted = content.get("formatted_body", "")
    updated["formatted_body"] = f"{formatted}<br>{markup}" if formatted else markup
    return updated
