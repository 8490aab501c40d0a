"""Who is calling: the identity every service scopes its reads and writes to."""

from __future__ import annotations

from dataclasses import dataclass

from hub.domain.auth.models import Role
from hub.domain.errors import DomainError

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

    @property
    def is_customer(self) -> bool:
        return Role.CUSTOMER in self.roles and not self.is_staff

    def has_any(self, *roles: Role) -> bool:
        return Role.ADMIN in self.roles or bool(self.roles.intersection(roles))

    def require(self, *roles: Role) -> None:
        """Raises: DomainError PERMISSION_DENIED unless the caller holds one of ``roles`` or ADMIN."""
        if not self.has_any(*roles):
            names = ", ".join(sorted(r.value for r in roles)) or "ADMIN"
            raise DomainError.denied(f"This needs one of the roles: {names}")

    def require_staff(self) -> None:
        """Raises: DomainError PERMISSION_DENIED for customer users."""
        if not self.is_staff:
            raise DomainError.denied("This is for staff only")

    def can_see_customer(self, customer_id: int) -> bool:
        return self.is_staff or self.customer_id == customer_id
