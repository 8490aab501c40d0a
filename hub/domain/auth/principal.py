"""Who is calling: the identity every service scopes its reads and writes to."""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.auth.models import Role

__all__ = ["Principal", "STAFF_ROLES"]

STAFF_ROLES = frozenset(Role) - {Role.CUSTOMER}


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user. ``customer_id`` is set for CUSTOMER users only."""

    user_id: int
    email: str
    roles: frozenset[Role]
    customer_id: int | None = None

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)
