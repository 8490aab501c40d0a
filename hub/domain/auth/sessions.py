"""Sessions that can be ended: who a token's user is *now*, checked on every request.

A token (:mod:`hub.domain.auth.tokens`) only names a user and its issue time. For each
authenticated request the hub reads that user's row by primary key (one indexed statement, no
cache: a change is seen at once by every process) and builds the request's :class:`Principal`
from it, so the roles and customer are the user's current ones. The token counts as invalid
(the request runs as anonymous) when the user no longer exists, is deactivated, or ended its
sessions after the token was issued (``users.tokens_valid_after``: a password change or reset,
a deactivation).

Issue times are whole seconds (JWT ``iat``). Ending sessions at time t sets
``tokens_valid_after`` to the *next* whole second, so every token issued up to t (the same
second included) stops counting, and tokens issued afterwards carry an ``iat`` no earlier than
it (:func:`issue_time`), so a login in the same second still works.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.models import Role, User
from hub.domain.auth.principal import Principal
from hub.domain.auth.tokens import TokenClaims
from hub.domain.base import table_of
from hub.domain.fastsql import Statement

__all__ = ["current_principal", "end_sessions", "issue_time"]

_users = table_of(User)
_USER = Statement(
    select(
        _users.c.email,
        _users.c.roles,
        _users.c.customer_id,
        _users.c.active,
        _users.c.tokens_valid_after,
    ).where(_users.c.id == bindparam("id"))
)


async def current_principal(session: AsyncSession, claims: TokenClaims) -> Principal | None:
    """The caller a genuine token names, as the users row says it is now; None when the user
    is gone, deactivated, or ended its sessions after the token was issued. One statement."""
    rows = await _USER.all(session, {"id": claims.user_id})
    if not rows:
        return None
    email, roles_text, customer_id, active, valid_after = rows[0]
    if not active:
        return None
    if valid_after is not None and claims.issued_at < _epoch(valid_after):
        return None
    return Principal(
        user_id=claims.user_id,
        email=email,
        roles=frozenset(Role(r) for r in roles_text.split(",") if r),
        customer_id=customer_id,
    )


def end_sessions(user: User, now: float | None = None) -> None:
    """Make every token of ``user`` issued up to ``now`` stop counting (the caller flushes)."""
    at = time.time() if now is None else now
    user.tokens_valid_after = datetime.fromtimestamp(math.floor(at) + 1, UTC)


def issue_time(user: User, now: float | None = None) -> int:
    """The ``iat`` for a token issued to ``user`` now: never before its ``tokens_valid_after``
    (at most one second ahead of the clock), so a token issued right after its sessions were
    ended counts."""
    at = int(time.time() if now is None else now)
    if user.tokens_valid_after is None:
        return at
    return max(at, _epoch(user.tokens_valid_after))


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None:  # SQLite through the driver path would be naive; it is UTC
        moment = moment.replace(tzinfo=UTC)
    return math.ceil(moment.timestamp())
