"""Signed, expiring access tokens (JWT, HS256) that carry the caller's identity.

The roles and customer are in the signed claims, so a request needs no database read to know
who is calling; a change of roles takes effect at the next login (tokens live
``HUB_TOKEN_TTL_SECONDS``, 8 h by default).
"""

from __future__ import annotations

import time
from collections import OrderedDict

import jwt

from hub.domain.auth.models import Role
from hub.domain.auth.principal import Principal

__all__ = ["TokenService"]

_ALGORITHM = "HS256"
_CACHE_SIZE = 10_000


class TokenService:
    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = secret_key
        self._ttl = ttl_seconds
        # token -> (principal, expires_at): decoding is the hot path of every request.
        self._cache: OrderedDict[str, tuple[Principal, int]] = OrderedDict()

    def issue(self, principal: Principal, now: float | None = None) -> str:
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

    def principal(self, token: str) -> Principal | None:
        """The caller a token names, or None for anything invalid, tampered or expired."""
        now = time.time()
        hit = self._cache.get(token)
        if hit is not None:
            if hit[1] > now:
                self._cache.move_to_end(token)
                return hit[0]
            del self._cache[token]
            return None
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[_ALGORITHM],
                options={"require": ["exp", "iat", "sub"]},
            )
            if claims.get("typ") != "access":
                return None
            cid = claims.get("cid")
            principal = Principal(
                user_id=int(claims["sub"]),
                email=str(claims["email"]),
                roles=frozenset(Role(r) for r in claims["roles"]),
                customer_id=int(cid) if cid is not None else None,
            )
            expires = int(claims["exp"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError):
            return None
        self._cache[token] = (principal, expires)
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return principal
