"""The one line a room keeps for news that went to a decision's thread."""

from __future__ import annotations

from bot.render.document import Bold, Line, Mention, Reply, Text

IN_THREAD = " — more in its thread"


def headline(reply: Reply, number: int) -> Reply:
    """`reply` as one line for the room: the line that names decision #`number` (`#7 …`),
    else the first line, naming members without notifying them (the thread notifies who
    must act)."""
    lines = [block for block in reply.blocks if isinstance(block, Line)]
    named = [
        ln
        for ln in lines
        if ln.parts and isinstance(ln.parts[0], Bold) and ln.parts[0].text.startswith(f"#{number} ")
    ]
    chosen = (named or lines or [Line()])[0]
    parts = tuple(p.quiet() if isinstance(p, Mention) else p for p in chosen.parts)
    return Reply(
        kind=reply.kind, blocks=(Line(parts=(*parts, Text(text=IN_THREAD))),), subject=reply.subject
    )
