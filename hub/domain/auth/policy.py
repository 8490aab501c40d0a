"""Who may do what: the role tables of every area, in one place.

Services call :func:`require` (or :func:`allows`) with the caller and an :class:`Action`; the
GraphQL layer holds no role checks of its own. ADMIN may do everything. Scoping to the caller's
own customer (a customer user sees only its customer's data) is applied by each service's
queries; :func:`sees_customer` is that rule for a service handed a customer id.
"""

from __future__ import annotations

from enum import StrEnum

from hub.domain.auth.models import Role
from hub.domain.auth.principal import STAFF_ROLES, Principal
from hub.domain.errors import DomainError

__all__ = ["Action", "ROLES", "allows", "customer_scope", "require", "require_customer", "sees_customer"]


class Action(StrEnum):
    # catalog
    PRODUCT_MANAGE = "PRODUCT_MANAGE"
    CATEGORY_MANAGE = "CATEGORY_MANAGE"
    SEE_COST = "SEE_COST"  # cost prices, inactive products
    # customers and users
    CUSTOMER_LIST = "CUSTOMER_LIST"
    CUSTOMER_VIEW = "CUSTOMER_VIEW"  # any customer's account (a customer user sees its own)
    CUSTOMER_MANAGE = "CUSTOMER_MANAGE"  # open customer accounts
    CUSTOMER_UPDATE = "CUSTOMER_UPDATE"  # change a customer's name, group, region, credit, rep, active
    CUSTOMER_GROUP_MANAGE = "CUSTOMER_GROUP_MANAGE"  # create customer groups
    REGION_MANAGE = "REGION_MANAGE"  # create sales regions
    # pricing rules (price lists, customer prices, order tiers, promotions, visibility)
    PRICE_RULE_VIEW = "PRICE_RULE_VIEW"  # read any group's or customer's rules (staff)
    PRICE_RULE_MANAGE = "PRICE_RULE_MANAGE"  # create, change and end them
    USER_MANAGE = "USER_MANAGE"  # create users
    USER_UPDATE = "USER_UPDATE"  # change a user's roles, customer or active flag
    USER_PASSWORD_SET = "USER_PASSWORD_SET"  # set another user's password (ends its sessions)
    # inventory
    WAREHOUSE_MANAGE = "WAREHOUSE_MANAGE"
    WAREHOUSE_LIST = "WAREHOUSE_LIST"
    STOCK_SET = "STOCK_SET"
    # orders
    ORDER_FOR_CUSTOMER = "ORDER_FOR_CUSTOMER"  # place or quote an order on a customer's behalf
    ORDER_DECIDE = "ORDER_DECIDE"  # approve or reject the pending step
    ORDER_CANCEL_ANY = "ORDER_CANCEL_ANY"  # cancel any customer's order, also once APPROVED
    # integration
    INTEGRATION_VIEW = "INTEGRATION_VIEW"  # jobs, sync state of orders
    INTEGRATION_RETRY = "INTEGRATION_RETRY"
    # operations
    AUDIT_VIEW = "AUDIT_VIEW"  # the audit trail of staff mutations
    DEAD_EVENTS = "DEAD_EVENTS"  # see and retry outbox events that became dead letters


_STAFF = frozenset(STAFF_ROLES)
_ADMIN = frozenset({Role.ADMIN})
_SALES_MANAGERS = frozenset({Role.SALES_MANAGER, Role.ADMIN})
ROLES: dict[Action, frozenset[Role]] = {
    Action.PRODUCT_MANAGE: _ADMIN,
    Action.CATEGORY_MANAGE: _ADMIN,
    Action.SEE_COST: _STAFF,
    Action.CUSTOMER_LIST: _STAFF,
    Action.CUSTOMER_VIEW: _STAFF,
    Action.CUSTOMER_MANAGE: _ADMIN,
    Action.CUSTOMER_UPDATE: _SALES_MANAGERS,
    Action.CUSTOMER_GROUP_MANAGE: _SALES_MANAGERS,
    Action.REGION_MANAGE: _SALES_MANAGERS,
    Action.PRICE_RULE_VIEW: _STAFF,
    Action.PRICE_RULE_MANAGE: _SALES_MANAGERS,
    Action.USER_MANAGE: _ADMIN,
    Action.USER_UPDATE: _ADMIN,
    Action.USER_PASSWORD_SET: _ADMIN,
    Action.WAREHOUSE_MANAGE: _ADMIN,
    Action.WAREHOUSE_LIST: _STAFF,
    Action.STOCK_SET: frozenset({Role.WAREHOUSE, Role.ADMIN}),
    Action.ORDER_FOR_CUSTOMER: frozenset({Role.SALES, Role.SALES_MANAGER, Role.DIRECTOR, Role.ADMIN}),
    Action.ORDER_DECIDE: frozenset({Role.SALES_MANAGER, Role.ADMIN}),
    Action.ORDER_CANCEL_ANY: frozenset({Role.SALES_MANAGER, Role.ADMIN}),
    Action.INTEGRATION_VIEW: _STAFF,
    Action.INTEGRATION_RETRY: _ADMIN,
    Action.AUDIT_VIEW: _ADMIN,
    Action.DEAD_EVENTS: _ADMIN,
}


def allows(actor: Principal | None, action: Action) -> bool:
    """True when ``actor`` holds a role that may take ``action`` (ADMIN may take every one)."""
    if actor is None:
        return False
    return Role.ADMIN in actor.roles or bool(actor.roles & ROLES[action])


def require(actor: Principal, action: Action) -> None:
    """Raises: DomainError PERMISSION_DENIED unless ``actor`` may take ``action``."""
    if not allows(actor, action):
        roles = ROLES[action]
        if roles == _STAFF:
            raise DomainError.denied("This is for staff only")
        names = ", ".join(sorted(r.value for r in roles - _ADMIN)) or Role.ADMIN.value
        raise DomainError.denied(f"This needs one of the roles: {names}")


def customer_scope(actor: Principal) -> int | None:
    """Whose data ``actor`` sees: None for every customer's (staff), else its own customer's id
    (-1, which no customer has, for a customer user bound to none)."""
    if allows(actor, Action.CUSTOMER_VIEW):
        return None
    return actor.customer_id or -1


def sees_customer(actor: Principal, customer_id: int) -> bool:
    """True when ``actor`` may see the customer's data: staff, or a user of that customer."""
    scope = customer_scope(actor)
    return scope is None or scope == customer_id


def require_customer(actor: Principal, customer_id: int) -> None:
    """Raises: DomainError PERMISSION_DENIED unless :func:`sees_customer`."""
    if not sees_customer(actor, customer_id):
        raise DomainError.denied("This customer's data is not yours to see")
