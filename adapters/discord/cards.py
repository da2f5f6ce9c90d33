"""A decision card's document as its Discord embed shows it: the title once (the embed's
own), and on the live card a long body cut with a "read more" instead of split."""

from __future__ import annotations

from bot.render.document import Block, Bold, Choices, Code, Line, Reply, Text, command

# A live card's line (a proposal's body) past this many characters is cut.
CARD_LINE_LIMIT = 600
ELLIPSIS = "…"


def read_more(choices: Choices) -> Line:
    """Where the full text is: the asker's own `show` (shown to them alone), as the core
    writes it."""
    if choices.show_command is None:
        return line_of(Text(text=ELLIPSIS))
    return line_of(Text(text="read more: "), command(choices.show_command))


def line_of(*parts: Text | Bold | Code, indent: int = 1) -> Line:
    return Line(parts=parts, indent=indent)


def _untitled(block: Block, choices: Choices) -> Block | None:
    """The block without the decision's title, which the embed's title already shows:
    a line that is only the title goes, a line that starts with `#N title` keeps the rest."""
    if not isinstance(block, Line):
        return block
    parts = block.parts
    if len(parts) == 1 and isinstance(parts[0], Text) and parts[0].text == choices.question:
        return None
    heading = f"#{choices.decision_number} {choices.question}"
    if parts and isinstance(parts[0], Bold) and parts[0].text == heading:
        rest = list(parts[1:])
        if rest and isinstance(rest[0], Text):
            rest[0] = Text(text=rest[0].text.removeprefix(" — "))
        return block.model_copy(update={"parts": tuple(rest)})
    return block


def _cut(block: Block, limit: int) -> tuple[Block, bool]:
    """A line whose text is longer than `limit` cut to it; whether it was cut."""
    if not isinstance(block, Line):
        return block, False
    kept: list[object] = []
    left = limit
    cut = False
    for part in block.parts:
        text = getattr(part, "text", getattr(part, "display", ""))
        if left <= 0:
            cut = True
            break
        if isinstance(part, Text) and len(text) > left:
            kept.append(Text(text=text[:left].rstrip() + ELLIPSIS))
            cut = True
            break
        kept.append(part)
        left -= len(text)
    if not cut:
        return block, False
    return block.model_copy(update={"parts": tuple(kept)}), True


def card_document(reply: Reply, *, live: bool) -> Reply:
    """The card's blocks for its embed: without the title; on a `live` (public) card, a
    long line cut and a "read more" pointing at the full text."""
    choices = reply.choices
    if choices is None:
        return reply
    blocks: list[Block] = []
    cut_any = False
    for block in reply.blocks:
        untitled = _untitled(block, choices)
        if untitled is None:
            continue
        if live:
            untitled, cut = _cut(untitled, CARD_LINE_LIMIT)
            cut_any = cut_any or cut
        blocks.append(untitled)
    if cut_any:
        blocks.append(read_more(choices))
    return reply.model_copy(update={"blocks": tuple(blocks)})
