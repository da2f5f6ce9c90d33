"""One-time codes as people type them: 80 random bits in grouped base32, read leniently,
stored only as a hash; and the back-off after wrong ones."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

# Crockford's base32: digits and capitals without I, L, O and U, so nothing reads as
# something else; 16 symbols of 5 bits each make 80 random bits.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
GROUPS = 4
GROUP_SIZE = 4
SYMBOLS = GROUPS * GROUP_SIZE
ENTROPY_BITS = SYMBOLS * 5
# What a reader may mistype for a symbol: O for zero, I and L for one.
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_SEPARATORS = str.maketrans("", "", "- \t")
# Longer input is not a code; it is refused before any work is done on it.
MAX_TYPED = 64


def new_code() -> str:
    """A fresh code like `7K3Q-M2XD-9TPA-W4RE`, from the operating system's CSPRNG."""
    symbols = "".join(secrets.choice(ALPHABET) for _ in range(SYMBOLS))
    return "-".join(symbols[i : i + GROUP_SIZE] for i in range(0, SYMBOLS, GROUP_SIZE))


def normalise(typed: str) -> str | None:
    """The code's 16 symbols, read case-insensitively and ignoring dashes and spaces;
    None when `typed` cannot be a code."""
    if len(typed) > MAX_TYPED:
        return None
    symbols = typed.upper().translate(_SEPARATORS).translate(_LOOKALIKES)
    if len(symbols) != SYMBOLS or any(c not in ALPHABET for c in symbols):
        return None
    return symbols


def code_hash(symbols: str) -> str:
    """What is stored for a code: a database reader cannot turn it back into the code, and
    with 80 random bits nobody can find it by trying."""
    return hashlib.sha256(f"coopbot-code:{symbols}".encode()).hexdigest()


def fingerprint(typed: str) -> str:
    """A short, one-way tag of what someone typed, for the audit log: repeated tries of the
    same text show up as the same tag, and the text itself is never stored."""
    return hashlib.sha256(f"coopbot-attempt:{typed[:MAX_TYPED]}".encode()).hexdigest()[:12]


@dataclass(frozen=True)
class BackOff:
    """How many wrong codes are free, and how long a caller waits after more.

    Failures count until `forget_after` passes without one; from the `free`-th failure on,
    every further one doubles the wait, from `first_wait` up to `longest_wait`."""

    free: int
    first_wait: timedelta
    longest_wait: timedelta
    forget_after: timedelta

    def failures_now(self, failures: int, last_failure: datetime | None, now: datetime) -> int:
        """The failures that still count at `now`."""
        if last_failure is None or now - last_failure >= self.forget_after:
            return 0
        return failures

    def blocked_until(self, failures: int, last_failure: datetime) -> datetime | None:
        """Until when the next attempt is refused after `failures` wrong codes."""
        if failures < self.free:
            return None
        doublings = min(failures - self.free, 16)
        wait = min(self.first_wait * (1 << doublings), self.longest_wait)
        return last_failure + wait


# One person (one platform identity) gets five tries, then waits 1, 2, 4 … up to 60 minutes.
PER_IDENTITY = BackOff(
    free=5,
    first_wait=timedelta(minutes=1),
    longest_wait=timedelta(hours=1),
    forget_after=timedelta(hours=24),
)
# Everyone together in one co-op (or one unbound room, for bind codes) gets more tries and a
# shorter longest wait: a hostile crowd can slow a co-op's linking down, not stop it for long.
PER_SCOPE = BackOff(
    free=20,
    first_wait=timedelta(minutes=1),
    longest_wait=timedelta(minutes=15),
    forget_after=timedelta(hours=1),
)
