"""Sessions that can be ended: who a token's user is *now*, checked on every request.

A token (:mod:`hub.domain.auth.tokens`) only names a user and its issue time. For each
authenticated request the hub takes that user's row (read by primary key: one indexed
statement, or from a per-process cache of a few seconds, :class:`UserStateCache`) and builds
the request's :class:`Principal` from it, so the roles and customer are the user's current
ones. The token counts as invalid (the request runs as anonymous) when the user no longer
exists, is deactivated (or acts for a deactivated customer account), or ended its sessions
after the token was issued (``users.tokens_valid_after``: a password change or reset, a
deactivation).

Issue times are whole seconds (JWT ``iat``). Ending sessions at time t sets
``tokens_valid_after`` to the *next* whole second, so every token issued up to t (the same
second included) stops counting, and tokens issued afterwards carry an ``iat`` no earlier than
it (:func:`issue_time`), so a login in the same second still works.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.models import Role, User
from hub.domain.auth.principal import Principal
from hub.domain.auth.tokens import TokenClaims
from hub.domain.base import table_of
from hub.domain.customers.models import Customer
from hub.domain.fastsql import Statement

__all__ = [
    "UserState",
    "UserStateCache",
    "check_caller",
    "current_principal",
    "end_sessions",
    "issue_time",
    "load_user_state",
    "principal_for",
]

_users = table_of(User)
_customers = table_of(Customer)
# The user's customer account joined in (same one statement): a deactivated customer's users
# count as deactivated.
_USER = Statement(
    select(
        _users.c.email,
        _users.c.roles,
        _users.c.customer_id,
        _users.c.active,
        _users.c.tokens_valid_after,
        _customers.c.active,
    )
    .select_from(_users.outerjoin(_customers, _customers.c.id == _users.c.customer_id))
    .where(_users.c.id == bindparam("id"))
)


@dataclass(frozen=True, slots=True)
class UserState:
    """What a request needs of its user's row."""

    email: str
    roles: frozenset[Role]
    customer_id: int | None
    active: bool
    valid_after: int | None  # epoch seconds: tokens issued before no longer count


async def load_user_state(session: AsyncSession, user_id: int) -> UserState | None:
    """The user's current state (None when no such user). One statement by primary key."""
    rows = await _USER.all(session, {"id": user_id})
    if not rows:
        return None
    email, roles_text, customer_id, active, valid_after, customer_active = rows[0]
    return UserState(
        email=email,
        roles=frozenset(Role(r) for r in roles_text.split(",") if r),
        customer_id=customer_id,
        # A user of a deactivated customer account is as good as deactivated.
        active=bool(active) and (customer_id is None or bool(customer_active)),
        valid_after=None if valid_after is None else _epoch(valid_after),
    )


def principal_for(claims: TokenClaims, state: UserState | None) -> Principal | None:
    """The caller a genuine token names, as its user is now; None when the user is gone,
    deactivated, or ended its sessions after the token was issued."""
    if state is None or not state.active:
        return None
    if state.valid_after is not None and claims.issued_at < state.valid_after:
        return None
    return Principal(
        user_id=claims.user_id, email=state.email, roles=state.roles, customer_id=state.customer_id
    )


async def current_principal(session: AsyncSession, claims: TokenClaims) -> Principal | None:
    """:func:`principal_for` the user's row as it is now (one statement)."""
    return principal_for(claims, await load_user_state(session, claims.user_id))


class UserStateCache:
    """Users' states for up to ``seconds`` (0: no cache), per process, at most ``size`` users.

    :meth:`forget` drops a user at once; the mutations that change a user call it after they
    commit, so the process that made a change sees it at its next request. Other processes see
    it within ``seconds`` (``HUB_USER_CACHE_SECONDS``, 2 by default).
    """

    def __init__(self, seconds: float, size: int = 10_000) -> None:
        self.seconds = seconds
        self._size = size
        self._states: OrderedDict[int, tuple[float, UserState | None]] = OrderedDict()

    def get(self, user_id: int, now: float | None = None) -> tuple[bool, UserState | None]:
        """(True, state) when known for less than ``seconds``; (False, None) otherwise."""
        hit = self._states.get(user_id)
        if hit is None:
            return False, None
        if hit[0] <= (time.monotonic() if now is None else now):
            del self._states[user_id]
            return False, None
        return True, hit[1]

    def put(self, user_id: int, state: UserState | None, now: float | None = None) -> None:
        if self.seconds <= 0:
            return
        self._states.pop(user_id, None)
        self._states[user_id] = ((time.monotonic() if now is None else now) + self.seconds, state)
        while len(self._states) > self._size:
            self._states.popitem(last=False)

    def forget(self, user_id: int) -> None:
        self._states.pop(user_id, None)


async def check_caller(
    claims: TokenClaims,
    cache: UserStateCache,
    read: Callable[[], AbstractAsyncContextManager[AsyncSession]],
) -> Principal | None:
    """The request's caller for a genuine token: :func:`principal_for` its user's state, from
    ``cache`` or read in a session from ``read`` (one statement). Called once per request."""
    hit, state = cache.get(claims.user_id)
    if not hit:
        async with read() as session:
            state = await load_user_state(session, claims.user_id)
        cache.put(claims.user_id, state)
    return principal_for(claims, state)


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
