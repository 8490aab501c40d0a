"""A per-peer sliding window: how many calls a peer took in the last ``period`` seconds.

Chat robots limit messages per minute; a notifier counts what it sent and, at the limit, raises
a transient error with the wait instead of calling, so the job retries and nothing is dropped.
The window is shared by every connector instance of the process (keyed by a digest of the
robot's key, never the key itself)."""

from __future__ import annotations

import hashlib
import threading
from collections import deque

__all__ = ["SlidingWindow", "robot_id"]


def robot_id(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


class SlidingWindow:
    def __init__(self, period: float = 60.0) -> None:
        self.period = period
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, peer: str, limit: int, now: float) -> float:
        """0 when a call may go now (and counts it), else the seconds to wait."""
        with self._lock:
            calls = self._calls.setdefault(peer, deque())
            while calls and now - calls[0] >= self.period:
                calls.popleft()
            if len(calls) >= limit:
                return self.period - (now - calls[0])
            calls.append(now)
            return 0.0

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()
