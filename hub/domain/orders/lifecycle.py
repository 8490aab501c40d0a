"""The order lifecycle: one transition table that every state change uses.

Who may take an action is :mod:`hub.domain.auth.policy`'s business; *from which states* an
action moves an order, and to which, is decided here only — by a person (approve, reject,
cancel) or by the warehouse (a shipment confirmed through the WMS).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.domain.orders.models import OrderStatus

__all__ = ["OrderAction", "TRANSITIONS", "Transition", "transition"]


class OrderAction(StrEnum):
    APPROVE = "APPROVE"
    REJECT = "REJECT"
    CANCEL = "CANCEL"  # by staff
    CANCEL_OWN = "CANCEL_OWN"  # by the customer's own user: only before approval
    SHIP = "SHIP"  # the WMS confirmed the (first part of the) shipment


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
}


def transition(action: OrderAction) -> Transition:
    """The states ``action`` may start from and the state it leads to."""
    return TRANSITIONS[action]
