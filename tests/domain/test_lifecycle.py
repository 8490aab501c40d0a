"""The order lifecycle's transition table (:mod:`hub.domain.orders.lifecycle`)."""

from __future__ import annotations

import pytest

from hub.domain.orders.lifecycle import TRANSITIONS, OrderAction, transition
from hub.domain.orders.models import OrderStatus

P, A = OrderStatus.PENDING_APPROVAL, OrderStatus.APPROVED


@pytest.mark.parametrize(
    ("action", "sources", "target"),
    [
        (OrderAction.APPROVE, {P}, OrderStatus.APPROVED),
        (OrderAction.REJECT, {P}, OrderStatus.REJECTED),
        (OrderAction.CANCEL, {P, A}, OrderStatus.CANCELLED),
        (OrderAction.CANCEL_OWN, {P}, OrderStatus.CANCELLED),
        (OrderAction.SHIP, {A}, OrderStatus.SHIPPED),
        (OrderAction.SHIP_PART, {OrderStatus.SHIPPED}, OrderStatus.SHIPPED),
    ],
)
def test_each_action_moves_from_its_sources_to_its_target(
    action: OrderAction, sources: set[OrderStatus], target: OrderStatus
) -> None:
    assert transition(action).sources == sources
    assert transition(action).target == target
    assert all(transition(action).allows(s) == (s in sources) for s in OrderStatus)
    assert all(transition(action).allows(s.value) == (s in sources) for s in OrderStatus)


def test_every_action_has_a_transition() -> None:
    assert set(TRANSITIONS) == set(OrderAction)


@pytest.mark.parametrize("final", [OrderStatus.CANCELLED, OrderStatus.REJECTED])
def test_nothing_leaves_a_cancelled_or_rejected_order(final: OrderStatus) -> None:
    assert [a for a, t in TRANSITIONS.items() if t.allows(final)] == []


def test_no_action_leads_back_to_pending_approval() -> None:
    assert all(t.target != P for t in TRANSITIONS.values())
