"""The order lifecycle: one transition table that every state change uses.

Who may take an action is :mod:`hub.domain.auth.policy`'s business; *from which states* an
action moves an order, and to which, is decided here only — by a person (approve, reject,
cancel) or by the warehouse (a shipment confirmed through the WMS).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.base import utcnow
from hub.domain.orders.models import Order, OrderStatus

__all__ = ["RELEASED_TO_WAREHOUSE", "TRANSITIONS", "OrderAction", "Transition", "move", "transition"]


class OrderAction(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    CANCEL = "CANCEL"  # by staff
    CANCEL_OWN = "CANCEL_OWN"  # by the customer's own user: only before approval
    SHIP = "SHIP"  # the WMS confirmed the (first part of the) shipment
    SHIP_PART = "SHIP_PART"  # a further warehouse's part of a split order: it stays SHIPPED


@dataclass(frozen=True, slots=True)
class Transition:
    sources: frozenset[OrderStatus]
    target: OrderStatus

    def allows(self, status: str | OrderStatus) -> bool:
        return status in self.sources


_P, _A = OrderStatus.PENDING_APPROVAL, OrderStatus.APPROVED
TRANSITIONS: dict[OrderAction, Transition] = {
    OrderAction.APPROVE: Transition(frozenset({_P}), OrderStatus.APPROVED),
    OrderAction.REJECT: Transition(frozenset({_P}), OrderStatus.REJECTED),
    OrderAction.CANCEL: Transition(frozenset({_P, _A}), OrderStatus.CANCELLED),
    OrderAction.CANCEL_OWN: Transition(frozenset({_P}), OrderStatus.CANCELLED),
    OrderAction.SHIP: Transition(frozenset({_A}), OrderStatus.SHIPPED),
    OrderAction.SHIP_PART: Transition(frozenset({OrderStatus.SHIPPED}), OrderStatus.SHIPPED),
}
# The states of an order whose goods the warehouse was asked to ship (its stock changes for the
# order are the hub's own shipments, see hub.domain.integration.inbound).
RELEASED_TO_WAREHOUSE = frozenset({_A, OrderStatus.SHIPPED, OrderStatus.COMPLETED})


def transition(action: OrderAction) -> Transition:
    """The states ``action`` may start from and the state it leads to."""
    return TRANSITIONS[action]


async def move(
    session: AsyncSession, order_id: int, action: OrderAction, *, customer_id: int | None = None
) -> bool:
    """Take ``action`` on the order: move it from one of the action's source states to its
    target, atomically (a conditional UPDATE: of racing requests exactly one wins). With
    ``customer_id``, only an order of that customer moves. False when nothing moved (no such
    order, another customer's, or one in a state the action does not start from)."""
    step = TRANSITIONS[action]
    stmt = (
        update(Order)
        .where(Order.id == order_id, Order.status.in_(sorted(s.value for s in step.sources)))
        .values(status=step.target.value, updated_at=utcnow())
        .returning(Order.id)
    )
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    return (await session.execute(stmt)).first() is not None
