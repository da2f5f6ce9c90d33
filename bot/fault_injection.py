"""The `crash_after_commit` test setting: a power cut right after a command committed."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Sequence

from bot.config import Settings
from bot.invocation import Invocation
from bot.outgoing import Answer

log = logging.getLogger(__name__)


def crash_after_commit(
    settings: Settings, invocation: Invocation, answers: Sequence[Answer]
) -> None:
    """Die as a power cut would, right after a command matching the setting committed and
    before any of its answers is sent (nothing happens when the setting is empty)."""
    fault = settings.crash_after_commit
    if fault and invocation.text.startswith(fault) and any(a.delivery for a in answers):
        log.critical("crash_after_commit: killing this process after %r committed", fault)
        os.kill(os.getpid(), signal.SIGKILL)
