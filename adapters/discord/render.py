"""Renders a Reply document as Discord messages (content or embed) within Discord's limits."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import discord
from discord.utils import escape_markdown

from adapters.discord.cards import card_document, read_more
from bot.render.document import (
    Bold,
    Bullets,
    Code,
    Inline,
    Line,
    Mention,
    Reply,
    Table,
)
from bot.render.sanitize import neutralise

PLATFORM = "discord"

# Discord's documented limits.
CONTENT_LIMIT = 2000
EMBED_TITLE_LIMIT = 256
EMBED_DESCRIPTION_LIMIT = 4096
EMBED_TOTAL_LIMIT = 6000
FILES_PER_MESSAGE = 10
# A reply never turns into a flood: past this many messages the rest is cut with a note.
MAX_MESSAGES = 5

COLOUR_OPEN = discord.Colour.blurple()
COLOUR_CLOSED = discord.Colour.dark_grey()
COLOUR_ERROR = discord.Colour.red()
COLOUR_INFO = discord.Colour.green()

_INDENT = "\u2003"  # an em space survives Discord's trimming of leading blanks


@dataclass(frozen=True)
class OutFile:
    """A file to attach; a discord.File can be sent only once, so it is built per send."""

    filename: str
    data: bytes
    description: str = ""

    def to_file(self) -> discord.File:
        return discord.File(
            io.BytesIO(self.data), filename=self.filename, description=self.description or None
        )


@dataclass(frozen=True)
class OutMessage:
    """One Discord message to send: content and/or one embed, files, and who may be pinged."""

    content: str = ""
    embed: discord.Embed | None = None
    files: tuple[OutFile, ...] = ()
    ping_user_ids: tuple[int, ...] = ()
    ephemeral: bool = False
    is_card: bool = False  # the decision embed that carries the voting controls

    @property
    def allowed_mentions(self) -> discord.AllowedMentions:
        return allowed_mentions(self.ping_user_ids)

    def discord_files(self) -> list[discord.File]:
        return [f.to_file() for f in self.files]

    def send_kwargs(self, view: discord.ui.View | None = None) -> dict[str, Any]:
        """The keyword arguments of a discord.py send call for this message."""
        kwargs: dict[str, Any] = {
            "allowed_mentions": self.allowed_mentions,
            "files": self.discord_files(),
        }
        if self.content:
            kwargs["content"] = self.content
        if self.embed is not None:
            kwargs["embed"] = self.embed
        if view is not None:
            kwargs["view"] = view
        return kwargs


def allowed_mentions(user_ids: Sequence[int]) -> discord.AllowedMentions:
    """Ping exactly these members and nobody else: never @everyone, @here or a role."""
    return discord.AllowedMentions(
        everyone=False,
        roles=False,
        users=[discord.Object(id=uid) for uid in dict.fromkeys(user_ids)],
        replied_user=False,
    )


def _escape(text: str) -> str:
    return escape_markdown(neutralise(text))


def _discord_user_id(mention: Mention) -> int | None:
    raw = mention.identities.get(PLATFORM)
    if raw is None or not raw.isdigit():
        return None
    return int(raw)


SLASH = "/"  # Discord commands are slash commands


def render_inline(
    part: Inline, pings: list[int], *, code_marks: bool = False, quiet: bool = False
) -> str:
    """One inline part as Discord markdown; a member who must act (`Mention.notify`, not
    in a `quiet` place such as a table) is noted in `pings`. Anyone else is shown as a
    mention that `allowed_mentions` does not let notify."""
    if isinstance(part, Mention):
        uid = _discord_user_id(part)
        if uid is not None:
            if part.notify and not quiet:
                pings.append(uid)
            return f"<@{uid}>"
        return "@" + _escape(part.display)
    if isinstance(part, Bold):
        return f"**{_escape(part.text)}**"
    if isinstance(part, Code):
        # Backticks inside would end the span early; a look-alike keeps the text readable.
        return "`" + neutralise(part.written(SLASH)).replace("`", "ˋ") + "`"
    if code_marks:
        # An error's text marks commands with backticks (`!vote 7 yes`): they stay code.
        return _escape(part.text).replace("\\`", "`")
    return _escape(part.text)


def render_line(
    line: Line, pings: list[int], *, code_marks: bool = False, quiet: bool = False
) -> str:
    text = "".join(
        render_inline(part, pings, code_marks=code_marks, quiet=quiet) for part in line.parts
    )
    # Every line of a multi-line text (a proposal's body) stays indented: none of them can
    # pass for a line of the bot's own.
    return _INDENT * line.indent + text.replace("\n", "\n" + _INDENT * max(line.indent, 1))


def render_blocks(reply: Reply, pings: list[int]) -> list[str]:
    """The reply's blocks as markdown lines, in order."""
    out: list[str] = []
    marks = reply.kind == "error"
    for block in reply.blocks:
        if isinstance(block, Line):
            out.append(render_line(block, pings, code_marks=marks))
        elif isinstance(block, Bullets):
            out.extend("• " + render_line(item, pings) for item in block.items)
        elif isinstance(block, Table):
            out.append(" · ".join(f"**{_escape(h)}**" for h in block.header))
            # A table names people; it never notifies them.
            out.extend(
                " · ".join(render_line(c, pings, quiet=True) for c in row) for row in block.rows
            )
    return out


def _hard_split(line: str, limit: int) -> list[str]:
    return [line[i : i + limit] for i in range(0, len(line), limit)] or [""]


def pack_lines(lines: Sequence[str], limit: int) -> list[str]:
    """Pack lines into chunks of at most `limit` characters, breaking only between lines
    unless a single line is itself too long."""
    chunks: list[str] = []
    current = ""
    for raw in lines:
        for piece in _hard_split(raw, limit):
            candidate = piece if not current else f"{current}\n{piece}"
            if len(candidate) <= limit:
                current = candidate
            else:
                chunks.append(current)
                current = piece
    if current or not chunks:
        chunks.append(current)
    return chunks


def _truncation_note(hidden_lines: int) -> str:
    return f"_… {hidden_lines} more line{'s' if hidden_lines != 1 else ''} not shown._"


def _cap_chunks(lines: Sequence[str], limit: int, max_chunks: int) -> list[str]:
    """Chunks of `lines`; past `max_chunks` the rest is dropped and a note says how much."""
    chunks = pack_lines(lines, limit)
    if len(chunks) <= max_chunks:
        return chunks
    kept = chunks[:max_chunks]
    shown = sum(chunk.count("\n") + 1 for chunk in kept)
    note = _truncation_note(max(len(lines) - shown, 1))
    last = kept[-1]
    while len(last) + 1 + len(note) > limit and "\n" in last:
        last = last.rsplit("\n", 1)[0]
    if len(last) + 1 + len(note) > limit:
        last = last[: limit - len(note) - 2]
    kept[-1] = f"{last}\n{note}"
    return kept


def _colour(reply: Reply) -> discord.Colour:
    if reply.kind == "error":
        return COLOUR_ERROR
    if reply.choices is not None and not reply.choices.closed:
        return COLOUR_OPEN
    if reply.choices is not None:
        return COLOUR_CLOSED
    return COLOUR_INFO


def card_title(reply: Reply) -> str:
    assert reply.choices is not None
    title = f"#{reply.choices.decision_number} {_escape(reply.choices.question)}"
    if len(title) > EMBED_TITLE_LIMIT:
        title = title[: EMBED_TITLE_LIMIT - 1] + "…"
    return title


def _files(reply: Reply) -> tuple[OutFile, ...]:
    return tuple(OutFile(a.filename, a.data, a.alt[:1024]) for a in reply.attachments)


def render_reply(reply: Reply) -> list[OutMessage]:
    """A reply as one or more Discord messages, each within Discord's limits.

    A decision (a reply with `choices`) becomes an embed card, the message the voting
    buttons hang on, with its title once. A public card is one message: what does not fit
    is cut with a "read more"; shown to one person, lines that do not fit in the card
    follow as plain messages. Any other reply is plain content, split between lines into
    as many messages as it needs (at most MAX_MESSAGES, then cut with a note)."""
    hidden = reply.ephemeral or reply.private  # a private reply is never a public message
    reply = card_document(reply, live=not hidden)
    pings: list[int] = []
    lines = render_blocks(reply, pings)
    files = _files(reply)
    messages: list[OutMessage] = []
    if reply.choices is not None:
        title = card_title(reply)
        budget = min(EMBED_DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - len(title))
        description_lines: list[str] = []
        used = 0
        rest_start = len(lines)
        for index, text in enumerate(lines):
            cost = len(text) + (1 if description_lines else 0)
            if used + cost > budget:
                rest_start = index
                break
            description_lines.append(text)
            used += cost
        if rest_start < len(lines) and not hidden:
            # One live card, never several messages: the rest is for `show`.
            note = render_line(read_more(reply.choices), [])
            while description_lines and used + len(note) + 1 > budget:
                used -= len(description_lines.pop()) + 1
            description_lines.append(note)
            rest_start = len(lines)
        embed = discord.Embed(
            title=title, description="\n".join(description_lines) or None, colour=_colour(reply)
        )
        # Embeds never ping, so the card itself allows no mentions at all.
        messages.append(
            OutMessage(
                embed=embed,
                files=files[:FILES_PER_MESSAGE],
                ephemeral=hidden,
                is_card=True,
            )
        )
        remaining = lines[rest_start:]
        files = files[FILES_PER_MESSAGE:]
        chunks = _cap_chunks(remaining, CONTENT_LIMIT, MAX_MESSAGES - 1) if remaining else []
    else:
        chunks = _cap_chunks(lines, CONTENT_LIMIT, MAX_MESSAGES) if lines else []
        if not chunks and files:
            chunks = [""]
    for index, chunk in enumerate(chunks):
        chunk_pings = [uid for uid in dict.fromkeys(pings) if f"<@{uid}>" in chunk]
        messages.append(
            OutMessage(
                content=chunk,
                files=files[:FILES_PER_MESSAGE] if index == 0 else (),
                ping_user_ids=tuple(chunk_pings),
                ephemeral=hidden,
            )
        )
        if index == 0:
            files = files[FILES_PER_MESSAGE:]
    for start in range(0, len(files), FILES_PER_MESSAGE):
        batch = files[start : start + FILES_PER_MESSAGE]
        messages.append(OutMessage(files=batch, ephemeral=hidden))
    if not messages:
        messages.append(OutMessage(content="\u200b", ephemeral=hidden))
    return messages
