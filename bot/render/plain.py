"""Renders reply documents as plain text: the console adapter and logs."""

from __future__ import annotations

from bot.render.document import Bullets, Code, Inline, Line, Mention, Reply, Table
from bot.render.sanitize import neutralise

INDENT = "  "


def _inline(part: Inline, prefix: str) -> str:
    if isinstance(part, Mention):
        return "@" + neutralise(part.display)
    if isinstance(part, Code):
        return neutralise(part.written(prefix))
    return neutralise(part.text)


def render_line(line: Line, prefix: str = "!") -> str:
    text = "".join(_inline(p, prefix) for p in line.parts)
    # A multi-line text (a proposal's body) keeps every line indented, so none of its lines
    # can pass for a line of the bot's own.
    return INDENT * line.indent + text.replace("\n", "\n" + INDENT * max(line.indent, 1))


def _table(table: Table, prefix: str) -> list[str]:
    rows = [list(table.header)] + [
        ["".join(_inline(p, prefix) for p in c.parts) for c in r] for r in table.rows
    ]
    widths = [max(len(row[i]) for row in rows if i < len(row)) for i in range(len(table.header))]
    out = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        out.append(INDENT + "  ".join(cells).rstrip())
    return out


def render_plain(reply: Reply, prefix: str = "!") -> str:
    """The whole reply as text; an error and its hint read as one line when they fit."""
    lines: list[str] = []
    for block in reply.blocks:
        if isinstance(block, Line):
            lines.append(render_line(block, prefix))
        elif isinstance(block, Bullets):
            lines.extend(INDENT + "- " + render_line(i, prefix).lstrip() for i in block.items)
        else:
            lines.extend(_table(block, prefix))
    if reply.kind == "error" and len(lines) == 2 and len(lines[0]) + len(lines[1]) < 140:
        lines = [f"{lines[0]} — {lines[1]}"]
    return "\n".join(lines)
