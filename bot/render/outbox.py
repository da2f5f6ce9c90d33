"""Replies about the outbox: what the bot could not deliver, and sending it again."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from bot.domain.timeparse import format_local
from bot.render.document import Bold, Code, Line, Reply, command, line
from bot.services.outbox import DeadLetter


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def _letter(letter: DeadLetter, tz: ZoneInfo) -> Line:
    # Never the message itself: an answer may have been private to another member.
    what = "answer to a command" if letter.answer else "announcement"
    return line(
        Code(text=f"#{letter.delivery_id}"),
        f" {what} to {letter.room.platform} room ",
        Code(text=letter.room.room_id),
        f" — given up {format_local(letter.dead_at, tz)} after "
        f"{_plural(letter.attempts, 'send')}: {letter.reason or 'no reason given'}",
        indent=1,
    )


def dead_letters(
    coop_name: str,
    total: int,
    letters: Sequence[DeadLetter],
    waiting: int,
    tz: ZoneInfo,
) -> Reply:
    """`coop outbox`: the latest dead letters of the co-op (the steward's view only)."""
    retrying = (
        [line(f"{_plural(waiting, 'message')} failed and will be tried again by itself", indent=1)]
        if waiting
        else []
    )
    if not total:
        head = line(Bold(text=f"Nothing undelivered in {coop_name}"))
        return Reply(blocks=(head, *retrying), ephemeral=True)
    blocks = [line(Bold(text=f"Undelivered messages of {coop_name}: {total}"))]
    blocks += [_letter(letter, tz) for letter in letters]
    if total > len(letters):
        blocks.append(line(f"… and {total - len(letters)} older", indent=1))
    blocks += retrying
    blocks.append(
        line(
            "send them again with ",
            command("coop outbox retry"),
            " once the cause is fixed (the bot back in the room, its permissions restored)",
            indent=1,
        )
    )
    return Reply(blocks=tuple(blocks), ephemeral=True)


def retried(coop_name: str, count: int) -> Reply:
    if not count:
        return Reply(blocks=(line(f"Nothing to send again: {coop_name} has no dead letters"),))
    return Reply(
        blocks=(
            line(
                Bold(text=f"{_plural(count, 'undelivered message')} queued again"),
                " — the bot sends them within a few seconds",
            ),
        )
    )
