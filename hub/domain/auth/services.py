"""Logging in and managing users."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Final

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.models import Role, User
from hub.domain.auth.passwords import PasswordChecks, hash_password
from hub.domain.auth.policy import Action, require
from hub.domain.auth.principal import Principal
from hub.domain.auth.sessions import end_sessions
from hub.domain.auth.throttle import CountersUnavailable, LoginAttempt, LoginThrottle
from hub.domain.customers.models import Customer
from hub.domain.customers.segments import set_user_regions
from hub.domain.errors import DomainError, ErrorCode, Problem
from hub.domain.validation import check_clean

__all__ = [
    "KEEP",
    "Keep",
    "LoginThrottle",
    "PasswordGuard",
    "authenticate",
    "change_password",
    "create_user",
    "password_problems",
    "principal_of",
    "role_problems",
    "set_password",
    "update_user",
]

EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,60}$")
LOGIN_FAILED = "Email or password is wrong"
LOGIN_THROTTLED = "Too many failed attempts; try again in a few minutes"
MIN_PASSWORD = 8


def role_problems(roles: frozenset[Role], customer_id: int | None) -> list[DomainError]:
    """What is wrong with a user holding ``roles`` bound to ``customer_id`` (API.md: a CUSTOMER
    user needs a customer and holds no staff role; staff users have no customer)."""
    problems = []
    if not roles:
        problems.append(DomainError.invalid("Give at least one role", "roles"))
    if Role.CUSTOMER in roles:
        if len(roles) > 1:
            problems.append(DomainError.invalid("A CUSTOMER user cannot also hold staff roles", "roles"))
        if customer_id is None:
            problems.append(DomainError.invalid("customerId is required for a CUSTOMER user", "customerId"))
    elif customer_id is not None:
        problems.append(
            DomainError.invalid("customerId is only for users with the CUSTOMER role", "customerId")
        )
    return problems


def password_problems(password: str, field: str) -> list[DomainError]:
    """What is wrong with a new password (8 to 256 characters)."""
    if len(password) < MIN_PASSWORD or len(password) > 256:
        return [DomainError.invalid(f"Password must be {MIN_PASSWORD} to 256 characters", field)]
    return []


async def _require_customer_exists(session: AsyncSession, customer_id: int | None) -> None:
    """Raises: DomainError NOT_FOUND (field customerId) for an unknown customer id."""
    if customer_id is not None and await session.get(Customer, customer_id) is None:
        raise DomainError.not_found("Customer", "customerId")


def normalize_email(email: str) -> str:
    """Stripped and lower case.

    Raises:
        DomainError: INVALID for an address with a NUL or other control character.
    """
    return check_clean(email, "email").strip().lower()


def principal_of(user: User) -> Principal:
    return Principal(user_id=user.id, email=user.email, roles=user.roles, customer_id=user.customer_id)


async def _attempt(
    guard: PasswordGuard, email: str, address: str | None, field: str | None
) -> LoginAttempt | None:
    """:meth:`LoginThrottle.attempt`.

    Raises:
        DomainError: UNAVAILABLE when the throttle's store does not answer (fail closed).
    """
    try:
        return await guard.throttle.attempt(email, address)
    except CountersUnavailable:
        raise guard.checks.busy(field) from None


@dataclass(frozen=True, slots=True)
class PasswordGuard:
    """What stands before every check of a password a client sent: the throttle (failures per
    e-mail and client address) and the bound on concurrent hashing."""

    throttle: LoginThrottle
    checks: PasswordChecks


async def authenticate(
    session: AsyncSession, email: str, password: str, guard: PasswordGuard, address: str | None
) -> User:
    """The active user with this email and password, for a client at ``address`` (a
    customer user's customer account must be active too).

    Raises:
        DomainError: INVALID, with one message for an unknown email and a wrong password, and
            another once the email or the address has failed too often (see
            :mod:`hub.domain.auth.throttle`; unknown emails alike); UNAVAILABLE when too many
            passwords are being checked at once (not counted as a failure: retry).
    """
    key = normalize_email(email)
    attempt = await _attempt(guard, key, address, None)
    if attempt is None:
        raise DomainError.invalid(LOGIN_THROTTLED)
    checked = False
    try:
        user = (await session.execute(select(User).where(User.email == key))).scalar_one_or_none()
        ok = await guard.checks.verify(user.password_hash if user else None, password)
        checked = True
    finally:
        if not checked:  # busy, or the database failed: not the client's failure
            await attempt.not_checked()
    if user is None or not ok or not user.active:
        raise DomainError.invalid(LOGIN_FAILED)
    if user.customer_id is not None and not await session.scalar(
        select(Customer.active).where(Customer.id == user.customer_id)
    ):  # the users of a deactivated customer account cannot log in, as if deactivated
        raise DomainError.invalid(LOGIN_FAILED)
    await attempt.succeeded()
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
    problems.extend(password_problems(password, "password"))
    role_set = frozenset(roles)
    problems.extend(role_problems(role_set, customer_id))
    if problems:
        raise DomainError([p for e in problems for p in e.problems])
    await _require_customer_exists(session, customer_id)
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


class Keep(Enum):
    """An omitted field of an update: leave it as it is."""

    KEEP = "KEEP"


KEEP: Final = Keep.KEEP


async def _user_for_update(session: AsyncSession, user_id: int) -> User:
    """The user, its row locked until the transaction ends (PostgreSQL).

    Raises:
        DomainError: NOT_FOUND (field ``id``).
    """
    user = (
        await session.execute(select(User).where(User.id == user_id).with_for_update())
    ).scalar_one_or_none()
    if user is None:
        raise DomainError.not_found("User", "id")
    return user


async def update_user(
    session: AsyncSession,
    actor: Principal,
    user_id: int,
    *,
    roles: Sequence[Role] | Keep = KEEP,
    customer_id: int | None | Keep = KEEP,
    region_ids: Sequence[int] | Keep = KEEP,
    active: bool | Keep = KEEP,
) -> User:
    """Change a user's roles, customer or active flag; what is ``KEEP`` stays as it is.

    The result must satisfy the rule of :func:`role_problems` (a CUSTOMER user has a customer,
    staff have none). Roles and customer take effect at the user's next request (each request
    reads them); deactivating also ends the user's sessions, so its tokens stay invalid after a
    reactivation.

    Raises:
        DomainError: PERMISSION_DENIED unless the actor may update users (ADMIN); NOT_FOUND for
            an unknown user (field ``id``) or customer (``customerId``); INVALID for roles and
            customer that do not fit together, for an admin removing its own ADMIN role or
            deactivating itself (that would lock it out), and for regions given to a CUSTOMER
            user (``regionIds``: staff only); NOT_FOUND for an unknown region (``regionIds``).
            A user who becomes a CUSTOMER user loses its regions.
    """
    require(actor, Action.USER_UPDATE)
    user = await _user_for_update(session, user_id)
    new_roles = user.roles if isinstance(roles, Keep) else frozenset(roles)
    new_customer = user.customer_id if isinstance(customer_id, Keep) else customer_id
    problems = role_problems(new_roles, new_customer)
    if not isinstance(region_ids, Keep) and region_ids and Role.CUSTOMER in new_roles:
        problems.append(DomainError.invalid("Regions are for staff users only", "regionIds"))
    if user.id == actor.user_id:
        if Role.ADMIN not in new_roles:
            problems.append(DomainError.invalid("You cannot remove your own ADMIN role", "roles"))
        if active is False:
            problems.append(DomainError.invalid("You cannot deactivate yourself", "active"))
    if problems:
        raise DomainError([p for e in problems for p in e.problems])
    if new_customer != user.customer_id:
        await _require_customer_exists(session, new_customer)
    if Role.CUSTOMER in new_roles and Role.CUSTOMER not in user.roles:
        region_ids = []  # a customer user has no sales regions
    if not isinstance(region_ids, Keep):
        await set_user_regions(session, user.id, region_ids)
    user.roles_text = ",".join(sorted(r.value for r in new_roles))
    user.customer_id = new_customer
    if not isinstance(active, Keep) and active != user.active:
        user.active = active
        if not active:
            end_sessions(user)
    await session.flush()
    return user


async def set_password(session: AsyncSession, actor: Principal, user_id: int, password: str) -> User:
    """Set another user's password (a reset by an administrator) and end its sessions.

    Raises:
        DomainError: PERMISSION_DENIED unless the actor may set passwords (ADMIN); NOT_FOUND
            for an unknown user (field ``id``); INVALID for a password that is not 8 to 256
            characters (field ``password``).
    """
    require(actor, Action.USER_PASSWORD_SET)
    problems = password_problems(password, "password")
    # Hashed before the first statement, so no write lock is held meanwhile (SQLite).
    new_hash = await hash_password(password) if not problems else ""
    user = await _user_for_update(session, user_id)
    if problems:
        raise problems[0]
    user.password_hash = new_hash
    end_sessions(user)
    await session.flush()
    return user


async def change_password(
    session: AsyncSession,
    actor: Principal,
    old_password: str,
    new_password: str,
    guard: PasswordGuard,
    address: str | None,
) -> User:
    """Change the caller's own password and end all its sessions; the caller issues it a new
    token (with :func:`hub.domain.auth.sessions.issue_time`) to keep working. The current
    password's check is throttled like a login (per the caller's email and ``address``) and
    bounded like one.

    Raises:
        DomainError: INVALID when ``old_password`` is wrong, or has been too often (field
            ``oldPassword``), or the new one is not 8 to 256 characters (field ``newPassword``);
            UNAVAILABLE when too many passwords are being checked at once (retry); NOT_FOUND
            when the caller's user is gone.
    """
    problems = password_problems(new_password, "newPassword")
    attempt = await _attempt(guard, normalize_email(actor.email), address, "oldPassword")
    if attempt is None:
        raise DomainError([Problem(ErrorCode.INVALID, LOGIN_THROTTLED, "oldPassword"), *_flat(problems)])
    checked = False
    try:
        # Hashed before the first statement, so no write lock is held meanwhile (SQLite).
        new_hash = await guard.checks.hash(new_password, "newPassword") if not problems else ""
        user = await _user_for_update(session, actor.user_id)
        ok = await guard.checks.verify(user.password_hash, old_password, "oldPassword")
        checked = True
    finally:
        if not checked:
            await attempt.not_checked()
    if not ok:
        problems.insert(0, DomainError.invalid("The current password is wrong", "oldPassword"))
    else:
        await attempt.succeeded()
    if problems:
        raise DomainError(_flat(problems))
    user.password_hash = new_hash
    end_sessions(user)
    await session.flush()
    return user


def _flat(errors: Sequence[DomainError]) -> list[Problem]:
    return [p for e in errors for p in e.problems]
