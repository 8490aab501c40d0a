"""Bounded query cost (issue 9, item 1): the cost arithmetic (hub/schema/cost.py), the budget
refusing the nested fan-out before any SQL runs while another client is served, every query the
hub's clients and tests send staying under the budget, and nested lists read once per level."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate

from hub.db import Database
from hub.domain.orders.models import ApprovalStep, Order, OrderEvent, OrderLine, OrderStatus
from hub.schema.build import build_schema
from hub.schema.cost import DEFAULT_FIRST, LIST_MULTIPLIER, MAX_QUERY_COST, compile_cost, operation_cost
from hub.settings import Settings
from tests.support import Hub, count_statements

ROOT = Path(__file__).resolve().parents[2]
SCHEMA: GraphQLSchema = build_schema(Settings())._schema


def cost(query: str, variables: dict[str, Any] | None = None, operation: str | None = None) -> int:
    document = parse(query)
    assert validate(SCHEMA, document) == []
    return operation_cost(SCHEMA, document, variables, operation)


def attack(aliases: int = 30, levels: int = 2, first: str = "") -> str:
    """Issue 9's fan-out: ``me.customer.orders…node.customer.orders`` nested to depth 10."""
    inner = "customer { id }"
    for _ in range(levels):
        inner = f"customer {{ orders{first} {{ edges {{ node {{ {inner} }} }} }} }}"
    return "query Fanout { " + " ".join(f"a{i}: me {{ {inner} }}" for i in range(aliases)) + " }"


# -- the arithmetic ---------------------------------------------------------------------------


def test_every_field_costs_one() -> None:
    assert cost("{ me { id email roles } }") == 4
    assert cost("{ __typename }") == 1


def test_a_connection_multiplies_its_edges_by_first_and_counts_the_rest_once() -> None:
    # orders 1 + edges (1 + first × (node 1 + id 1)) + totalCount 1 + pageInfo (1 + 1)
    q = "{ orders(first: 5) { edges { node { id } } totalCount pageInfo { hasNextPage } } }"
    assert cost(q) == 1 + (1 + 5 * 2) + 1 + 2


def test_first_defaults_to_20_when_absent_or_null() -> None:
    assert DEFAULT_FIRST == 20
    assert cost("{ orders { edges { node { id } } } }") == 1 + 1 + 20 * 2
    assert cost("{ orders(first: null) { edges { node { id } } } }") == 1 + 1 + 20 * 2


def test_first_is_read_from_variables_their_defaults_and_the_schema() -> None:
    q = "query($n: Int) { orders(first: $n) { edges { node { id } } } }"
    assert cost(q, {"n": 7}) == 1 + 1 + 7 * 2
    assert cost(q, {"n": None}) == 1 + 1 + 20 * 2
    assert cost(q, {}) == 1 + 1 + 20 * 2  # absent: the argument's default, 20
    with_default = "query($n: Int = 3) { orders(first: $n) { edges { node { id } } } }"
    assert cost(with_default, {}) == 1 + 1 + 3 * 2
    assert cost(with_default, {"n": 50}) == 1 + 1 + 50 * 2


def test_first_counts_at_most_the_largest_page_and_never_below_zero() -> None:
    # A first above 100 is refused by the field before it reads anything.
    assert cost("{ orders(first: 100000) { edges { node { id } } } }") == 1 + 1 + 100 * 2
    assert cost("{ orders(first: -5) { edges { node { id } } } }") == 1 + 1
    q = "query($n: Int) { orders(first: $n) { edges { node { id } } } }"
    assert cost(q, {"n": 10**9}) == 1 + 1 + 100 * 2


def test_plain_lists_multiply_by_the_fixed_multiplier() -> None:
    assert LIST_MULTIPLIER == 10
    q = '{ order(id: "x") { lines { sku quantity } timeline { kind } } }'
    assert cost(q) == 1 + (1 + 10 * 2) + (1 + 10 * 1)


def test_nested_pages_multiply() -> None:
    q = "{ customers(first: 4) { edges { node { orders(first: 3) { edges { node { id } } } } } } }"
    # customers 1 + edges (1 + 4 × (node 1 + orders (1 + edges (1 + 3 × 2))))
    assert cost(q) == 1 + 1 + 4 * (1 + 1 + 1 + 3 * 2)


def test_fragments_count_where_they_are_spread() -> None:
    q = """query { a: orders(first: 2) { ...page } b: orders(first: 3) { ...page } }
           fragment page on OrderConnection { edges { node { id ... on Order { number } } } }"""
    # each spread: edges 1 + first × (node 1 + id 1 + number 1)
    assert cost(q) == (1 + 1 + 2 * 3) + (1 + 1 + 3 * 3)


def test_the_chosen_operation_is_counted() -> None:
    q = "query Small { me { id } } query Big { orders { edges { node { id } } } }"
    assert cost(q, operation="Small") == 2
    assert cost(q, operation="Big") == 42


def test_introspection_costs_one_per_root_field() -> None:
    assert cost("{ __schema { types { name fields { name args { name } } } } }") == 1


def test_a_plan_is_reused_with_other_variables() -> None:
    q = "query($a: Int, $b: Int) { customers(first: $a) { edges { node { orders(first: $b) { totalCount } } } } }"
    plan = compile_cost(SCHEMA, parse(q))
    # customers 1 + edges (1 + a × (node 1 + orders (1 + totalCount 1)))
    assert plan.evaluate({"a": 2, "b": 100}) == 1 + 1 + 2 * 3
    assert plan.evaluate({"a": 100}) == 1 + 1 + 100 * 3


def test_the_issue_9_fan_out_is_over_the_budget() -> None:
    # per alias: me 1 + customer 1 + orders (1 + edges (1 + 20 × (node 1 + customer 1 +
    # orders (1 + edges (1 + 20 × 3)))))
    per_alias = 2 + 1 + 1 + 20 * (2 + 1 + 1 + 20 * 3)
    assert cost(attack()) == 30 * per_alias == 38_520 > MAX_QUERY_COST
    assert cost(attack(aliases=1, first="(first: 100)")) > MAX_QUERY_COST


def _client_operations() -> list[tuple[str, str, int]]:
    """(file, operation, worst cost) of every GraphQL operation in the tests, bench and docs:
    string constants that parse and validate against the schema, each variable page size at its
    largest (100)."""
    found = []
    files = [*(ROOT / "tests").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]
    for path in files:
        if path.name in {"test_query_cost.py", "test_db_limits.py"}:  # the attacks live here
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Constant) and isinstance(node.value, str) and "{" in node.value):
                continue
            try:
                document = parse(node.value)
            except Exception:  # noqa: BLE001 - most strings are not GraphQL
                continue
            if validate(SCHEMA, document):
                continue
            for op in document.definitions:
                if not isinstance(op, OperationDefinitionNode):
                    continue
                plan = compile_cost(SCHEMA, document, op.name.value if op.name else None)
                pages = {d.variable.name.value: 100 for d in op.variable_definitions or ()}
                rel = str(path.relative_to(ROOT))
                found.append((rel, " ".join(node.value.split())[:80], plan.evaluate(pages)))
    return found


def test_every_query_the_clients_and_tests_send_is_under_the_budget() -> None:
    from bench.scenarios import ORDER_MUTATION, PRODUCTS_QUERY

    assert cost(PRODUCTS_QUERY, {"first": 100}) < MAX_QUERY_COST / 5
    assert cost(ORDER_MUTATION) < 100
    operations = _client_operations()
    assert len(operations) > 100  # the scan found the suite's queries
    over = [o for o in operations if o[2] > MAX_QUERY_COST / 4]
    assert over == [], "these leave less than 4× headroom under the budget"
    # An order list page of 100 with lines, totals and customer, as an ERP client would ask.
    page = """{ orders(first: 100) { edges { node { id number status total { amount currency }
      lines { sku quantity unitPrice { amount } lineTotal { amount } } customer { name } } } totalCount } }"""
    assert cost(page) < MAX_QUERY_COST / 2


# -- over the app -----------------------------------------------------------------------------


async def add_orders(hub: Hub, customer: str, n: int, placed_by: str = "admin") -> list[int]:
    """``n`` orders of ``customer`` straight into the database, statuses in turn, each with a
    line, an approval step and a timeline entry by the admin."""
    statuses = [OrderStatus.PENDING_APPROVAL, OrderStatus.APPROVED, OrderStatus.SHIPPED, OrderStatus.REJECTED]
    product = hub.seeded.products["SKU-A"]
    ids = []
    async with hub.db.write() as s:
        for i in range(n):
            total = Decimal(10 + i)
            o = Order(
                customer_id=hub.seeded.customers[customer],
                status=statuses[i % 4].value,
                currency="CNY",
                subtotal=total,
                discount_total=Decimal(0),
                total=total,
                placed_by_id=hub.seeded.users[placed_by],
            )
            s.add(o)
            await s.flush()
            ids.append(o.id)
            s.add(
                OrderLine(
                    order_id=o.id,
                    line_no=1,
                    product_id=product,
                    sku="SKU-A",
                    name="Product SKU-A",
                    quantity=1,
                    unit_price=total,
                    line_total=total,
                    applied_rules=[],
                )
            )
            s.add(
                ApprovalStep(
                    order_id=o.id, position=1, name="Approval", role="SALES_MANAGER", status="PENDING"
                )
            )
            s.add(
                OrderEvent(
                    order_id=o.id,
                    kind="PLACED",
                    message="Order placed by admin@test.hub",
                    actor="admin@test.hub",
                )
            )
    return ids


NORMAL = "{ products(first: 3) { edges { node { sku availableQuantity price { unitPrice { amount } } } } } }"


async def test_the_fan_out_is_refused_before_any_sql_while_another_client_is_served(
    settings: Settings, db: Database
) -> None:
    # given a customer with 200 orders, and a user cache so that the callers' user checks are
    # done before the attack is sent
    async with Hub.start(dataclasses.replace(settings, user_cache_seconds=60), db) as hub:
        await hub.standard()
        await add_orders(hub, "ACME", 200)
        await hub.data("{ me { id } }", as_="acme")
        await hub.data("{ me { id } }", as_="beta")
        # when the attack and a normal client's catalog page are sent at once
        with count_statements(db.engine) as seen:
            attack_answer = await hub.gql(attack(), as_="acme")
        assert seen == []  # not one statement: refused before any resolver ran
        attacked, normal = await asyncio.gather(hub.gql(attack(), as_="acme"), hub.data(NORMAL, as_="beta"))
    # then the attack is refused with its cost and the budget, and the other client is served
    for answer in (attack_answer, attacked):
        assert answer["data"] is None
        (error,) = answer["errors"]
        assert error["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 38_520, "budget": MAX_QUERY_COST}
        assert "38520" in error["message"] and str(MAX_QUERY_COST) in error["message"]
    skus = [e["node"]["sku"] for e in normal["products"]["edges"]]
    assert skus == ["SKU-A", "SKU-B", "SKU-C"]


async def test_the_budget_is_a_setting(settings: Settings, db: Database) -> None:
    async with Hub.start(dataclasses.replace(settings, max_query_cost=40), db) as hub:
        await hub.standard()
        ok = await hub.data("{ orders(first: 19) { edges { node { id } } } }", as_="admin")  # 40
        refused = await hub.gql("{ orders(first: 20) { edges { node { id } } } }", as_="admin")  # 42
    assert ok["orders"]["edges"] == []
    assert refused["errors"][0]["extensions"] == {"code": "QUERY_TOO_COSTLY", "cost": 42, "budget": 40}


async def test_variables_count_and_a_cheap_page_of_the_same_document_passes(hub: Hub) -> None:
    await hub.standard()
    q = """query($n: Int) { customers(first: $n) { edges { node { orders(first: $n) {
      edges { node { id lines { sku quantity unitPrice { amount } } } } } } } } }"""
    assert (await hub.data(q, {"n": 5}, as_="admin"))["customers"]["edges"]
    refused = await hub.gql(q, {"n": 100}, as_="admin")
    assert refused["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert refused["data"] is None


# -- one statement per level ------------------------------------------------------------------

NESTED = """query($first: Int) { customers(first: $first) { edges { node { code
  outstanding { amount } availableCredit { amount }
  orders(first: 3) { totalCount edges { cursor node { id number status lines { sku } timeline { message }
    customer { code orders(first: 2, status: APPROVED) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } } } }
    pageInfo { hasNextPage endCursor } } } } } }"""


async def _customers(hub: Hub, n: int) -> None:
    for i in range(n):
        code = f"A{i:02d}"  # before ACME and BETA, which have no orders
        await hub.add_customer(code, credit_limit="1000.00" if i % 2 else None)
        await add_orders(hub, code, 3 + i)


async def test_nested_lists_cost_the_same_statements_for_2_and_8_customers(hub: Hub) -> None:
    await hub.standard()
    await _customers(hub, 8)
    counts = []
    for first in (2, 8):
        with count_statements(hub.db.engine) as seen:
            data = await hub.data(NESTED, {"first": first}, as_="admin")
        assert len(data["customers"]["edges"]) == first
        counts.append(len([sql for sql in seen if sql != "BEGIN"]))  # SQLite's BEGIN of a read
    # then both read the same statements: the caller, the customers, their outstanding (1),
    # their orders (4: orders, lines, steps, events) and counts (1), and again one level down
    assert counts == [13, 13]


TOP = """query($first: Int, $after: String, $status: OrderStatus) {
  orders(first: $first, after: $after, status: $status) { %s } }"""
NESTED_PAGE = """query($first: Int, $after: String, $status: OrderStatus) {
  me { customer { orders(first: $first, after: $after, status: $status) { %s } } } }"""
PAGE = """totalCount edges { cursor node { id number status timeline { message } } }
  pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"""


async def test_a_nested_page_answers_as_the_top_level_page(hub: Hub) -> None:
    # given a customer's 7 orders (and another customer's 2)
    await hub.standard()
    await add_orders(hub, "ACME", 7)
    await add_orders(hub, "BETA", 2)
    for status in (None, "PENDING_APPROVAL"):
        after, pages = None, 0
        while True:
            # when its user walks them two at a time at the top level and under me.customer
            args = {"first": 2, "after": after, "status": status}
            top = (await hub.data(TOP % PAGE, args, as_="acme"))["orders"]
            nested = (await hub.data(NESTED_PAGE % PAGE, args, as_="acme"))["me"]["customer"]["orders"]
            # then every page is the same: orders, cursors, pageInfo and totalCount
            assert nested == top
            pages += 1
            if not top["pageInfo"]["hasNextPage"]:
                break
            after = top["pageInfo"]["endCursor"]
        assert pages == (4 if status is None else 1)


async def test_another_customers_orders_stay_hidden_when_batched(hub: Hub) -> None:
    await hub.standard()
    await add_orders(hub, "ACME", 2)
    await add_orders(hub, "BETA", 2)
    beta = (await hub.data("{ me { customer { id } } }", as_="beta"))["me"]["customer"]["id"]
    q = "query($id: ID!) { customer(id: $id) { orders { totalCount } } me { customer { orders { totalCount } } } }"
    data = await hub.data(q, {"id": beta}, as_="acme")
    assert data["customer"] is None
    assert data["me"]["customer"]["orders"]["totalCount"] == 2
    bad = await hub.gql('{ me { customer { orders(after: "bm9wZTox") { totalCount } } } }', as_="acme")
    assert bad["errors"][0]["extensions"]["code"] == "INVALID"
    assert bad["errors"][0]["extensions"]["field"] == "after"


async def test_outstanding_and_the_users_customer_are_read_once_for_all(hub: Hub) -> None:
    await hub.standard()
    await add_orders(hub, "ACME", 5)  # open: 10 + 11 + 12 (pending, approved, shipped) + 14
    one = "{ me { customer { outstanding { amount } availableCredit { amount } } } }"
    many = (
        "{ "
        + " ".join(
            f"m{i}: me {{ customer {{ outstanding {{ amount }} availableCredit {{ amount }} }} }}"
            for i in range(5)
        )
        + " }"
    )
    with count_statements(hub.db.engine) as seen_one:
        data = await hub.data(one, as_="acme")
    with count_statements(hub.db.engine) as seen_many:
        data_many = await hub.data(many, as_="acme")
    assert data["me"]["customer"] == {
        "outstanding": {"amount": "47.00"},
        "availableCredit": {"amount": "99953.00"},
    }
    assert all(v == data["me"] for v in data_many.values())
    statements = [len([sql for sql in seen if sql != "BEGIN"]) for seen in (seen_one, seen_many)]
    assert statements == [3, 3]  # the caller, its customer, the outstanding sum


def test_the_budget_and_the_worked_example_are_documented() -> None:
    text = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    assert f"{MAX_QUERY_COST:,}" in text and "HUB_MAX_QUERY_COST" in text
    assert cost("{ orders(first: 5) { totalCount edges { node { number lines { sku } } } } }") == 68
    assert "= 1 + 1 + 1 + 5 × 13 = **68**" in text
    assert "its 30 aliases cost **38,520**" in text
