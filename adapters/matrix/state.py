"""What the Matrix adapter keeps on disk under store_path: its login session, sync token, and
the members' events it holds until their room key arrives."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.files import private_dir


def _write_atomically(path: Path, text: str) -> None:
    # A crash mid-write must leave either the old or the new file, never half of one.
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


@dataclass(frozen=True)
class Session:
    """A logged-in device. Reusing it keeps the same device id, hence the same keys."""

    user_id: str
    device_id: str
    access_token: str


class AdapterState:
    """The files in `store_path`: `session.json` (after a password login), `sync_token`,
    and `undecrypted.json` (events held until their room key arrives)."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self._session = store_path / "session.json"
        self._token = store_path / "sync_token"
        self._undecrypted = store_path / "undecrypted.json"

    def prepare(self) -> None:
        # The store holds the access token and the encryption keys: the bot's user only.
        private_dir(self.store_path)

    def load_session(self, user_id: str) -> Session | None:
        try:
            data = json.loads(self._session.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return None
        if data.get("user_id") != user_id:
            return None  # the store belongs to another account: log in afresh
        return Session(user_id, str(data["device_id"]), str(data["access_token"]))

    def save_session(self, session: Session) -> None:
        text = json.dumps(
            {
                "user_id": session.user_id,
                "device_id": session.device_id,
                "access_token": session.access_token,
            }
        )
        _write_atomically(self._session, text)
        self._session.chmod(0o600)

    def load_sync_token(self) -> str | None:
        try:
            token = self._token.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return token or None

    def save_sync_token(self, token: str) -> None:
        _write_atomically(self._token, token)

    def load_undecrypted(self) -> list[dict[str, Any]]:
        try:
            data = json.loads(self._undecrypted.read_text(encoding="utf-8"))
        except (FileNotFoundError, ValueError):
            return []
        if not isinstance(data, list):
            return []
        return [record for record in data if isinstance(record, dict)]

    def save_undecrypted(self, records: list[dict[str, Any]]) -> None:
        """Held events (decrypted ones behind a held one too): the bot's user only."""
        if not records and not self._undecrypted.exists():
            return
        _write_atomically(self._undecrypted, json.dumps(records))
        self._undecrypted.chmod(0o600)
