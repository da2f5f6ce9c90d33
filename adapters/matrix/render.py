"""Renders a Reply document as Matrix message content: plain `body`, HTML, `m.mentions`."""

from __future__ import annotations

import html
from typing import Any

from bot.render.document import Bold, Bullets, Code, Line, Mention, Reply, Table, Text
from bot.render.sanitize import neutralise

PLATFORM = "matrix"
MATRIX_TO = "https://matrix.to/#/"


def _is_user_id(value: str) -> bool:
    # A pill must point at a real user id; anything else is shown as plain text.
    return value.startswith("@") and ":" in value and " " not in value


def _safe(text: str) -> str:
    return neutralise(text)


class _Builder:
    """Accumulates the plain and HTML forms side by side, and the user ids pinged."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.plain: list[str] = []
        self.html: list[str] = []
        self.user_ids: list[str] = []

    def inline(self, line: Line, *, quiet: bool = False) -> tuple[str, str]:
        """A line's plain and HTML forms. A member who must act (`Mention.notify`, not in a
        `quiet` place such as a table) is a pill listed in `m.mentions`; anyone else is
        named in plain text, no pill."""
        plain: list[str] = []
        markup: list[str] = []
        for part in line.parts:
            if isinstance(part, Mention):
                name = _safe(part.display)
                user_id = part.identities.get(PLATFORM, "")
                on_matrix = _is_user_id(user_id)
                # A Matrix member is shown by name (a pill's text); anyone else as @name.
                shown = name if on_matrix else "@" + name
                plain.append(shown)
                if on_matrix and part.notify and not quiet:
                    href = html.escape(MATRIX_TO + user_id, quote=True)
                    markup.append(f'<a href="{href}">{html.escape(name)}</a>')
                    if user_id not in self.user_ids:
                        self.user_ids.append(user_id)
                else:
                    markup.append(html.escape(shown))
            elif isinstance(part, Bold):
                text = _safe(part.text)
                plain.append(text)
                markup.append(f"<strong>{html.escape(text)}</strong>")
            elif isinstance(part, Code):
                text = _safe(part.written(self.prefix))
                plain.append(text)
                markup.append(f"<code>{html.escape(text)}</code>")
            elif isinstance(part, Text):
                text = _safe(part.text)
                plain.append(text)
                markup.append(html.escape(text))
        return "".join(plain), "".join(markup)


def render_reply(reply: Reply, prefix: str = "!") -> dict[str, Any]:
    """The `m.room.message` content for `reply` (an m.notice), without reply relations.

    User text is neutralised (no @room) and HTML-escaped; members with a Matrix identity
    become pills, and `m.mentions` lists exactly those members, never the room."""
    builder = _Builder(prefix)
    html_blocks: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Line):
            plain, markup = builder.inline(block)
            # Every line of a multi-line text (a proposal's body) stays indented.
            indent = "  " * block.indent
            builder.plain.append(indent + plain.replace("\n", "\n" + (indent or "  ")))
            html_blocks.append(markup)
        elif isinstance(block, Bullets):
            items = [builder.inline(item) for item in block.items]
            builder.plain.extend("• " + plain for plain, _ in items)
            html_blocks.append("<ul>" + "".join(f"<li>{m}</li>" for _, m in items) + "</ul>")
        elif isinstance(block, Table):
            header = [_safe(cell) for cell in block.header]
            rows = [[builder.inline(cell, quiet=True) for cell in row] for row in block.rows]
            builder.plain.append(" | ".join(header))
            builder.plain.extend(" | ".join(plain for plain, _ in row) for row in rows)
            head = "".join(f"<th>{html.escape(cell)}</th>" for cell in header)
            body = "".join(
                "<tr>" + "".join(f"<td>{m}</td>" for _, m in row) + "</tr>" for row in rows
            )
            html_blocks.append(
                f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
            )
    formatted = _join_html(html_blocks, reply)
    return {
        "msgtype": "m.notice",
        "body": "\n".join(builder.plain),
        "format": "org.matrix.custom.html",
        "formatted_body": formatted,
        "m.mentions": {"user_ids": list(builder.user_ids)},
    }


def _join_html(blocks: list[str], reply: Reply) -> str:
    # Lists and tables are block elements already; plain lines are separated by <br>.
    out: list[str] = []
    for index, (block, source) in enumerate(zip(blocks, reply.blocks, strict=True)):
        if index and isinstance(source, Line) and isinstance(reply.blocks[index - 1], Line):
            out.append("<br>")
        out.append(block)
    return "".join(out)


def plain_text(reply: Reply) -> str:
    """The reply as neutralised plain text (poll fallbacks, poll end summaries)."""
    return "\n".join(_safe(line) for line in reply.plain_lines())
