"""The login throttle's counters in Redis (``HUB_REDIS_URL``), shared by every API process:
:class:`hub.domain.auth.throttle.Counters` over ``redis.asyncio``. Each operation is one Lua
script, atomic across processes. Keys are ``hub:login:…`` and carry no e-mail addresses."""

from __future__ import annotations

from collections.abc import Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from hub.domain.auth.throttle import CountersUnavailable

__all__ = ["RedisCounters"]

_ADD = """
local out = {}
for i, key in ipairs(KEYS) do
  out[i] = redis.call('INCR', key)
  if redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[i]) end
end
return out
"""
_SUBTRACT = """
for _, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then redis.call('DECR', key) end
end
return 0
"""


class RedisCounters:
    """Expiring counters in Redis. Raises :class:`CountersUnavailable` when Redis does not
    answer (logins are then refused as retryable, never let through unthrottled)."""

    def __init__(self, url: str, prefix: str = "hub:login:") -> None:
        self.prefix = prefix
        self._redis = aioredis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._add = self._redis.register_script(_ADD)
        self._subtract = self._redis.register_script(_SUBTRACT)

    async def add(self, keys: Sequence[tuple[str, int]]) -> list[int]:
        try:
            values = await self._add(keys=[self.prefix + k for k, _ in keys], args=[w for _, w in keys])
        except RedisError as e:
            raise CountersUnavailable(str(e)) from e
        return [int(v) for v in values]

    async def subtract(self, keys: Sequence[str]) -> None:
        try:
            await self._subtract(keys=[self.prefix + k for k in keys])
        except RedisError as e:
            raise CountersUnavailable(str(e)) from e

    async def delete(self, keys: Sequence[str]) -> None:
        try:
            await self._redis.delete(*[self.prefix + k for k in keys])
        except RedisError as e:
            raise CountersUnavailable(str(e)) from e

    async def aclose(self) -> None:
        await self._redis.aclose()
