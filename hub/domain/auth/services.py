"""Logging in and managing users."""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.models import Role, User
from hub.domain.auth.passwords import hash_password, verify_password
from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.customers.models import Customer
from hub.domain.errors import DomainError
from hub.domain.validation import check_clean

__all__ = ["LoginThrottle", "authenticate", "create_user", "principal_of"]

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,60}$")
LOGIN_FAILED = "Email or password is wrong"
LOGIN_THROTTLED = "Too many failed attempts for this email; try again in a few minutes"
MIN_PASSWORD = 8


class LoginThrottle:
    """At most ``limit`` failed logins per email within ``window`` seconds (per process)."""

    def __init__(self, limit: int = 5, window: float = 300.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, email: str, now: float) -> deque[float]:
        q = self._failures.get(email) or deque()
        while q and q[0] <= now - self.window:
            q.popleft()
        return q

    def blocked(self, email: str) -> bool:
        return len(self._recent(email, time.monotonic())) >= self.limit

    def failed(self, email: str) -> None:
        now = time.monotonic()
        q = self._recent(email, now)
        q.append(now)
        self._failures.pop(email, None)
        self._failures[email] = q  # most recently failed last
        while len(self._failures) > 100_000:  # bound memory: forget the stalest emails first
            del self._failures[next(iter(self._failures))]

    def succeeded(self, email: str) -> None:
        self._failures.pop(email, None)


def normalize_email(email: str) -> str:
    """Stripped and lower case.

    Raises:
        DomainError: INVALID for an address with a NUL or other control character.
    """
    return check_clean(email, "email").strip().lower()


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, email=user.email, roles=user.roles, customer_id=user.customer_id)


async def authenticate(session: AsyncSession, email: str, password: str, throttle: LoginThrottle) -> User:
    """The active user with this email and password.

    Raises:
        DomainError: INVALID, with one message for an unknown email and a wrong password,
            and another once the email has failed too often.
    """
    key = normalize_email(email)
    if throttle.blocked(key):
        raise DomainError.invalid(LOGIN_THROTTLED)
    user = (await session.execute(select(User).where(User.email == key))).scalar_one_or_none()
    ok = await verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        throttle.failed(key)
        raise DomainError.invalid(LOGIN_FAILED)
    throttle.succeeded(key)
    return user


async def create_user(
    session: AsyncSession,
    actor: Principal | None,
    *,
    email: str,
    password: str,
    roles: Sequence[Role],
    customer_id: int | None,
) -> User:
    """Create a user. ``actor`` None means the trusted CLI (``hub create-admin``).

    Raises:
        DomainError: PERMISSION_DENIED unless ADMIN; INVALID for a bad email, a short password,
            no roles, CUSTOMER mixed with staff roles, or a customer id given/missing wrongly;
            NOT_FOUND for an unknown customer; INVALID for an email in use.
    """
    if actor is not None:
        require(actor, Action.USER_MANAGE)
    problems = []
    norm = normalize_email(email)
    if not EMAIL_RE.match(norm) or len(norm) > 254:
        problems.append(DomainError.invalid("Enter a valid email address", "email"))
    if len(password) < MIN_PASSWORD or len(password) > 256:
        problems.append(DomainError.invalid(f"Password must be {MIN_PASSWORD} to 256 characters", "password"))
    role_set = frozenset(roles)
    if not role_set:
        problems.append(DomainError.invalid("Give at least one role", "roles"))
    if Role.CUSTOMER in role_set:
        if len(role_set) > 1:
            problems.append(DomainError.invalid("A CUSTOMER user cannot also hold staff roles", "roles"))
        if customer_id is None:
            problems.append(DomainError.invalid("customerId is required for a CUSTOMER user", "customerId"))
    elif customer_id is not None:
        problems.append(
            DomainError.invalid("customerId is only for users with the CUSTOMER role", "customerId")
        )
    if problems:
        raise DomainError([p for e in problems for p in e.problems])
    if customer_id is not None and await session.get(Customer, customer_id) is None:
        raise DomainError.not_found("Customer", "customerId")
    taken = await session.scalar(select(func.count()).select_from(User).where(User.email == norm))
    if taken:
        raise DomainError.invalid("A user with this email already exists", "email")
    user = User(
        email=norm,
        password_hash=await hash_password(password),
        roles_text=",".join(sorted(r.value for r in role_set)),
        customer_id=customer_id,
        active=True,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise DomainError.invalid("A user with this email already exists", "email") from None
    return user
