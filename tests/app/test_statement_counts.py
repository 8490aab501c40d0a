"""SQL statements per operation are deterministic: the catalog page and orderCreate issue the
same number of statements whatever the page size or line count."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import event

from hub.domain.auth.models import Role
from hub.domain.catalog.models import Product
from hub.domain.inventory.models import Stock
from tests.support import Hub, count_statements

PRODUCTS = """query($first: Int) { products(first: $first) { totalCount edges { node { id sku name unit
  category { id name } availableQuantity price { unitPrice { amount currency } appliedRules { kind description } }
  p5: price(quantity: 5) { unitPrice { amount } } } } pageInfo { hasNextPage endCursor } } }"""

ORDER = """mutation($lines: [OrderLineInput!]!) { orderCreate(input: {lines: $lines}, idempotencyKey: null) {
  order { id number status total { amount } lines { sku quantity unitPrice { amount } lineTotal { amount } }
  approval { currentStep steps { name role status } } timeline { kind message } customer { id name } }
  errors { code field message } } }"""

ORDER_WITH_KEY = """mutation($lines: [OrderLineInput!]!, $key: String) {
  orderCreate(input: {lines: $lines}, idempotencyKey: $key) { order { id lines { sku } } errors { code } } }"""


async def _many_products(hub: Hub, n: int) -> None:
    await hub.add_warehouse("W1", 10)
    await hub.add_warehouse("W2", 20)
    async with hub.db.write() as s:
        products = [
            Product(sku=f"P{i:04d}", name=f"Product {i}", unit="pcs", base_price=Decimal("1.50"), active=True)
            for i in range(n)
        ]
        s.add_all(products)
        await s.flush()
        s.add_all(
            Stock(product_id=p.id, warehouse_id=hub.seeded.warehouses[w], on_hand=1000, reserved=0)
            for p in products
            for w in ("W1", "W2")
        )
        hub.seeded.products.update({p.sku: p.id for p in products})


async def _buyer(hub: Hub) -> None:
    await hub.add_customer("ACME")
    await hub.add_user("acme", [Role.CUSTOMER], customer="ACME")


async def test_a_catalog_page_costs_the_same_statements_for_10_and_100_products(hub: Hub) -> None:
    # given 120 products with stock in two warehouses and a buyer
    await _many_products(hub, 120)
    await _buyer(hub)
    counts = {}
    for first in (10, 100):
        # when the buyer reads a page with prices and availability
        with count_statements(hub.db.engine) as seen:
            data = await hub.data(PRODUCTS, {"first": first}, as_="acme")
        assert len(data["products"]["edges"]) == first
        counts[first] = len(seen)
    # then both pages issue the same, small number of statements: the caller's user row
    # (SQLite: BEGIN and SELECT), the page and its count
    assert counts[10] == counts[100], counts
    assert counts[10] <= (5 if hub.db.is_sqlite else 3), counts


async def test_order_create_costs_the_same_statements_for_1_and_50_lines(hub: Hub) -> None:
    # given 60 products with stock and a buyer
    await _many_products(hub, 60)
    await _buyer(hub)
    counts = {}
    for n in (1, 50):
        # fresh SKUs each time, 1,500 units each: split over W1 and W2
        start = 0 if n == 50 else 59
        lines = [{"sku": f"P{i:04d}", "quantity": 1500} for i in range(start, start + n)]
        # when an order with n lines is placed
        with count_statements(hub.db.engine) as seen:
            data = await hub.data(ORDER, {"lines": lines}, as_="acme")
        assert data["orderCreate"]["errors"] == []
        assert len(data["orderCreate"]["order"]["lines"]) == n
        counts[n] = len(seen)
    # then both cost the same number of statements, at most 15
    assert counts[1] == counts[50], counts
    assert counts[1] <= 15, counts
    # and on PostgreSQL: the caller's user row, customer, products, and one statement for
    # the whole write
    if not hub.db.is_sqlite:
        assert counts[1] == 4, counts


async def test_outstanding_and_available_credit_share_one_query(hub: Hub) -> None:
    # given a customer with a credit limit and its buyer
    await hub.add_customer("ACME", credit_limit="1000.00")
    await hub.add_user("acme", [Role.CUSTOMER], customer="ACME")
    # when both credit figures are asked for
    with count_statements(hub.db.engine) as seen:
        data = await hub.data(
            "{ me { customer { outstanding { amount } availableCredit { amount } } } }", as_="acme"
        )
    # then they agree and the open-order total was read once
    assert data["me"]["customer"] == {
        "outstanding": {"amount": "0.00"},
        "availableCredit": {"amount": "1000.00"},
    }
    assert sum("sum(orders.total)" in s for s in seen) == 1, seen


async def test_every_statement_of_an_order_fires_both_cursor_events(hub: Hub) -> None:
    # given products with stock and a buyer
    await _many_products(hub, 3)
    await _buyer(hub)
    before: list[str] = []
    after: list[str] = []

    def on_before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        before.append(statement)

    def on_after(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        after.append(statement)

    engine = hub.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", on_before)
    event.listen(engine, "after_cursor_execute", on_after)
    try:
        # when an order is placed (with an idempotency key), replayed, and one is refused
        lines = [{"sku": "P0000", "quantity": 1500}, {"sku": "P0001", "quantity": 1}]
        for key, wanted in (("k1", lines), ("k1", lines), (None, [{"sku": "P0002", "quantity": 99_999}])):
            payload = (await hub.data(ORDER_WITH_KEY, {"lines": wanted, "key": key}, as_="acme"))[
                "orderCreate"
            ]
            assert (payload["errors"] == []) == (key is not None), payload
    finally:
        event.remove(engine, "before_cursor_execute", on_before)
        event.remove(engine, "after_cursor_execute", on_after)
    # then SQLAlchemy saw every statement before and after it ran, the hot ones included
    # (each request also reads the caller's user row: BEGIN and SELECT on SQLite)
    assert before == after
    assert len(before) == (15 + 8 + 11 if hub.db.is_sqlite else 5 + 6 + 4), before


async def test_the_count_runs_only_where_total_count_is_selected(hub: Hub) -> None:
    # given products and a buyer
    await _many_products(hub, 5)
    await _buyer(hub)
    query = "{ a: products(first: 2) { totalCount } b: products(first: 2) { edges { node { sku } } } }"
    for _ in range(2):  # the second time from the cached answer
        # when one alias selects totalCount and the other does not
        with count_statements(hub.db.engine) as seen:
            data = await hub.data(query, as_="acme")
        # then only the first counts
        assert data["a"] == {"totalCount": 5}
        assert len(data["b"]["edges"]) == 2
        assert sum("count(*)" in s for s in seen) == 1, seen
    # and a query selecting it under a fragment counts too
    with count_statements(hub.db.engine) as seen:
        data = await hub.data(
            "{ products { ...C } } fragment C on ProductConnection { totalCount }", as_="acme"
        )
    assert data["products"] == {"totalCount": 5}
    assert sum("count(*)" in s for s in seen) == 1, seen


async def test_the_answers_wants_keeps_do_not_keep_documents_alive(hub: Hub) -> None:
    import gc

    from hub.schema import common

    # given a buyer who sends many distinct documents, more than the parser cache keeps (256)
    await _many_products(hub, 1)
    await _buyer(hub)
    for i in range(300):
        await hub.data(f"{{ products(first: 1) {{ totalCount }} n{i}: __typename }}", as_="acme")
    gc.collect()
    # then the answers of documents the parser cache let go are gone with them
    assert 0 < len(common._WANTS) <= 256
