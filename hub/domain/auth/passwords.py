"""Password hashing with argon2id (argon2-cffi), off the event loop, a bounded number at once."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.domain.errors import DomainError, ErrorCode

__all__ = ["SERVER_BUSY", "PasswordChecks", "default_concurrency", "hash_password", "verify_password"]

T = TypeVar("T")

_hasher = PasswordHasher()
# Verified when the email is unknown, so both failures cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
SERVER_BUSY = "The server is busy checking other passwords; retry in 1 second"


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; False otherwise (also for ``None``, at the same cost)."""

    def _verify() -> bool:
        try:
            return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(_verify)


def default_concurrency() -> int:
    """Twice the CPUs this process may use."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return 2 * (cpus or 1)


class PasswordChecks:
    """At most ``limit`` argon2 hashes or verifications at once in this process, and at most
    ``queue`` more waiting for a turn; any more are refused at once with :data:`busy`.

    Each argon2 call takes tens of milliseconds of CPU and 64 MiB of memory: 64 logins at once
    took 7 s each and 480 MB. Refusing the excess answers it quickly and keeps the memory flat.
    """

    def __init__(self, limit: int, queue: int | None = None) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.queue = limit if queue is None else queue
        self._turns = asyncio.Semaphore(limit)
        self._admitted = 0  # running or waiting

    @staticmethod
    def busy(field: str | None = None) -> DomainError:
        """The retryable refusal (code ``UNAVAILABLE``)."""
        return DomainError.one(ErrorCode.UNAVAILABLE, SERVER_BUSY, field)

    async def _bounded(self, work: Callable[[], Awaitable[T]], field: str | None) -> T:
        if self._admitted >= self.limit + self.queue:
            raise self.busy(field)
        self._admitted += 1
        try:
            async with self._turns:
                return await work()
        finally:
            self._admitted -= 1

    async def verify(self, password_hash: str | None, password: str, field: str | None = None) -> bool:
        """:func:`verify_password`, bounded.

        Raises:
            DomainError: UNAVAILABLE (on ``field``) when the server is busy: nothing was checked.
        """
        return await self._bounded(lambda: verify_password(password_hash, password), field)

    async def hash(self, password: str, field: str | None = None) -> str:
        """:func:`hash_password`, bounded.

        Raises:
            DomainError: UNAVAILABLE (on ``field``) when the server is busy.
        """
        return await self._bounded(lambda: hash_password(password), field)
