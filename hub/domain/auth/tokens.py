"""Signed, expiring access tokens (JWT, HS256) that name the caller.

A token proves *who* logged in and *when*; what that user may do is read from the users row on
every request (:func:`hub.domain.auth.sessions.current_principal`), so a demoted, deactivated
or deleted user's tokens lose what was taken away at once. The roles and customer stay in the
claims for clients that read them, but the hub never trusts them.

A token lives at most ``HUB_TOKEN_TTL_SECONDS`` after its ``iat`` (8 h by default), whatever
its ``exp`` says: a token signed with a longer ``exp`` (by an older configuration, or a key that
leaked into a script) is capped to the configured lifetime.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

import jwt

from hub.domain.auth.principal import Principal

__all__ = ["TokenClaims", "TokenProblem", "TokenService"]

_ALGORITHM = "HS256"
_CACHE_SIZE = 10_000
# A token issued this far in the future is refused: only clock skew between the hub's own
# processes explains an ``iat`` ahead of now (tokens are issued at most 1 s ahead, see
# :func:`hub.domain.auth.sessions.issue_time`).
_FUTURE_LEEWAY = 60


class TokenProblem(StrEnum):
    """Why a bearer token does not name a caller (the request then runs as anonymous)."""

    EXPIRED = "expired"  # genuine, but past its lifetime
    INVALID = "invalid"  # anything else: malformed, forged, revoked, user gone or deactivated


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a genuine token says: the user and when it was issued (epoch seconds)."""

    user_id: int
    issued_at: int
    expires_at: int  # min(exp, iat + TTL)


class TokenService:
    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = secret_key
        self._ttl = ttl_seconds
        # token -> its claims: verifying the signature is the hot path of every request.
        self._cache: OrderedDict[str, TokenClaims] = OrderedDict()

    @property
    def ttl_seconds(self) -> int:
        return self._ttl

    def issue(self, principal: Principal, now: float | None = None) -> str:
        """A token for ``principal`` issued at ``now`` (epoch seconds; the current time when
        None), valid for the configured lifetime."""
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": str(principal.user_id),
            "email": principal.email,
            "roles": sorted(r.value for r in principal.roles),
            "cid": principal.customer_id,
            "iat": issued,
            "exp": issued + self._ttl,
            "typ": "access",
        }
        return jwt.encode(claims, self._key, algorithm=_ALGORITHM)

    def claims(self, token: str, now: float | None = None) -> TokenClaims | TokenProblem:
        """The user and issue time a genuine, unexpired token names; otherwise why not.

        A token is expired once ``min(exp, iat + TTL)`` has passed. Anything malformed,
        tampered, signed with another key or algorithm, of another ``typ`` or issued in the
        future is INVALID. Whether the user still exists, is active and has not ended its
        sessions since ``iat`` is for :func:`hub.domain.auth.sessions.current_principal`.
        """
        at = time.time() if now is None else now
        hit = self._cache.get(token)
        if hit is None:
            decoded = self._decode(token)
            if isinstance(decoded, TokenProblem):
                return decoded
            hit = decoded
            self._cache[token] = hit
            if len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(token)
        if hit.issued_at > at + _FUTURE_LEEWAY:
            return TokenProblem.INVALID
        if hit.expires_at <= at:
            return TokenProblem.EXPIRED
        return hit

    def _decode(self, token: str) -> TokenClaims | TokenProblem:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                # Expiry and issue time are checked by ``claims`` against the capped lifetime.
                options={"require": ["exp", "iat", "sub"], "verify_exp": False, "verify_iat": False},
            )
            if claims.get("typ") != "access":
                return TokenProblem.INVALID
            iat, exp = claims["iat"], claims["exp"]
            if not isinstance(iat, int) or not isinstance(exp, int) or isinstance(iat, bool):
                return TokenProblem.INVALID
            user_id = int(claims["sub"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            return TokenProblem.INVALID
        if not 0 < user_id < 2**31:
            return TokenProblem.INVALID
        return TokenClaims(user_id=user_id, issued_at=iat, expires_at=min(exp, iat + self._ttl))
