"""The adapter contract's drivers: one small object per platform, one interface.

The contract tests (tests/contract/test_contract.py) are written once against `Driver` and
run over every driver. A new adapter passes the suite by adding a driver here and a case
in tests/contract/conftest.py (`DRIVERS`). A driver stands for the members of one co-op
room on its platform, speaking through the platform's real client (simcord for Discord,
real matrix-nio clients on a real Synapse for Matrix, the console adapter's own line
reader for the console); it never calls the core directly, except to restart on a new one.

Members are named by plain names (`"alice"`); the driver makes the platform people behind
them. Command text is written without prefix, as the SPEC writes it (`"vote 1 yes"`); each
driver sends it the way its platform does (a typed `!` command, a slash command).

The interface (every method waits until the bot has answered what it caused, so a test
reads the result right after; `until` waits for what arrives later):

- `platform`: the adapter's platform name.
- `patience`: seconds to wait for something that arrives later (0 where every call
  returns with the bot's answers already in).
- `edits_cards`: whether the platform changes a posted card in place (the console cannot:
  a terminal does not rewrite what it printed, so there a card is read with `show`).
- `direct_messages`: whether members may vote in a direct message with the bot.
- `threads`: whether a decision can have a thread of its own (co-op setting `threads:on`),
  started from its card in the room.
- `setup(steward, *members)`: a room bound to a new co-op, `steward` its steward, each
  member admitted.
- `send(member, text)`: the member gives a command by the platform's ordinary means.
- `press(member, number, choice)`: the member votes with the platform's native ballot
  control (a Discord button, a Matrix poll answer; the console has text only).
- `vote_privately(member, number, choice)`: the member votes in a direct message with the
  bot (only where `direct_messages`).
- `room_messages()`: the bot's messages in the room, oldest first, as members read them now
  (a message edited in place is one message, in its latest form); not those in a thread.
- `send_in_thread(member, number, text)`: the member gives a command in the thread of
  decision #number (only where `threads`).
- `thread_messages(number, reader=None)`: the bot's messages in the thread of decision
  #number, oldest first, as members read them now; with `reader`, also what the bot showed
  that member alone there. Empty when the decision has no thread.
- `thread_count()`: how many threads the room has.
- `private_messages(member)`: what the bot showed `member` alone (an ephemeral answer, a
  direct message, a console line `(to @member)`).
- `card(number)`: the text of the decision's card posted in the room, as it reads now.
- `controls(number)`: the voting controls its card still offers (button labels, poll
  answers); empty once the decision is closed.
- `mention(member)`: how a member is mentioned in text on this platform.
- `notified(since)`: whom the bot's room messages (from index `since` of `room_messages()`)
  notify: `"everyone"` (or `"here"`, `"room"`) for a crowd, or a member's name.
- `settle()`: the bot has sent everything that is due (pending outbox deliveries).
- `crash()`: the platform connection dies at once (no goodbye, nothing drained).
- `restart(core)`: a new adapter, over the same platform account, on `core`.

A behaviour that one platform cannot have yet is marked on its case, never skipped
silently: `pytest.mark.xfail(strict=True, reason=...)` on the parameter (see conftest).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from bot.app import Core

T = TypeVar("T")
# `await new_core()`: the core of a restarted process (same database, same clock).
NewCore = Callable[[], Awaitable[Core]]


class Driver(Protocol):
    platform: str
    patience: float
    edits_cards: bool
    direct_messages: bool
    threads: bool

    async def setup(self, steward: str, *members: str) -> None: ...

    async def send(self, member: str, text: str) -> None: ...

    async def press(self, member: str, number: int, choice: str) -> None: ...

    async def vote_privately(self, member: str, number: int, choice: str) -> None: ...

    async def room_messages(self) -> list[str]: ...

    async def private_messages(self, member: str) -> list[str]: ...

    async def send_in_thread(self, member: str, number: int, text: str) -> None: ...

    async def thread_messages(self, number: int, reader: str | None = None) -> list[str]: ...

    async def thread_count(self) -> int: ...

    async def card(self, number: int) -> str: ...

    async def controls(self, number: int) -> list[str]: ...

    def mention(self, member: str) -> str: ...

    async def notified(self, since: int = 0) -> set[str]: ...

    async def settle(self) -> None: ...

    async def crash(self) -> None: ...

    async def restart(self, core: Core) -> None: ...


async def until(driver: Driver, probe: Callable[[], Awaitable[T]], check: Callable[[T], bool]) -> T:
    """The first value of `probe()` that passes `check`, within the driver's patience.
    A networked driver's probe waits for the platform's next events itself (a sync
    long-poll), so this waits on events, not on a timer."""
    deadline = time.monotonic() + driver.patience
    while True:
        value = await probe()
        if check(value):
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{driver.platform}: not as expected: {value!r}")
        await asyncio.sleep(0)
