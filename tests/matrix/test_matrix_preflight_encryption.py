"""`coopbot check` and `coopbot run` warn when matrix-nio runs without end-to-end encryption
(vodozemac missing): the bot would start and never read an encrypted room's messages."""

from __future__ import annotations

import pytest
from nio.crypto import ENCRYPTION_ENABLED

from adapters.matrix import preflight
from bot.config import load_settings
from tests.matrix.synapse_server import free_port


def test_the_test_environment_has_encryption() -> None:
    # The matrix extra brings matrix-nio[e2e]; every encrypted-room test depends on it.
    assert ENCRYPTION_ENABLED
    assert preflight.encryption_findings(True) == []


def test_missing_encryption_is_one_warning_naming_the_package_and_the_fix() -> None:
    (finding,) = preflight.encryption_findings(False)
    assert finding.level == "warn" and finding.subject == "matrix"
    assert "vodozemac" in finding.message and "encrypted rooms" in finding.message
    assert finding.hint is not None and "coopbot[matrix]" in finding.hint


async def test_check_reports_missing_encryption_beside_its_other_findings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    settings = load_settings(
        None, matrix={"homeserver": nowhere, "user_id": "@bot:localhost", "access_token": "x"}
    )
    (down,) = await preflight.check(settings, [])
    assert down.level == "fail" and down.transient

    monkeypatch.setattr(preflight, "ENCRYPTION_ENABLED", False)  # as without vodozemac
    warning, down = await preflight.check(settings, [])
    assert warning.level == "warn" and "vodozemac" in warning.message
    assert down.level == "fail" and f"cannot reach the Matrix homeserver {nowhere}" in down.message
