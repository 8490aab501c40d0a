"""Orders over GraphQL: orderCreate validation, reservation, money, idempotency, the lifecycle
(approve, reject, cancel), and the order queries — as API.md's "Semantics" states them."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from typing import Any

import pytest

from hub.domain.auth.models import Role
from hub.domain.models import (
    ApprovalStep,
    IdempotencyRecord,
    Order,
    OrderEvent,
    OrderLine,
    OutboxEvent,
    Reservation,
)
from hub.domain.orders.numbers import format_order_number
from hub.schema.common import decode_id
from tests.support import Hub

ORDER = """
  id number status note customer { id name }
  lines { sku quantity unitPrice { amount currency } lineTotal { amount currency } }
  subtotal { amount currency } discountTotal { amount currency } total { amount currency }
  createdAt
  approval { currentStep steps { name role status decidedBy decidedAt comment dueAt } }
  timeline { at kind message }
"""
PAYLOAD = f"{{ order {{ {ORDER} }} errors {{ field code message }} }}"
CREATE = (
    "mutation($input: OrderCreateInput!, $key: String) "
    f"{{ orderCreate(input: $input, idempotencyKey: $key) {PAYLOAD} }}"
)
CANCEL = f"mutation($id: ID!, $reason: String) {{ orderCancel(id: $id, reason: $reason) {PAYLOAD} }}"
APPROVE = f"mutation($id: ID!, $comment: String) {{ orderApprove(id: $id, comment: $comment) {PAYLOAD} }}"
REJECT = f"mutation($id: ID!, $reason: String!) {{ orderReject(id: $id, reason: $reason) {PAYLOAD} }}"
ONE = f"query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"
LIST = """
query($first: Int, $after: String, $status: OrderStatus) {
  orders(first: $first, after: $after, status: $status) {
    edges { node { id status } cursor } pageInfo { hasNextPage endCursor } totalCount
  }
}"""
AVAILABLE = "query($sku: String!) { product(sku: $sku) { availableQuantity } }"
STOCK_SET = """
mutation($sku: String!, $wh: String!, $q: Int!) {
  stockSet(input: {sku: $sku, warehouseCode: $wh, quantity: $q}) {
    stock { onHand reserved } errors { field code message }
  }
}"""

WRITTEN_MODELS = (
    Order,
    OrderLine,
    OrderEvent,
    ApprovalStep,
    Reservation,
    OutboxEvent,
    IdempotencyRecord,
)


# -- helpers -------------------------------------------------------------------------------
def lines(*pairs: tuple[str, int]) -> list[dict[str, Any]]:
    return [{"sku": sku, "quantity": q} for sku, q in pairs]


async def create(
    hub: Hub,
    *pairs: tuple[str, int],
    as_: str = "acme",
    key: str | None = None,
    note: str | None = None,
    customer_id: str | None = None,
) -> dict[str, Any]:
    """The orderCreate payload."""
    order_input: dict[str, Any] = {"lines": lines(*pairs)}
    if note is not None:
        order_input["note"] = note
    if customer_id is not None:
        order_input["customerId"] = customer_id
    data = await hub.data(CREATE, {"input": order_input, "key": key}, as_=as_)
    return data["orderCreate"]  # type: ignore[no-any-return]


async def place(hub: Hub, *pairs: tuple[str, int], as_: str = "acme", **kw: Any) -> dict[str, Any]:
    """Create an order that must succeed; returns it."""
    payload = await create(hub, *pairs, as_=as_, **kw)
    assert payload["errors"] == []
    return payload["order"]  # type: ignore[no-any-return]


async def change(hub: Hub, mutation: str, order_id: str, as_: str, **variables: Any) -> dict[str, Any]:
    data = await hub.data(mutation, {"id": order_id, **variables}, as_=as_)
    return next(iter(data.values()))  # type: ignore[no-any-return]


async def read_order(hub: Hub, order_id: str, as_: str = "admin") -> dict[str, Any] | None:
    return (await hub.data(ONE, {"id": order_id}, as_=as_))["order"]  # type: ignore[no-any-return]


async def customer_id(hub: Hub, user: str) -> str:
    """The opaque id of the customer a CUSTOMER user acts for, as the API shows it."""
    return (await hub.data("{ me { customer { id } } }", as_=user))["me"]["customer"]["id"]  # type: ignore[no-any-return]


async def snapshot(hub: Hub) -> tuple[dict[str, int], dict[str, list[tuple[str, int, int]]]]:
    """Row counts of everything an order writes, and every SKU's stock rows."""
    counts = {m.__name__: await hub.count(m) for m in WRITTEN_MODELS}
    stock = {sku: await hub.stock(sku) for sku in hub.seeded.products}
    return counts, stock


def codes(errors: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return sorted((e["code"], e["field"]) for e in errors)


def kinds(order: dict[str, Any]) -> list[str]:
    """Timeline kinds, leaving out optional STOCK_* detail entries."""
    return [e["kind"] for e in order["timeline"] if not e["kind"].startswith("STOCK_")]


def names_number(message: str, n: int) -> bool:
    return re.search(rf"(?<![\d.]){n}(?![\d.])", message) is not None


# -- line validation -----------------------------------------------------------------------
async def test_order_without_lines_is_invalid_at_lines(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    # when the buyer sends an order with no lines
    payload = await create(hub)
    # then it is INVALID at `lines` and nothing is written
    assert payload["order"] is None
    assert codes(payload["errors"]) == [("INVALID", "lines")]
    assert await snapshot(hub) == before


async def test_order_with_501_lines_is_invalid_at_lines(hub: Hub) -> None:
    # given a product with plenty of stock
    await hub.standard()
    await hub.add_product("BULK", "1.00", {"W1": 10_000})
    before = await snapshot(hub)
    # when the buyer sends 501 lines
    payload = await create(hub, *[("BULK", 1)] * 501)
    # then it is INVALID at `lines` and nothing is written
    assert payload["order"] is None
    assert codes(payload["errors"]) == [("INVALID", "lines")]
    assert await snapshot(hub) == before


async def test_order_with_500_lines_of_one_sku_becomes_one_line(hub: Hub) -> None:
    # given a product with plenty of stock
    await hub.standard()
    await hub.add_product("BULK", "1.00", {"W1": 10_000})
    # when the buyer sends 500 lines of it, one unit each
    order = await place(hub, *[("BULK", 1)] * 500)
    # then the order has one line of 500 units and 500 are reserved
    assert [(x["sku"], x["quantity"]) for x in order["lines"]] == [("BULK", 500)]
    assert order["total"] == {"amount": "500.00", "currency": "CNY"}
    assert await hub.stock("BULK") == [("W1", 10_000, 500)]


@pytest.mark.parametrize("quantity", [0, -1, 1_000_001])
async def test_order_line_quantity_out_of_range_is_invalid_at_its_line(hub: Hub, quantity: int) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    # when the second line has a quantity outside 1..1,000,000
    payload = await create(hub, ("SKU-A", 1), ("SKU-B", quantity))
    # then it is INVALID at lines.1.quantity and nothing is written
    assert payload["order"] is None
    assert codes(payload["errors"]) == [("INVALID", "lines.1.quantity")]
    assert await snapshot(hub) == before


async def test_order_line_quantity_of_one_million_is_accepted(hub: Hub) -> None:
    # given a product with a million units on hand
    await hub.standard()
    await hub.add_product("BULK", "0.01", {"W1": 1_000_000})
    # when the buyer orders exactly 1,000,000
    order = await place(hub, ("BULK", 1_000_000))
    # then the order is placed for all of them
    assert [(x["sku"], x["quantity"]) for x in order["lines"]] == [("BULK", 1_000_000)]
    assert order["total"]["amount"] == "10000.00"
    assert await hub.stock("BULK") == [("W1", 1_000_000, 1_000_000)]


async def test_unknown_sku_is_not_found_at_its_line(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    # when the second line names a SKU that does not exist
    payload = await create(hub, ("SKU-A", 1), ("NOPE-1", 1))
    # then it is NOT_FOUND at lines.1.sku and nothing is written
    assert payload["order"] is None
    assert codes(payload["errors"]) == [("NOT_FOUND", "lines.1.sku")]
    assert await snapshot(hub) == before


async def test_inactive_sku_is_not_found_at_its_line(hub: Hub) -> None:
    # given a product that is no longer active, with stock
    await hub.standard()
    await hub.add_product("OLD-1", "5.00", {"W1": 50}, active=False)
    before = await snapshot(hub)
    # when the buyer orders it
    payload = await create(hub, ("OLD-1", 1), ("SKU-B", 1))
    # then it is NOT_FOUND at lines.0.sku, exactly as an unknown SKU, and nothing is written
    assert payload["order"] is None
    assert codes(payload["errors"]) == [("NOT_FOUND", "lines.0.sku")]
    assert await snapshot(hub) == before


async def test_repeated_sku_quantities_add_up_into_one_line(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when SKU-A appears twice
    order = await place(hub, ("SKU-A", 2), ("SKU-B", 1), ("SKU-A", 3))
    # then it is one line of 5 units, priced once, and 5 units are reserved
    got = sorted((x["sku"], x["quantity"], x["lineTotal"]["amount"]) for x in order["lines"])
    assert got == [("SKU-A", 5, "62.50"), ("SKU-B", 1, "3.33")]
    assert order["subtotal"]["amount"] == "65.83"
    assert order["total"]["amount"] == "65.83"
    assert await hub.reserved("SKU-A") == 5
    assert await hub.reserved("SKU-B") == 1
    assert await hub.count(OrderLine) == 2


# -- stock ---------------------------------------------------------------------------------
async def test_insufficient_stock_is_one_error_per_short_sku_at_its_first_line(hub: Hub) -> None:
    # given SKU-A with 15 available, SKU-B with 100, SKU-C with 2
    await hub.standard()
    before = await snapshot(hub)
    # when SKU-A is asked 10 + 6 (two lines), SKU-B 1 and SKU-C 3
    payload = await create(hub, ("SKU-B", 1), ("SKU-A", 10), ("SKU-C", 3), ("SKU-A", 6))
    # then there is one INSUFFICIENT_STOCK per short SKU, at the quantity of its first line
    assert payload["order"] is None
    assert codes(payload["errors"]) == [
        ("INSUFFICIENT_STOCK", "lines.1.quantity"),
        ("INSUFFICIENT_STOCK", "lines.2.quantity"),
    ]
    # and each message names the quantity available
    by_field = {e["field"]: e["message"] for e in payload["errors"]}
    assert names_number(by_field["lines.1.quantity"], 15), by_field
    assert names_number(by_field["lines.2.quantity"], 2), by_field
    # and nothing was written: no order, no reservation, no outbox row, stock unchanged
    assert await snapshot(hub) == before
    assert before[0] == {m.__name__: 0 for m in WRITTEN_MODELS}


async def test_reservation_takes_warehouses_by_priority(hub: Hub) -> None:
    # given a third warehouse whose priority (15) sits between W1 (10) and W2 (20)
    await hub.standard()
    await hub.add_warehouse("W3", priority=15)
    await hub.add_product("MULTI", "1.00", {"W1": 3, "W2": 4, "W3": 5})
    # when 10 units are ordered
    await place(hub, ("MULTI", 10))
    # then W1 is emptied first, then W3, and W2 gives the remaining 2
    assert await hub.stock("MULTI") == [("W1", 3, 3), ("W2", 4, 2), ("W3", 5, 5)]


async def test_on_hand_below_reserved_shows_zero_available_never_negative(hub: Hub) -> None:
    # given 12 of SKU-A reserved (W1 10 of 10, W2 2 of 5)
    await hub.standard()
    await place(hub, ("SKU-A", 12))
    assert await hub.stock("SKU-A") == [("W1", 10, 10), ("W2", 5, 2)]
    # when a count sets W1 on hand to 4, below its 10 reserved
    result = await hub.data(STOCK_SET, {"sku": "SKU-A", "wh": "W1", "q": 4}, as_="warehouse")
    # then that is accepted and the reservation is kept
    assert result["stockSet"] == {"stock": {"onHand": 4, "reserved": 10}, "errors": []}
    # and W1 counts as 0 available, not -6: only W2's 3 remain
    assert (await hub.data(AVAILABLE, {"sku": "SKU-A"}, as_="acme"))["product"] == {"availableQuantity": 3}
    # when the buyer asks for 4
    before = await snapshot(hub)
    payload = await create(hub, ("SKU-A", 4))
    # then it is short, naming 3 available, and nothing is written
    assert codes(payload["errors"]) == [("INSUFFICIENT_STOCK", "lines.0.quantity")]
    assert names_number(payload["errors"][0]["message"], 3)
    assert await snapshot(hub) == before
    # when the buyer asks for 3
    await place(hub, ("SKU-A", 3))
    # then they come from W2 only; W1 is not taken further below zero
    assert await hub.stock("SKU-A") == [("W1", 4, 10), ("W2", 5, 5)]
    assert (await hub.data(AVAILABLE, {"sku": "SKU-A"}, as_="acme"))["product"] == {"availableQuantity": 0}


async def test_concurrent_orders_never_reserve_more_than_available(hub: Hub) -> None:
    # given 15 of SKU-A available (W1 10, W2 5)
    await hub.standard()
    # when six buyers' orders for 4 each arrive at once
    results = await asyncio.gather(*[create(hub, ("SKU-A", 4), as_=w) for w in ["acme", "beta"] * 3])
    # then exactly three are placed and three are short, and no warehouse goes below zero available
    placed = [r for r in results if r["errors"] == []]
    short = [r for r in results if r["errors"] != []]
    assert len(placed) == 3
    assert [codes(r["errors"]) for r in short] == [[("INSUFFICIENT_STOCK", "lines.0.quantity")]] * 3
    assert await hub.reserved("SKU-A") == 12
    assert all(reserved <= on_hand for _w, on_hand, reserved in await hub.stock("SKU-A"))
    assert await hub.count(Order) == 3


# -- money ---------------------------------------------------------------------------------
async def test_money_has_two_decimals_rounded_per_line_then_per_order(hub: Hub) -> None:
    # given prices 3.33, 0.10 and a round 10
    await hub.standard()
    await hub.add_product("DIME", "0.10", {"W1": 100})
    await hub.add_product("TEN", "10", {"W1": 100})
    # when 3 × 3.33, 7 × 0.10 and 1 × 10 are ordered
    order = await place(hub, ("SKU-B", 3), ("DIME", 7), ("TEN", 1))
    # then every amount is a decimal string with exactly 2 decimals, in CNY
    got = sorted(
        (x["sku"], x["quantity"], x["unitPrice"]["amount"], x["lineTotal"]["amount"]) for x in order["lines"]
    )
    assert got == [
        ("DIME", 7, "0.10", "0.70"),
        ("SKU-B", 3, "3.33", "9.99"),
        ("TEN", 1, "10.00", "10.00"),
    ]
    assert {x["unitPrice"]["currency"] for x in order["lines"]} == {"CNY"}
    assert order["subtotal"] == {"amount": "20.69", "currency": "CNY"}
    assert order["discountTotal"] == {"amount": "0.00", "currency": "CNY"}
    assert order["total"] == {"amount": "20.69", "currency": "CNY"}
    # and reading the order back gives the same amounts
    again = await read_order(hub, order["id"], as_="acme")
    assert again is not None
    assert again["lines"] == order["lines"]
    assert again["total"] == order["total"]


# -- idempotency ---------------------------------------------------------------------------
async def test_same_key_and_input_returns_the_first_order_and_reserves_once(hub: Hub) -> None:
    # given an order placed with a key
    await hub.standard()
    first = await place(hub, ("SKU-A", 3), ("SKU-B", 2), key="k-1", note="rush")
    # when the same request is sent again
    again = await create(hub, ("SKU-A", 3), ("SKU-B", 2), key="k-1", note="rush")
    # then it answers the first order, with no error
    assert again["errors"] == []
    assert again["order"]["id"] == first["id"]
    assert again["order"]["number"] == first["number"]
    # and there is still one order, reserved once
    assert await hub.count(Order) == 1
    assert await hub.reserved("SKU-A") == 3
    assert await hub.reserved("SKU-B") == 2
    assert await hub.count(OutboxEvent) == 1


@pytest.mark.parametrize(
    ("pairs", "note"),
    [
        ((("SKU-A", 4), ("SKU-B", 2)), "rush"),  # another quantity
        ((("SKU-A", 3), ("SKU-B", 2)), "slow"),  # another note
        ((("SKU-B", 2), ("SKU-A", 3)), "rush"),  # the same lines in another order
        ((("SKU-A", 3), ("SKU-B", 2)), None),  # no note
    ],
    ids=["quantity", "note", "line-order", "no-note"],
)
async def test_same_key_with_different_input_is_an_idempotency_conflict(
    hub: Hub, pairs: tuple[tuple[str, int], ...], note: str | None
) -> None:
    # given an order placed with a key
    await hub.standard()
    await place(hub, ("SKU-A", 3), ("SKU-B", 2), key="k-1", note="rush")
    before = await snapshot(hub)
    # when the key is sent with a different input
    payload = await create(hub, *pairs, key="k-1", note=note)
    # then it is IDEMPOTENCY_CONFLICT and nothing is written
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["IDEMPOTENCY_CONFLICT"]
    assert await snapshot(hub) == before


async def test_same_key_for_another_customer_is_an_idempotency_conflict(hub: Hub) -> None:
    # given sales placed an order for ACME with a key
    await hub.standard()
    acme, beta = await customer_id(hub, "acme"), await customer_id(hub, "beta")
    first = await place(hub, ("SKU-A", 1), as_="sales", key="k-1", customer_id=acme)
    # when sales sends the same key and lines for BETA
    before = await snapshot(hub)
    conflict = await create(hub, ("SKU-A", 1), as_="sales", key="k-1", customer_id=beta)
    # then it is IDEMPOTENCY_CONFLICT and nothing is written
    assert [e["code"] for e in conflict["errors"]] == ["IDEMPOTENCY_CONFLICT"]
    assert await snapshot(hub) == before
    # and repeating it for ACME replays the first order
    replay = await create(hub, ("SKU-A", 1), as_="sales", key="k-1", customer_id=acme)
    assert replay["errors"] == []
    assert replay["order"]["id"] == first["id"]


async def test_request_that_answered_errors_does_not_use_up_its_key(hub: Hub) -> None:
    # given a keyed request refused for a bad quantity, then for short stock
    await hub.standard()
    invalid = await create(hub, ("SKU-C", 0), key="k-1")
    assert codes(invalid["errors"]) == [("INVALID", "lines.0.quantity")]
    short = await create(hub, ("SKU-C", 3), key="k-1")
    assert codes(short["errors"]) == [("INSUFFICIENT_STOCK", "lines.0.quantity")]
    assert await hub.count(IdempotencyRecord) == 0
    # when the key is used with another input
    payload = await create(hub, ("SKU-C", 2), key="k-1")
    # then the order is placed (no conflict with the refused requests)
    assert payload["errors"] == []
    assert payload["order"]["status"] == "PENDING_APPROVAL"
    assert await hub.reserved("SKU-C") == 2
    # and from now on the key belongs to that input
    conflict = await create(hub, ("SKU-C", 3), key="k-1")
    assert [e["code"] for e in conflict["errors"]] == ["IDEMPOTENCY_CONFLICT"]


async def test_idempotency_keys_are_per_user(hub: Hub) -> None:
    # given a second buyer of the same customer
    await hub.standard()
    await hub.add_user("acme2", [Role.CUSTOMER], customer="ACME")
    first = await place(hub, ("SKU-A", 2), key="k-1", as_="acme")
    # when the other buyer sends the same key and input
    second = await place(hub, ("SKU-A", 2), key="k-1", as_="acme2")
    # then it is a new order of its own
    assert second["id"] != first["id"]
    assert await hub.count(Order) == 2
    assert await hub.reserved("SKU-A") == 4
    # and a third user may use the key with another input without conflict
    third = await place(hub, ("SKU-B", 1), key="k-1", as_="beta")
    assert third["customer"]["name"] == "Beta Supplies"


async def test_replay_returns_the_order_as_it_is_now(hub: Hub) -> None:
    # given a keyed order that was then cancelled
    await hub.standard()
    first = await place(hub, ("SKU-A", 4), key="k-1")
    cancelled = await change(hub, CANCEL, first["id"], "acme")
    assert cancelled["errors"] == []
    # when the keyed request is replayed
    replay = await create(hub, ("SKU-A", 4), key="k-1")
    # then it answers the same order, now CANCELLED, and reserves nothing again
    assert replay["errors"] == []
    assert replay["order"]["id"] == first["id"]
    assert replay["order"]["status"] == "CANCELLED"
    assert replay["order"]["timeline"] == cancelled["order"]["timeline"]
    assert await hub.count(Order) == 1
    assert await hub.reserved("SKU-A") == 0


async def test_concurrent_requests_with_one_key_place_one_order(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the same keyed request is sent 6 times at once
    results = await asyncio.gather(*[create(hub, ("SKU-A", 2), key="k-race") for _ in range(6)])
    # then all answer the same order and stock is reserved once
    assert [r["errors"] for r in results] == [[]] * 6
    assert len({r["order"]["id"] for r in results}) == 1
    assert await hub.count(Order) == 1
    assert await hub.reserved("SKU-A") == 2


# -- staff ordering on behalf ----------------------------------------------------------------
async def test_sales_orders_on_behalf_of_a_customer(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    acme = await customer_id(hub, "acme")
    # when sales orders for ACME
    order = await place(hub, ("SKU-B", 3), as_="sales", customer_id=acme)
    # then the order is ACME's, pending, and the buyer sees it
    assert order["customer"] == {"id": acme, "name": "Acme Trading"}
    assert order["status"] == "PENDING_APPROVAL"
    assert await read_order(hub, order["id"], as_="acme") is not None
    assert await read_order(hub, order["id"], as_="beta") is None


async def test_staff_must_name_the_customer(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    # when sales orders without customerId
    payload = await create(hub, ("SKU-B", 3), as_="sales")
    # then it is INVALID at customerId and nothing is written
    assert payload["order"] is None
    assert codes(payload["errors"]) == [("INVALID", "customerId")]
    assert await snapshot(hub) == before


async def test_finance_may_not_order_on_behalf(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    acme = await customer_id(hub, "acme")
    before = await snapshot(hub)
    # when finance orders for ACME
    payload = await create(hub, ("SKU-B", 3), as_="finance", customer_id=acme)
    # then it is PERMISSION_DENIED in the payload and nothing is written
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
    assert await snapshot(hub) == before


async def test_buyer_may_not_order_for_another_customer(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    beta = await customer_id(hub, "beta")
    before = await snapshot(hub)
    # when ACME's buyer names BETA as the customer
    payload = await create(hub, ("SKU-B", 3), as_="acme", customer_id=beta)
    # then BETA is NOT_FOUND for it and nothing is written
    assert payload["order"] is None
    assert codes(payload["errors"]) == [("NOT_FOUND", "customerId")]
    assert await snapshot(hub) == before


# -- approval, rejection, timeline -----------------------------------------------------------
async def test_new_order_is_pending_one_sales_manager_step_with_a_placed_entry(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the buyer places an order with a note
    order = await place(hub, ("SKU-A", 1), note="Dock 4")
    # then it waits on one pending SALES_MANAGER step with a due time
    assert order["status"] == "PENDING_APPROVAL"
    assert order["note"] == "Dock 4"
    steps = order["approval"]["steps"]
    assert len(steps) == 1
    step = steps[0]
    assert order["approval"]["currentStep"] == step["name"]
    assert step["name"]
    assert (
        step["role"],
        step["status"],
        step["decidedBy"],
        step["decidedAt"],
        step["comment"],
    ) == (
        "SALES_MANAGER",
        "PENDING",
        None,
        None,
        None,
    )
    assert datetime.fromisoformat(step["dueAt"]) > datetime.fromisoformat(order["createdAt"])
    # and the timeline starts with PLACED
    assert kinds(order) == ["PLACED"]
    assert order["timeline"][0]["message"]
    assert order["number"] == format_order_number(decode_id("Order", order["id"]) or 0)


async def test_manager_approves_a_pending_order(hub: Hub) -> None:
    # given a pending order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    # when the sales manager approves it with a comment
    payload = await change(hub, APPROVE, order["id"], "manager", comment="Good customer")
    # then it is APPROVED, the step is decided by the manager, and the stock stays reserved
    assert payload["errors"] == []
    approved = payload["order"]
    assert approved["status"] == "APPROVED"
    assert approved["approval"]["currentStep"] is None
    step = approved["approval"]["steps"][0]
    assert (step["role"], step["status"], step["decidedBy"], step["comment"]) == (
        "SALES_MANAGER",
        "APPROVED",
        "manager@test.hub",
        "Good customer",
    )
    assert step["decidedAt"] is not None
    assert kinds(approved) == ["PLACED", "APPROVED"]
    assert await hub.reserved("SKU-A") == 2
    # and reading it back shows the same to staff
    assert await read_order(hub, order["id"], as_="manager") == approved
    # and the buyer sees the manager as a role, without the internal comment
    seen = await read_order(hub, order["id"], as_="acme")
    assert seen is not None
    assert (seen["approval"]["steps"][0]["decidedBy"], seen["approval"]["steps"][0]["comment"]) == (
        "Sales manager",
        None,
    )
    assert seen["timeline"][1]["message"] == "Approved by Sales manager"


async def test_admin_may_approve(hub: Hub) -> None:
    # given a pending order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    # when the admin approves it
    payload = await change(hub, APPROVE, order["id"], "admin")
    # then it is APPROVED, decided by the admin
    assert payload["errors"] == []
    assert payload["order"]["status"] == "APPROVED"
    assert payload["order"]["approval"]["steps"][0]["decidedBy"] == "admin@test.hub"


@pytest.mark.parametrize("who", ["sales", "finance", "director", "acme"])
async def test_only_the_step_role_may_approve_or_reject(hub: Hub, who: str) -> None:
    # given a pending order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    before = await snapshot(hub)
    # when a user without the SALES_MANAGER role approves, then rejects it
    approve = await change(hub, APPROVE, order["id"], who)
    reject = await change(hub, REJECT, order["id"], who, reason="no")
    # then both are PERMISSION_DENIED and nothing changed
    assert (approve["order"], [e["code"] for e in approve["errors"]]) == (
        None,
        ["PERMISSION_DENIED"],
    )
    assert (reject["order"], [e["code"] for e in reject["errors"]]) == (None, ["PERMISSION_DENIED"])
    assert await snapshot(hub) == before
    assert (await read_order(hub, order["id"]))["status"] == "PENDING_APPROVAL"  # type: ignore[index]


async def test_approving_twice_is_an_invalid_transition(hub: Hub) -> None:
    # given an approved order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    approved = (await change(hub, APPROVE, order["id"], "manager"))["order"]
    before = await snapshot(hub)
    # when it is approved again
    payload = await change(hub, APPROVE, order["id"], "manager")
    # then INVALID_TRANSITION, nothing changed
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["INVALID_TRANSITION"]
    assert await snapshot(hub) == before
    assert await read_order(hub, order["id"]) == approved


async def test_manager_rejects_with_a_reason_and_stock_is_released(hub: Hub) -> None:
    # given a pending order next to another customer's reservation
    await hub.standard()
    await place(hub, ("SKU-A", 1), as_="beta")
    order = await place(hub, ("SKU-A", 12), ("SKU-C", 2))
    assert await hub.reserved("SKU-A") == 13
    # when the manager rejects it
    payload = await change(hub, REJECT, order["id"], "manager", reason="Credit hold")
    # then it is REJECTED, the step carries the reason, and only its stock is released
    assert payload["errors"] == []
    rejected = payload["order"]
    assert rejected["status"] == "REJECTED"
    assert rejected["approval"]["currentStep"] is None
    step = rejected["approval"]["steps"][0]
    assert (step["status"], step["decidedBy"], step["comment"]) == (
        "REJECTED",
        "manager@test.hub",
        "Credit hold",
    )
    assert step["decidedAt"] is not None
    assert kinds(rejected) == ["PLACED", "REJECTED"]
    assert await hub.reserved("SKU-A") == 1
    assert await hub.reserved("SKU-C") == 0
    assert await hub.count(Reservation) == 1
    # and the released units are available again
    assert (await hub.data(AVAILABLE, {"sku": "SKU-A"}, as_="acme"))["product"] == {"availableQuantity": 14}


@pytest.mark.parametrize("reason", ["", "   "])
async def test_reject_needs_a_reason(hub: Hub, reason: str) -> None:
    # given a pending order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    before_order = await read_order(hub, order["id"])
    before = await snapshot(hub)
    # when the manager rejects it with a blank reason
    payload = await change(hub, REJECT, order["id"], "manager", reason=reason)
    # then it is INVALID at reason and nothing changed
    assert payload["order"] is None
    assert codes(payload["errors"]) == [("INVALID", "reason")]
    assert await snapshot(hub) == before
    assert await read_order(hub, order["id"]) == before_order


async def test_reject_without_reason_argument_is_a_graphql_error(hub: Hub) -> None:
    # given a pending order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    # when orderReject is sent with no reason at all
    body = await hub.gql(
        "mutation($id: ID!) { orderReject(id: $id) { errors { code } } }",
        {"id": order["id"]},
        as_="manager",
    )
    # then the operation is refused and the order is still pending
    assert body.get("data") is None
    assert body["errors"]
    assert (await read_order(hub, order["id"]))["status"] == "PENDING_APPROVAL"  # type: ignore[index]


async def test_rejecting_an_approved_order_is_an_invalid_transition(hub: Hub) -> None:
    # given an approved order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    approved = (await change(hub, APPROVE, order["id"], "manager"))["order"]
    before = await snapshot(hub)
    # when the manager rejects it
    payload = await change(hub, REJECT, order["id"], "manager", reason="changed my mind")
    # then INVALID_TRANSITION, the stock stays reserved and nothing changed
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["INVALID_TRANSITION"]
    assert await snapshot(hub) == before
    assert await hub.reserved("SKU-A") == 2
    assert await read_order(hub, order["id"]) == approved


# -- cancel --------------------------------------------------------------------------------
async def test_buyer_cancels_its_pending_order_and_stock_is_released(hub: Hub) -> None:
    # given a pending order and another customer's reservation
    await hub.standard()
    await place(hub, ("SKU-A", 2), as_="beta")
    order = await place(hub, ("SKU-A", 12), ("SKU-B", 5))
    # when the buyer cancels it with a reason
    payload = await change(hub, CANCEL, order["id"], "acme", reason="Ordered twice")
    # then it is CANCELLED and its stock (only) is released
    assert payload["errors"] == []
    cancelled = payload["order"]
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["approval"]["currentStep"] is None
    assert kinds(cancelled) == ["PLACED", "CANCELLED"]
    assert await hub.stock("SKU-A") == [("W1", 10, 2), ("W2", 5, 0)]
    assert await hub.stock("SKU-B") == [("W1", 100, 0)]
    # and everyone reads it back the same way
    assert await read_order(hub, order["id"], as_="acme") == cancelled
    assert await read_order(hub, order["id"], as_="admin") == cancelled


async def test_buyer_may_not_cancel_an_approved_order(hub: Hub) -> None:
    # given an approved order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    approved = (await change(hub, APPROVE, order["id"], "manager"))["order"]
    before = await snapshot(hub)
    # when the buyer cancels it
    payload = await change(hub, CANCEL, order["id"], "acme")
    # then INVALID_TRANSITION and nothing changed
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["INVALID_TRANSITION"]
    assert await snapshot(hub) == before
    assert await read_order(hub, order["id"]) == approved


@pytest.mark.parametrize("who", ["manager", "admin"])
async def test_manager_or_admin_cancels_an_approved_order(hub: Hub, who: str) -> None:
    # given an approved order
    await hub.standard()
    order = await place(hub, ("SKU-A", 12))
    await change(hub, APPROVE, order["id"], "manager")
    # when the manager (or admin) cancels it
    payload = await change(hub, CANCEL, order["id"], who, reason="Customer called")
    # then it is CANCELLED and the stock is released
    assert payload["errors"] == []
    assert payload["order"]["status"] == "CANCELLED"
    assert kinds(payload["order"]) == ["PLACED", "APPROVED", "CANCELLED"]
    assert await hub.stock("SKU-A") == [("W1", 10, 0), ("W2", 5, 0)]
    # and the timeline is oldest first
    ats = [datetime.fromisoformat(e["at"]) for e in payload["order"]["timeline"]]
    assert ats == sorted(ats)


async def test_manager_cancels_a_pending_order(hub: Hub) -> None:
    # given a pending order
    await hub.standard()
    order = await place(hub, ("SKU-C", 2))
    # when the manager cancels it
    payload = await change(hub, CANCEL, order["id"], "manager")
    # then it is CANCELLED and the stock is released
    assert payload["errors"] == []
    assert payload["order"]["status"] == "CANCELLED"
    assert await hub.reserved("SKU-C") == 0


@pytest.mark.parametrize("who", ["sales", "finance", "warehouse"])
async def test_other_staff_may_not_cancel(hub: Hub, who: str) -> None:
    # given a pending order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    before = await snapshot(hub)
    # when a staff user without SALES_MANAGER or ADMIN cancels it
    payload = await change(hub, CANCEL, order["id"], who)
    # then PERMISSION_DENIED and nothing changed
    assert payload["order"] is None
    assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
    assert await snapshot(hub) == before


async def test_another_customer_cannot_cancel_and_gets_not_found(hub: Hub) -> None:
    # given ACME's pending order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    before = await snapshot(hub)
    # when BETA's buyer cancels it, and cancels an id that does not exist
    foreign = await change(hub, CANCEL, order["id"], "beta")
    garbage = await change(hub, CANCEL, "not-an-order-id", "beta")
    # then both answer NOT_FOUND the same way and nothing changed
    assert foreign["order"] is None
    assert [e["code"] for e in foreign["errors"]] == ["NOT_FOUND"]
    assert foreign == garbage
    assert await snapshot(hub) == before


async def test_cancelling_twice_is_an_invalid_transition_and_releases_once(hub: Hub) -> None:
    # given a cancelled order next to another customer's reservation
    await hub.standard()
    await place(hub, ("SKU-A", 3), as_="beta")
    order = await place(hub, ("SKU-A", 12))
    cancelled = (await change(hub, CANCEL, order["id"], "acme"))["order"]
    assert await hub.reserved("SKU-A") == 3
    before = await snapshot(hub)
    # when it is cancelled again, by the buyer and by the manager
    by_buyer = await change(hub, CANCEL, order["id"], "acme")
    by_manager = await change(hub, CANCEL, order["id"], "manager")
    # then both are INVALID_TRANSITION and nothing changed: the other reservation is intact
    for payload in (by_buyer, by_manager):
        assert payload["order"] is None
        assert [e["code"] for e in payload["errors"]] == ["INVALID_TRANSITION"]
    assert await snapshot(hub) == before
    assert await hub.reserved("SKU-A") == 3
    assert await read_order(hub, order["id"]) == cancelled


async def test_cancelling_a_rejected_order_is_an_invalid_transition(hub: Hub) -> None:
    # given a rejected order
    await hub.standard()
    order = await place(hub, ("SKU-A", 2))
    rejected = (await change(hub, REJECT, order["id"], "manager", reason="No"))["order"]
    before = await snapshot(hub)
    # when the manager and the buyer cancel it
    by_manager = await change(hub, CANCEL, order["id"], "manager")
    by_buyer = await change(hub, CANCEL, order["id"], "acme")
    # then INVALID_TRANSITION and nothing changed
    for payload in (by_manager, by_buyer):
        assert payload["order"] is None
        assert [e["code"] for e in payload["errors"]] == ["INVALID_TRANSITION"]
    assert await snapshot(hub) == before
    assert await read_order(hub, order["id"]) == rejected


async def test_eight_concurrent_cancels_release_stock_exactly_once(hub: Hub) -> None:
    # given 2 of SKU-A reserved by BETA, then ACME's order for 12 of SKU-A and 5 of SKU-B
    await hub.standard()
    await place(hub, ("SKU-A", 2), as_="beta")
    prior_a, prior_b = await hub.reserved("SKU-A"), await hub.reserved("SKU-B")
    order = await place(hub, ("SKU-A", 12), ("SKU-B", 5))
    assert await hub.reserved("SKU-A") == prior_a + 12
    # when the buyer and the manager send 8 cancels at once
    who = ["acme", "manager"] * 4
    results = await asyncio.gather(*[change(hub, CANCEL, order["id"], w) for w in who])
    # then exactly one succeeds and the other 7 are INVALID_TRANSITION
    winners = [r for r in results if r["errors"] == []]
    losers = [r for r in results if r["errors"] != []]
    assert len(winners) == 1
    assert winners[0]["order"]["status"] == "CANCELLED"
    assert [[e["code"] for e in r["errors"]] for r in losers] == [["INVALID_TRANSITION"]] * 7
    assert all(r["order"] is None for r in losers)
    # and the reserved quantities are back to their prior values, released once
    assert await hub.reserved("SKU-A") == prior_a
    assert await hub.reserved("SKU-B") == prior_b
    assert await hub.stock("SKU-A") == [("W1", 10, 2), ("W2", 5, 0)]
    final = await read_order(hub, order["id"])
    assert final is not None
    assert kinds(final).count("CANCELLED") == 1


async def test_racing_reject_and_cancel_release_stock_exactly_once(hub: Hub) -> None:
    # given 3 of SKU-A reserved by BETA and ACME's pending order for 10
    await hub.standard()
    await place(hub, ("SKU-A", 3), as_="beta")
    order = await place(hub, ("SKU-A", 10))
    # when the manager sends 4 rejects and 4 cancels at once
    calls = [change(hub, REJECT, order["id"], "manager", reason="No") for _ in range(4)]
    calls += [change(hub, CANCEL, order["id"], "manager") for _ in range(4)]
    results = await asyncio.gather(*calls)
    # then exactly one wins, the rest are INVALID_TRANSITION, and the stock is released once
    winners = [r for r in results if r["errors"] == []]
    assert len(winners) == 1
    assert winners[0]["order"]["status"] in {"REJECTED", "CANCELLED"}
    assert (
        sorted(e["code"] for r in results if r["errors"] for e in r["errors"]) == ["INVALID_TRANSITION"] * 7
    )
    assert await hub.reserved("SKU-A") == 3


async def test_deciding_an_unknown_order_is_not_found(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    # when the manager approves, rejects and cancels an id that names no order
    results = [
        await change(hub, APPROVE, "garbage", "manager"),
        await change(hub, REJECT, "garbage", "manager", reason="x"),
        await change(hub, CANCEL, "garbage", "manager"),
    ]
    # then each is NOT_FOUND and nothing is written
    for payload in results:
        assert payload["order"] is None
        assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert await snapshot(hub) == before


async def test_replay_does_not_need_the_stock_again(hub: Hub) -> None:
    # given a keyed order that took all of SKU-C
    await hub.standard()
    first = await place(hub, ("SKU-C", 2), key="k-1")
    # when the same request is replayed
    replay = await create(hub, ("SKU-C", 2), key="k-1")
    # then it answers the first order instead of a shortage
    assert replay["errors"] == []
    assert replay["order"]["id"] == first["id"]
    assert await hub.reserved("SKU-C") == 2


# -- queries -------------------------------------------------------------------------------
async def test_orders_are_newest_first_filtered_by_status_and_paged(hub: Hub) -> None:
    # given three ACME orders (the middle one cancelled) and one BETA order
    await hub.standard()
    o1 = await place(hub, ("SKU-B", 1))
    o2 = await place(hub, ("SKU-B", 2))
    o3 = await place(hub, ("SKU-B", 3))
    b1 = await place(hub, ("SKU-B", 4), as_="beta")
    assert (await change(hub, CANCEL, o2["id"], "acme"))["errors"] == []

    def ids(conn: dict[str, Any]) -> list[str]:
        return [e["node"]["id"] for e in conn["edges"]]

    # when the buyer lists its orders two at a time
    page1 = (await hub.data(LIST, {"first": 2}, as_="acme"))["orders"]
    page2 = (await hub.data(LIST, {"first": 2, "after": page1["pageInfo"]["endCursor"]}, as_="acme"))[
        "orders"
    ]
    # then it sees its own orders, newest first, over two pages
    assert ids(page1) == [o3["id"], o2["id"]]
    assert page1["pageInfo"]["hasNextPage"] is True
    assert page1["totalCount"] == 3
    assert ids(page2) == [o1["id"]]
    assert page2["pageInfo"]["hasNextPage"] is False
    assert page2["totalCount"] == 3
    # when it filters by status
    pending = (await hub.data(LIST, {"status": "PENDING_APPROVAL"}, as_="acme"))["orders"]
    cancelled = (await hub.data(LIST, {"status": "CANCELLED"}, as_="acme"))["orders"]
    approved = (await hub.data(LIST, {"status": "APPROVED"}, as_="acme"))["orders"]
    # then only those orders come back
    assert ids(pending) == [o3["id"], o1["id"]]
    assert {e["node"]["status"] for e in pending["edges"]} == {"PENDING_APPROVAL"}
    assert pending["totalCount"] == 2
    assert ids(cancelled) == [o2["id"]]
    assert (ids(approved), approved["totalCount"], approved["pageInfo"]["hasNextPage"]) == (
        [],
        0,
        False,
    )
    # and staff see every customer's orders, BETA's buyer only its own
    everyone = (await hub.data(LIST, {}, as_="admin"))["orders"]
    assert ids(everyone) == [b1["id"], o3["id"], o2["id"], o1["id"]]
    assert everyone["totalCount"] == 4
    assert ids((await hub.data(LIST, {}, as_="beta"))["orders"]) == [b1["id"]]


async def test_orders_first_above_100_is_a_graphql_error_naming_the_limit(hub: Hub) -> None:
    # given the standard seed with one order
    await hub.standard()
    await place(hub, ("SKU-B", 1))
    # when the buyer asks for 101 orders
    body = await hub.gql(LIST, {"first": 101}, as_="acme")
    # then the answer is a GraphQL error naming 100, and no list
    assert body["data"] == {"orders": None}
    assert len(body["errors"]) == 1
    assert names_number(body["errors"][0]["message"], 100), body["errors"]
    # and 100 itself is fine
    ok = (await hub.data(LIST, {"first": 100}, as_="acme"))["orders"]
    assert len(ok["edges"]) == 1


async def test_order_by_id_returns_null_for_garbage_foreign_or_missing(hub: Hub) -> None:
    # given an ACME order
    await hub.standard()
    order = await place(hub, ("SKU-A", 1))
    product_id = (await hub.data('{ product(sku: "SKU-A") { id } }', as_="acme"))["product"]["id"]
    # when ids of every kind are looked up
    mine = await read_order(hub, order["id"], as_="acme")
    garbage = await hub.data(ONE, {"id": "garbage!!"}, as_="acme")
    empty = await hub.data(ONE, {"id": ""}, as_="acme")
    other_kind = await hub.data(ONE, {"id": product_id}, as_="acme")
    foreign = await hub.data(ONE, {"id": order["id"]}, as_="beta")
    anonymous = await hub.gql(ONE, {"id": order["id"]})
    # then only the owner gets the order; everything else is a plain null
    assert mine is not None and mine["id"] == order["id"]
    assert garbage == {"order": None}
    assert empty == {"order": None}
    assert other_kind == {"order": None}
    assert foreign == {"order": None}
    assert anonymous == {"data": {"order": None}}


async def test_an_order_total_beyond_the_money_limit_is_invalid_and_writes_nothing(hub: Hub) -> None:
    # given a product priced at 900 billion with plenty of stock
    await hub.standard()
    await hub.add_product("HUGE", "900000000000.00", {"W1": 10})
    # when a buyer orders two of them (1.8 trillion, beyond NUMERIC(14, 2))
    data = await hub.data(
        'mutation { orderCreate(input: {lines: [{sku: "HUGE", quantity: 2}]}) { order { id } errors { code field } } }',
        as_="acme",
    )
    # then it is refused as INVALID on the line, on every database, and nothing is written
    assert data["orderCreate"] == {
        "order": None,
        "errors": [{"code": "INVALID", "field": "lines.0.quantity"}],
    }
    assert await hub.count(Order) == 0
    assert await hub.reserved("HUGE") == 0
