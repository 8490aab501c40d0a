"""The login throttle's rule over both stores: in process, and Redis shared by two throttles (as
two API processes share it). Redis runs on the PostgreSQL + Redis leg (HUB_TEST_REDIS_URL)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from hub.domain.auth.throttle import Counters, LoginLimits, LoginThrottle, MemoryCounters
from hub.login_counters import RedisCounters
from tests.conftest import REDIS_URL

STORES = ["memory"] + (["redis"] if REDIS_URL else [])


@pytest.fixture(params=STORES)
async def new_counters(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], Counters]]:
    """Makes counters that share one store: the same dict (memory), or one Redis key prefix
    (redis: two clients, as two processes have)."""
    if request.param == "memory":
        shared = MemoryCounters()
        yield lambda: shared
        return
    assert REDIS_URL is not None
    prefix = f"test:login:{uuid.uuid4().hex}:"
    made: list[RedisCounters] = []

    def make() -> Counters:
        made.append(RedisCounters(REDIS_URL, prefix=prefix))
        return made[-1]

    yield make
    cleanup = RedisCounters(REDIS_URL)
    keys = [k async for k in cleanup._redis.scan_iter(match=f"{prefix}*")]
    if keys:
        await cleanup._redis.delete(*keys)
    for counters in [*made, cleanup]:
        await counters.aclose()


async def fail(throttle: LoginThrottle, email: str, address: str) -> bool:
    """One failed login; False when it was refused as throttled (not counted)."""
    return await throttle.attempt(email, address) is not None


async def test_failures_are_shared_between_two_throttles(new_counters: Callable[[], Counters]) -> None:
    # given two throttles over one store (two API processes)
    one, two = LoginThrottle(new_counters()), LoginThrottle(new_counters())
    # when five logins for a dealer fail, alternately on each
    for n in range(5):
        assert await fail(one if n % 2 else two, "dealer@x.com", "1.2.3.4")
    # then the sixth is refused on both, also with the right password to come
    assert await one.attempt("dealer@x.com", "1.2.3.4") is None
    assert await two.attempt("dealer@x.com", "1.2.3.4") is None
    # while the dealer from its own address is not locked out
    attempt = await two.attempt("dealer@x.com", "5.6.7.8")
    assert attempt is not None
    await attempt.succeeded()


async def test_one_address_spraying_many_emails_is_stopped(new_counters: Callable[[], Counters]) -> None:
    throttle = LoginThrottle(new_counters(), LoginLimits(per_address=30))
    # one address trying one password on 30 accounts, known or not
    for n in range(30):
        assert await fail(throttle, f"user{n}@x.com", "6.6.6.6")
    # is refused for the 31st account, a fresh one
    assert await throttle.attempt("fresh@x.com", "6.6.6.6") is None
    # another address is not affected
    assert await throttle.attempt("fresh@x.com", "7.7.7.7") is not None


async def test_a_success_clears_the_pair_and_a_busy_check_is_not_a_failure(
    new_counters: Callable[[], Counters],
) -> None:
    throttle = LoginThrottle(new_counters())
    for _ in range(4):
        assert await fail(throttle, "a@x.com", "1.1.1.1")
    # a check the server was too busy to make does not count
    for _ in range(10):
        attempt = await throttle.attempt("a@x.com", "1.1.1.1")
        assert attempt is not None
        await attempt.not_checked()
    # the fifth failure still gets through, and then a success clears the pair's count
    attempt = await throttle.attempt("a@x.com", "1.1.1.1")
    assert attempt is not None
    await attempt.succeeded()
    for _ in range(5):
        assert await fail(throttle, "a@x.com", "1.1.1.1")
    assert await throttle.attempt("a@x.com", "1.1.1.1") is None


async def test_many_addresses_reach_the_per_email_ceiling(new_counters: Callable[[], Counters]) -> None:
    # the trade-off documented in docs/security.md: the per-email ceiling is far above the pair's
    throttle = LoginThrottle(new_counters(), LoginLimits(per_email=12))
    for n in range(12):
        assert await fail(throttle, "dealer@x.com", f"10.0.0.{n}")
    assert await throttle.attempt("dealer@x.com", "10.0.1.1") is None
    # refused attempts were not counted: the other counters of those addresses are untouched
    assert await throttle.attempt("other@x.com", "10.0.1.1") is not None
