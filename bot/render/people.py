"""How members appear in replies: a Mention carrying every platform identity they have."""

from __future__ import annotations

from collections.abc import Sequence

from bot.db.models import Member
from bot.render.document import Inline, Mention, Text


def mention(member: Member, *, notify: bool = True) -> Mention:
    """The member as a mention; `notify=False` names them without notifying (they need not
    act on this message)."""
    identities: dict[str, str] = {}
    for identity in member.identities:
        identities.setdefault(identity.platform, identity.user_id)
    return Mention(member_id=member.id, display=member.name, identities=identities, notify=notify)


def named(member: Member) -> Mention:
    """The member named without a notification: tables, tallies, cards, results, summaries."""
    return mention(member, notify=False)


def mention_run(
    members: Sequence[Member], limit: int, total: int | None = None, *, notify: bool = True
) -> list[Inline]:
    """` @dan @erin … and 12 more`: at most `limit` mentions, so a large co-op's message
    stays readable and within every platform's length limit. `total`: how many there are
    in all, when `members` holds only the first ones."""
    parts: list[Inline] = []
    for member in members[:limit]:
        parts += [Text(text=" "), mention(member, notify=notify)]
    everyone = len(members) if total is None else total
    if everyone > limit:
        parts.append(Text(text=f" … and {everyone - limit} more"))
    return parts
