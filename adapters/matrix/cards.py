"""A decision's card as a Matrix room shows it: one event, whatever its length. A long
line (a proposal's body) is cut with a "read more" saying where the full text is; the
full text is sent once, beside the card (in its thread, or as a reply to it)."""

from __future__ import annotations

from bot.render.document import Block, Bold, Line, Reply, Text, command

# A card's line longer than this many characters, or than this many lines, is cut.
CARD_LINE_LIMIT = 600
CARD_LINE_ROWS = 10
ELLIPSIS = "…"
# Where the full text of a live card's long body is: sent right after the card.
BESIDE_IN_THREAD = "in this card's thread"
BESIDE_AS_REPLY = "in the reply to this card"


def read_more_beside(threads: bool) -> Line:
    """The live card's "read more": the full text follows it in its thread or as a reply."""
    where = BESIDE_IN_THREAD if threads else BESIDE_AS_REPLY
    return Line(parts=(Text(text=f"read more: the full text is {where}"),), indent=1)


def read_more_show(reply: Reply) -> Line:
    """Any other card's "read more": the decision's own `show`, as the core writes it."""
    choices = reply.choices
    if choices is None or choices.show_command is None:
        return Line(parts=(Text(text=ELLIPSIS),), indent=1)
    return Line(parts=(Text(text="read more: "), command(choices.show_command)), indent=1)


def _cut_text(text: str, left: int) -> str:
    rows = text.split("\n")
    kept = "\n".join(rows[:CARD_LINE_ROWS])
    kept = kept[:left] if len(kept) > left else kept
    return kept.rstrip() + ELLIPSIS


def _cut(block: Block) -> tuple[Block, bool]:
    """A line longer than the limits, cut to them; whether it was cut."""
    if not isinstance(block, Line):
        return block, False
    texts = [getattr(part, "text", getattr(part, "display", "")) for part in block.parts]
    rows = sum(text.count("\n") for text in texts) + 1
    if sum(len(text) for text in texts) <= CARD_LINE_LIMIT and rows <= CARD_LINE_ROWS:
        return block, False
    kept: list[object] = []
    left = CARD_LINE_LIMIT
    for part, text in zip(block.parts, texts, strict=True):
        if left <= 0:
            break
        if isinstance(part, Text) and (len(text) > left or "\n" in text):
            kept.append(Text(text=_cut_text(text, left)))
            break
        kept.append(part)
        left -= len(text)
    return block.model_copy(update={"parts": tuple(kept)}), True


def cut_card(reply: Reply, read_more: Line) -> tuple[Reply, Reply | None]:
    """(the card as the room shows it, the full text of what was cut or None): each long
    line cut, `read_more` added under them."""
    if reply.choices is None:
        return reply, None
    blocks: list[Block] = []
    cut_lines: list[Block] = []
    for block in reply.blocks:
        shown, cut = _cut(block)
        blocks.append(shown)
        if cut:
            cut_lines.append(block)
    if not cut_lines:
        return reply, None
    blocks.append(read_more)
    choices = reply.choices
    heading = Line(parts=(Bold(text=f"#{choices.decision_number} {choices.question}"),))
    full = Reply(kind="info", blocks=(heading, *cut_lines))
    return reply.model_copy(update={"blocks": tuple(blocks)}), full
