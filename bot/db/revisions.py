"""The migrations' revision ids, read from their files without importing Alembic (which
costs the running bot ~11 MB), and the revision a database stores."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, inspect, text

VERSIONS = Path(__file__).resolve().parent.parent / "migrations" / "versions"
_REVISION = re.compile(r"""^revision\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_DOWN = re.compile(r"""^down_revision\s*=\s*(?:None|["']([^"']+)["'])""", re.MULTILINE)


@cache
def revisions() -> dict[str, str | None]:
    """revision → down_revision, for every migration this code ships."""
    found: dict[str, str | None] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        revision, down = _REVISION.search(source), _DOWN.search(source)
        if revision is None or down is None:
            raise ValueError(f"{path.name} names no revision or down_revision")
        found[revision.group(1)] = down.group(1)
    return found


def heads() -> list[str]:
    """The revisions no other one builds on (one, unless branches await a merge)."""
    shipped = revisions()
    below = {down for down in shipped.values() if down is not None}
    return sorted(r for r in shipped if r not in below)


def head_revision() -> str:
    found = heads()
    if len(found) != 1:
        raise ValueError(f"the migrations have {len(found)} heads: {', '.join(found)}")
    return found[0]


def known_revision(revision: str) -> bool:
    """Whether this code's migrations include `revision` (not: the database is newer)."""
    return revision in revisions()


def stored_revision(connection: Connection) -> str | None:
    """The revision the database records (None: no coopbot schema yet)."""
    if not inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
