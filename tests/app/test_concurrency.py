"""Concurrent orders against scarce stock, through the real ASGI app, on each database."""

from __future__ import annotations

import asyncio
from collections import Counter

from sqlalchemy import func, select

from hub.domain.auth.models import Role
from hub.domain.inventory.models import Reservation, Stock
from hub.domain.orders.models import Order, OrderLine
from tests.support import Hub

ORDER = """mutation($lines: [OrderLineInput!]!) { orderCreate(input: {lines: $lines}) {
  order { id lines { sku quantity } } errors { code field message } } }"""

CONCURRENT = 40


async def test_concurrent_orders_never_oversell(hub: Hub) -> None:
    # given three SKUs whose stock covers only some of 40 orders, and 8 buyers
    await hub.add_warehouse("W1", 10)
    await hub.add_warehouse("W2", 20)
    await hub.add_product("X", "5.00", {"W1": 7, "W2": 5})
    await hub.add_product("Y", "7.00", {"W1": 30})
    await hub.add_product("Z", "9.00", {"W2": 9})
    buyers = []
    for i in range(8):
        await hub.add_customer(f"C{i}")
        await hub.add_user(f"b{i}", [Role.CUSTOMER], customer=f"C{i}")
        buyers.append(f"b{i}")

    def lines(i: int) -> list[dict[str, object]]:
        chosen = [
            {"sku": "X", "quantity": 1 + i % 2},
            {"sku": "Y", "quantity": 1 + i % 3},
            {"sku": "Z", "quantity": 1},
        ]
        return chosen if i % 2 else list(reversed(chosen))  # lines in both orders

    # when 40 orders are placed at once
    results = await asyncio.gather(
        *(hub.gql(ORDER, {"lines": lines(i)}, as_=buyers[i % len(buyers)]) for i in range(CONCURRENT))
    )

    # then no request failed outright (no deadlock, no "database is locked")
    assert all("errors" not in body for body in results), [b["errors"] for b in results if "errors" in b]
    payloads = [body["data"]["orderCreate"] for body in results]
    accepted = [p["order"] for p in payloads if not p["errors"]]
    rejected = [p["errors"] for p in payloads if p["errors"]]
    # and every rejection is a stock shortage
    assert {e["code"] for errors in rejected for e in errors} == {"INSUFFICIENT_STOCK"}
    assert accepted and rejected
    # and the reservations equal exactly what the accepted orders hold
    ordered: Counter[str] = Counter()
    for order in accepted:
        for line in order["lines"]:
            ordered[line["sku"]] += line["quantity"]
    assert {sku: await hub.reserved(sku) for sku in ("X", "Y", "Z")} == {
        s: ordered[s] for s in ("X", "Y", "Z")
    }
    # and no warehouse is reserved beyond what it has
    async with hub.db.read() as s:
        rows = (await s.execute(select(Stock.on_hand, Stock.reserved))).all()
        assert all(reserved <= on_hand for on_hand, reserved in rows)
        # and the database agrees with the answers: one order per acceptance, lines and
        # reservations adding up
        assert await s.scalar(select(func.count()).select_from(Order)) == len(accepted)
        assert await s.scalar(select(func.sum(OrderLine.quantity))) == sum(ordered.values())
        assert await s.scalar(select(func.sum(Reservation.quantity))) == sum(ordered.values())
    # and scarce X (12 units) and Z (9 units) are fully used where demand exceeded them
    assert ordered["Z"] <= 9 and ordered["X"] <= 12


async def test_concurrent_orders_for_one_sku_take_exactly_the_stock(hub: Hub) -> None:
    # given 10 units of one SKU and 32 buyers each wanting 1
    await hub.add_warehouse("W1", 10)
    await hub.add_product("ONE", "1.00", {"W1": 10})
    await hub.add_customer("C")
    for i in range(32):
        await hub.add_user(f"u{i}", [Role.CUSTOMER], customer="C")
    # when they all order at once
    results = await asyncio.gather(
        *(hub.gql(ORDER, {"lines": [{"sku": "ONE", "quantity": 1}]}, as_=f"u{i}") for i in range(32))
    )
    payloads = [body["data"]["orderCreate"] for body in results]
    # then exactly 10 succeed and 22 are told there is no stock left
    assert sum(1 for p in payloads if not p["errors"]) == 10
    assert Counter(p["errors"][0]["code"] for p in payloads if p["errors"]) == {"INSUFFICIENT_STOCK": 22}
    assert await hub.stock("ONE") == [("W1", 10, 10)]
