"""Who counts as a room admin in a Matrix room: power level ≥ 50, or a room creator where
the room version gives creators unlimited power (room version 12 and later)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

ROOM_ADMIN_LEVEL = 50
# Room versions before 12 list every power in m.room.power_levels; from 12 on (and the
# hydra test version) the creators are implied and never appear there.
_CLASSIC_VERSIONS = frozenset(str(v) for v in range(1, 12))


def creators_privileged(room_version: str) -> bool:
    return room_version not in _CLASSIC_VERSIONS


def creators_of(create_event: Mapping[str, Any]) -> frozenset[str]:
    """The creators named by a raw m.room.create event: its sender and additional_creators."""
    content = create_event.get("content", {})
    extra = content.get("additional_creators", []) if isinstance(content, Mapping) else []
    names = [create_event.get("sender"), *(extra if isinstance(extra, list) else [])]
    return frozenset(name for name in names if isinstance(name, str))


def is_room_admin(user_id: str, level: int, room_version: str, creators: Collection[str]) -> bool:
    if creators_privileged(room_version) and user_id in creators:
        return True
    return level >= ROOM_ADMIN_LEVEL
