"""How members appear in replies: a Mention carrying every platform identity they have."""

from __future__ import annotations

from bot.db.models import Member
from bot.render.document import Mention


def mention(member: Member) -> Mention:
    identities: dict[str, str] = {}
    for identity in member.identities:
        identities.setdefault(identity.platform, identity.user_id)
    return Mention(member_id=member.id, display=member.name, identities=identities)
