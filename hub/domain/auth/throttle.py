"""The login throttle: how many failed password checks an e-mail address and a client address
may have, and in what time (docs/security.md "Login throttle").

Three counters, each a fixed window that starts at its first failure:

- **per e-mail and client address** (5 in 15 minutes): the lockout that blocks quickly. A
  stranger guessing a dealer's password from elsewhere fills only its own counter, so the
  dealer, from its own address, keeps logging in.
- **per client address**, whatever the e-mail (30 in 15 minutes): stops one address spraying a
  few passwords over many accounts, known or not.
- **per e-mail**, whatever the address (100 in an hour): a ceiling for guessing one account from
  many addresses. The trade-off: an attacker with many addresses can, by spending 100 failures,
  lock an account for up to an hour for everyone; it is set far above the first counter so a
  single stranger cannot, and lower would make that easier.

An attempt counts before its password is checked (so concurrent attempts cannot all slip under
the limit), and is taken back when it succeeds or was never checked (the server was busy); a
refused (throttled) attempt is not counted, so it does not extend its own lockout nor fill the
per-e-mail ceiling. Unknown e-mails are counted exactly like known ones and answered the same.

The counters live behind :class:`Counters`: :class:`MemoryCounters` in this process, or a shared
store (Redis, ``hub.login_counters``) so that every API process sees the same counts.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "Counters",
    "CountersUnavailable",
    "LoginAttempt",
    "LoginLimits",
    "LoginThrottle",
    "MemoryCounters",
]


class CountersUnavailable(Exception):
    """The counters' store did not answer; a login is then refused as retryable."""


class Counters(Protocol):
    """Counters that each expire a fixed time after they were created. Each method raises
    :class:`CountersUnavailable` when the store does not answer."""

    async def add(self, keys: Sequence[tuple[str, int]]) -> list[int]:
        """Add one to each ``(key, window seconds)``, creating a missing one to expire after its
        window; the new values, in order. Atomic per key."""
        ...

    async def subtract(self, keys: Sequence[str]) -> None:
        """Take one from each key that still exists (a key that expired stays gone)."""
        ...

    async def delete(self, keys: Sequence[str]) -> None:
        """Forget the keys."""
        ...


class MemoryCounters:
    """:class:`Counters` in this process (one API process, or tests). Bounded: past
    ``max_keys`` the oldest keys are forgotten first."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._values: dict[str, tuple[int, float]] = {}  # key -> (count, expires at), oldest first

    def _live(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self._values.get(key)
        if entry is not None and entry[1] <= now:
            del self._values[key]
            return None
        return entry

    async def add(self, keys: Sequence[tuple[str, int]]) -> list[int]:
        now = time.monotonic()
        values = []
        for key, window in keys:
            entry = self._live(key, now)
            count, expires = (entry[0] + 1, entry[1]) if entry else (1, now + window)
            self._values[key] = (count, expires)
            values.append(count)
        while len(self._values) > self.max_keys:
            del self._values[next(iter(self._values))]
        return values

    async def subtract(self, keys: Sequence[str]) -> None:
        now = time.monotonic()
        for key in keys:
            entry = self._live(key, now)
            if entry is not None:
                self._values[key] = (max(entry[0] - 1, 0), entry[1])

    async def delete(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._values.pop(key, None)


@dataclass(frozen=True, slots=True)
class LoginLimits:
    """Failures allowed per window (seconds), per counter (see the module's docstring)."""

    per_pair: int = 5
    pair_window: int = 15 * 60
    per_address: int = 30
    address_window: int = 15 * 60
    per_email: int = 100
    email_window: int = 60 * 60


def _digest(email: str) -> str:
    # Keys carry no e-mail addresses (a shared store is readable by more people than the database).
    return hashlib.sha256(email.encode()).hexdigest()[:32]


class LoginAttempt:
    """One password check that was let through. It counts as a failure unless
    :meth:`succeeded` or :meth:`not_checked` is called."""

    def __init__(self, counters: Counters, pair: str, others: tuple[str, ...]) -> None:
        self._counters = counters
        self._pair = pair
        self._others = others

    async def succeeded(self) -> None:
        """The password was right: forget this e-mail's failures from this address, and take
        this attempt back from the others (their earlier failures stay)."""
        try:
            await self._counters.delete([self._pair])
            await self._counters.subtract(self._others)
        except CountersUnavailable:
            pass  # the attempt stays counted until its window ends: harmless

    async def not_checked(self) -> None:
        """The password was never checked (the server was busy): not a failure."""
        try:
            await self._counters.subtract([self._pair, *self._others])
        except CountersUnavailable:
            pass  # as in succeeded()


class LoginThrottle:
    """Decides whether a password check for an e-mail from a client address may go ahead."""

    def __init__(self, counters: Counters | None = None, limits: LoginLimits | None = None) -> None:
        self.counters: Counters = counters if counters is not None else MemoryCounters()
        self.limits = limits or LoginLimits()

    async def attempt(self, email: str, address: str | None) -> LoginAttempt | None:
        """Count an attempt for ``email`` (normalized) from ``address`` (None: unknown); None
        when one of the counters is already at its limit (the attempt is then not counted)."""
        lim = self.limits
        who = _digest(email)
        where = address or "unknown"
        pair, per_address, per_email = f"pair:{who}:{where}", f"addr:{where}", f"email:{who}"
        values = await self.counters.add(
            [(pair, lim.pair_window), (per_address, lim.address_window), (per_email, lim.email_window)]
        )
        if values[0] > lim.per_pair or values[1] > lim.per_address or values[2] > lim.per_email:
            await self.counters.subtract([pair, per_address, per_email])
            return None
        return LoginAttempt(self.counters, pair, (per_address, per_email))
