"""Tokens name a user and an issue time; their lifetime is capped to the configured TTL."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt

from hub.domain.auth.models import Role, User
from hub.domain.auth.principal import Principal
from hub.domain.auth.sessions import UserState, UserStateCache, end_sessions, issue_time
from hub.domain.auth.tokens import TokenClaims, TokenProblem, TokenService

KEY = "test-secret-key-0123456789-abcdefghijklmnop"
NOW = 1_800_000_000
ADMIN = Principal(7, "admin@test.hub", frozenset({Role.ADMIN}))


def test_an_issued_token_names_its_user_until_the_ttl_has_passed() -> None:
    # given a token issued now with a TTL of one hour
    tokens = TokenService(KEY, 3600)
    token = tokens.issue(ADMIN, now=NOW)
    # when it is read just before and at the end of its lifetime
    # then it names the user, and then has expired
    assert tokens.claims(token, now=NOW + 3599) == TokenClaims(
        user_id=7, issued_at=NOW, expires_at=NOW + 3600
    )
    assert tokens.claims(token, now=NOW + 3600) == TokenProblem.EXPIRED


def test_an_exp_beyond_the_ttl_is_capped_to_iat_plus_ttl() -> None:
    # given a token signed with the hub's key whose exp is a year after its iat
    tokens = TokenService(KEY, 3600)
    claims = {"sub": "7", "iat": NOW, "exp": NOW + 365 * 86400, "typ": "access"}
    token = jwt.encode(claims, KEY, algorithm="HS256")
    # when it is read after iat + TTL, then it has expired
    assert tokens.claims(token, now=NOW + 3599) == TokenClaims(
        user_id=7, issued_at=NOW, expires_at=NOW + 3600
    )
    assert tokens.claims(token, now=NOW + 3600) == TokenProblem.EXPIRED
    # and a cached read is capped the same way
    assert tokens.claims(token, now=NOW + 7200) == TokenProblem.EXPIRED


def test_anything_not_a_genuine_access_token_is_invalid() -> None:
    tokens = TokenService(KEY, 3600)
    genuine = tokens.issue(ADMIN, now=NOW)
    other_key = TokenService("another-secret-key-that-is-long-enough-0123456789", 3600).issue(ADMIN, now=NOW)
    refresh = jwt.encode({"sub": "7", "iat": NOW, "exp": NOW + 60, "typ": "refresh"}, KEY, algorithm="HS256")
    no_iat = jwt.encode({"sub": "7", "exp": NOW + 60, "typ": "access"}, KEY, algorithm="HS256")
    bad_sub = jwt.encode({"sub": "x", "iat": NOW, "exp": NOW + 60, "typ": "access"}, KEY, algorithm="HS256")
    future = jwt.encode(
        {"sub": "7", "iat": NOW + 3600, "exp": NOW + 7200, "typ": "access"}, KEY, algorithm="HS256"
    )
    for token in ("", "garbage", genuine[:-3] + "abc", other_key, refresh, no_iat, bad_sub, future):
        assert tokens.claims(token, now=NOW) == TokenProblem.INVALID, token


def test_ending_sessions_drops_tokens_of_the_same_second_and_later_logins_count() -> None:
    # given a user whose sessions end at NOW + 0.3 s
    user = User(id=7, email="a@test.hub", roles_text="ADMIN", active=True)
    assert issue_time(user, now=NOW + 0.2) == NOW
    end_sessions(user, now=NOW + 0.3)
    # then tokens issued up to that second stop counting (valid from the next second), and a
    # token issued in the same second afterwards carries that next second as its iat
    assert user.tokens_valid_after == datetime.fromtimestamp(NOW + 1, UTC)
    assert issue_time(user, now=NOW + 0.5) == NOW + 1
    assert issue_time(user, now=NOW + 5) == NOW + 5


def test_the_user_cache_keeps_a_state_for_its_seconds_and_forgets_on_demand() -> None:
    state = UserState("a@test.hub", frozenset({Role.SALES}), None, True, None)
    cache = UserStateCache(2, size=2)
    # a state (or a missing user) is kept for the cache's seconds
    cache.put(1, state, now=100.0)
    cache.put(2, None, now=100.0)
    assert cache.get(1, now=101.9) == (True, state)
    assert cache.get(2, now=101.9) == (True, None)
    assert cache.get(1, now=102.0) == (False, None)
    # forget drops it at once; beyond its size the oldest goes
    cache.put(1, state, now=200.0)
    cache.forget(1)
    assert cache.get(1, now=200.0) == (False, None)
    for uid in (3, 4, 5):
        cache.put(uid, state, now=300.0)
    assert [cache.get(uid, now=300.0)[0] for uid in (3, 4, 5)] == [False, True, True]
    # and with 0 seconds nothing is kept
    off = UserStateCache(0)
    off.put(1, state, now=0.0)
    assert off.get(1, now=0.0) == (False, None)
