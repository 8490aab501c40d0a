"""The fast executor answers exactly as graphql-core does, whatever the variables.

The differential tests run the same operations through the hub with the fast executor and with
``HUB_FAST_EXECUTION=false`` (strawberry's own executor) against one database, and compare the
JSON bodies byte for byte (data, errors and key order), while checking that the fast path was
actually taken (``hub.schema.execution.STATS``). Cases the hub's data cannot produce (a null in
a non-null field, a value the scalar refuses, a raising resolver inside a planned subtree) run
through a small schema of their own.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
import strawberry

from hub.db import Database
from hub.schema.execution import STATS, FastExecutionContext
from hub.settings import Settings
from tests.support import Hub

INLINE = "query($v: Boolean!) { products(first: 1) { edges { node { sku ... @include(if: $v) { name } } } } }"
SPREAD = (
    "query($v: Boolean!) { products(first: 1) { edges { node { sku ...F @skip(if: $v) } } } }"
    " fragment F on Product { name }"
)
FIELD = "query($v: Boolean!) { products(first: 1) { edges { node { sku name @include(if: $v) } } } }"


async def test_directives_on_fragments_follow_each_requests_variables(hub: Hub) -> None:
    # given a buyer and one product
    await hub.standard()
    for query, shown in ((INLINE, True), (SPREAD, False), (FIELD, True)):
        # when the same query text runs with the directive true and then false (and again)
        answers = [
            (await hub.data(query, {"v": v}, as_="acme"))["products"]["edges"][0]["node"]
            for v in (True, False, True, False)
        ]
        # then each answer follows its own variables, not the first request's
        with_name = {"sku": "SKU-A", "name": "Product SKU-A"}
        without = {"sku": "SKU-A"}
        expected = [with_name, without] * 2 if shown else [without, with_name] * 2
        assert answers == expected, query


async def test_aliases_and_typename_in_a_planned_subtree(hub: Hub) -> None:
    await hub.standard()
    data = await hub.data(
        "{ products(first: 1) { edges { node { __typename code: sku sku c: category { n: name } } } } }",
        as_="acme",
    )
    assert data["products"]["edges"][0]["node"] == {
        "__typename": "Product", "code": "SKU-A", "sku": "SKU-A", "c": {"n": "Valves"},
    }  # fmt: skip


# -- differential: the hub through both executors ------------------------------------------
ORDER = """id number status note customer { id code name region { id code name } group { code } }
  lines { sku name quantity unitPrice { amount currency } lineTotal { amount currency } }
  subtotal { amount currency } discountTotal { amount currency } total { amount currency } createdAt
  approval { currentStep steps { name role status decidedBy decidedAt comment dueAt } }
  timeline { at kind message }"""
PRODUCT = """id sku name unit active category { id name } availableQuantity
  price { unitPrice { amount currency } appliedRules { kind description } }"""
ORDER_CREATE = (
    "mutation($lines: [OrderLineInput!]!, $customer: ID) "
    f"{{ orderCreate(input: {{lines: $lines, customerId: $customer}}) {{ order {{ {ORDER} }} "
    "errors { field code message } } }"
)

# (name, query, variables, caller, fast path expected to answer part of it)
CASES: list[tuple[str, str, dict[str, Any], str | None, bool]] = [
    (
        "catalog page with prices",
        f"{{ products(first: 10) {{ totalCount edges {{ cursor node {{ {PRODUCT} }} }}"
        " pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }",
        {},
        "acme",
        True,
    ),
    (
        "staff fields",
        "query($after: String) { products(first: 2, after: $after) "
        "{ edges { node { sku basePrice { amount } costPrice { amount } } } pageInfo { endCursor } } }",
        {"after": None},
        "admin",
        True,
    ),
    (
        "a search",
        '{ products(search: "sku-b") { edges { node { sku name } } totalCount } }',
        {},
        "acme",
        True,
    ),
    (
        "aliases and arguments",
        '{ product(sku: "SKU-A") { s: sku n: name p1: price { unitPrice { amount } } '
        "p5: price(quantity: 5) { unitPrice { amount } appliedRules { kind } } p0: price(quantity: 0) "
        "{ unitPrice { amount } } } }",
        {},
        "acme",
        True,
    ),
    (
        "named and inline fragments, __typename",
        "query { products(first: 3) { edges { node { ...P "
        "... on Product { __typename unit } } } } } fragment P on Product { sku category { ...C } } "
        "fragment C on Category { id name }",
        {},
        "acme",
        True,
    ),
    (
        "directives from variables",
        "query($a: Boolean!, $b: Boolean!) { products(first: 2) { edges { node "
        "{ sku name @include(if: $a) ... on Product @skip(if: $b) { unit } } } } }",
        {"a": False, "b": True},
        "acme",
        True,
    ),
    (
        "a product without category (null in a nullable object)",
        '{ product(sku: "SKU-Z") { sku category { name } } }',
        {},
        "admin",
        True,
    ),
    ("a missing product", '{ product(sku: "NOPE") { sku } }', {}, "acme", False),
    (
        "categories and warehouses",
        "{ categories { id name } warehouses { id code name priority } }",
        {},
        "admin",
        True,
    ),
    (
        "price quote",
        '{ priceQuote(lines: [{sku: "SKU-A", quantity: 3}, {sku: "SKU-B", quantity: 1}, '
        '{sku: "NOPE", quantity: 1}]) { lines { sku quantity unitPrice { amount currency } '
        "lineTotal { amount } appliedRules { kind description } } subtotal { amount } total { amount } "
        "errors { field code message } } }",
        {},
        "acme",
        True,
    ),
    (
        "orders with lines, approval and timeline",
        f"{{ orders(first: 5) {{ totalCount edges {{ node {{ {ORDER} }} }} }} }}",
        {},
        "admin",
        True,
    ),
    (
        "orders by status",
        "query($s: OrderStatus) { orders(status: $s) { edges { node { id status } } } }",
        {"s": "CANCELLED"},
        "acme",
        True,
    ),
    (
        "customers with credit",
        "{ customers { edges { node { id code name region { code name } group { id code name } active "
        "creditLimit { amount currency } outstanding { amount } availableCredit { amount } "
        "orders(first: 2) { totalCount edges { node { id status total { amount } } } } } } } }",
        {},
        "admin",
        True,
    ),
    ("me", "{ me { id email roles customer { id code name } } }", {}, "acme", True),
    ("errors: a page too large", "{ products(first: 1000) { edges { node { sku } } } }", {}, "acme", False),
    ("errors: a bad cursor", '{ orders(after: "nonsense") { edges { node { id } } } }', {}, "admin", False),
    (
        "staff only, as a customer: null",
        "{ customers { edges { node { code } } } ok: me { email } }",
        {},
        "acme",
        True,
    ),
    (
        "errors: a refused order (payload errors)",
        ORDER_CREATE,
        {"lines": [{"sku": "SKU-A", "quantity": 10_000}, {"sku": "NOPE", "quantity": 1}]},
        "acme",
        True,
    ),
    (
        "errors: an invalid variable",
        "query($f: Int) { products(first: $f) { totalCount } }",
        {"f": "ten"},
        "acme",
        False,
    ),
    ("errors: an unknown field", "{ products { edges { node { nonsense } } } }", {}, "acme", False),
    ("anonymous", "{ me { id } products { totalCount } }", {}, None, False),
]


@pytest.fixture
async def plain(settings: Settings, db: Database, hub: Hub) -> AsyncIterator[Hub]:
    """The same hub, database and users, with HUB_FAST_EXECUTION=false."""
    async with Hub.start(dataclasses.replace(settings, fast_execution=False), db) as other:
        other.seeded = hub.seeded
        yield other


async def _seed(hub: Hub) -> dict[str, str]:
    """Standard data, a product without category, and orders in three states."""
    await hub.standard()
    await hub.add_product("SKU-Z", "7.00", {"W1": 4})
    ids: dict[str, str] = {}
    for label, sku, q in (("pending", "SKU-A", 2), ("approved", "SKU-B", 5), ("cancelled", "SKU-C", 1)):
        data = await hub.data(ORDER_CREATE, {"lines": [{"sku": sku, "quantity": q}]}, as_="acme")
        assert data["orderCreate"]["errors"] == [], data
        ids[label] = data["orderCreate"]["order"]["id"]
    approve = 'mutation($id: ID!) { orderApprove(id: $id, comment: "ok") { errors { code } } }'
    assert (await hub.data(approve, {"id": ids["approved"]}, as_="manager"))["orderApprove"]["errors"] == []
    cancel = 'mutation($id: ID!) { orderCancel(id: $id, reason: "no") { errors { code } } }'
    assert (await hub.data(cancel, {"id": ids["cancelled"]}, as_="acme"))["orderCancel"]["errors"] == []
    return ids


def _text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False)  # key order included


async def _both(
    fast: Hub, plain: Hub, query: str, variables: dict[str, Any], as_: str | None
) -> tuple[str, str, int]:
    """Both JSON bodies, and how often the fast path answered for the fast one."""
    before = STATS.leaves + STATS.objects
    fast_body = _text(await fast.gql(query, variables, as_=as_))
    hits = STATS.leaves + STATS.objects - before
    plain_body = _text(await plain.gql(query, variables, as_=as_))
    assert STATS.leaves + STATS.objects - before == hits, "the plain executor took the fast path"
    return fast_body, plain_body, hits


async def test_both_executors_answer_the_schema_queries_identically(hub: Hub, plain: Hub) -> None:
    # given catalog data and orders in several states
    ids = await _seed(hub)
    cases = [
        *CASES,
        ("one order", f"query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}", {"id": ids["approved"]}, "acme", True),
        ("another customer's order", "query($id: ID!) { order(id: $id) { id } }", {"id": ids["pending"]}, "beta",
         False),
        ("one customer with its orders", "query($id: ID!) { order(id: $id) { customer { id } } }",
         {"id": ids["pending"]}, "admin", True),
        ("errors: an order that cannot be cancelled", "mutation($id: ID!) { orderCancel(id: $id) "
         f"{{ order {{ {ORDER} }} errors {{ field code message }} }} }}", {"id": ids["cancelled"]}, "acme", True),
    ]  # fmt: skip
    for name, query, variables, as_, planned in cases:
        # when each runs through the fast executor and through strawberry's own
        fast_body, plain_body, hits = await _both(hub, plain, query, variables, as_)
        # then the bodies are identical, and the fast path answered where it applies
        assert fast_body == plain_body, name
        if planned:
            assert hits > 0, name
        # (and the error cases did produce errors: GraphQL errors or a payload's)
        if name.startswith("errors:"):
            assert '"message": ' in fast_body, name


async def test_both_executors_place_the_same_order(hub: Hub, plain: Hub) -> None:
    # given a buyer and stock for two orders
    await hub.standard()
    lines = [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 3}]
    before = STATS.objects
    # when the same order is placed through each executor
    fast = (await hub.data(ORDER_CREATE, {"lines": lines}, as_="acme"))["orderCreate"]
    assert STATS.objects > before
    slow = (await plain.data(ORDER_CREATE, {"lines": lines}, as_="acme"))["orderCreate"]
    # then the payloads are the same but for the order's identity and its timestamps
    assert fast["errors"] == slow["errors"] == []
    for payload in (fast, slow):
        order = payload["order"]
        order["id"] = order["number"] = order["createdAt"] = None
        for event in order["timeline"]:
            event["at"] = None
        for step in order["approval"]["steps"]:
            step["dueAt"] = None
    assert _text(fast) == _text(slow)


# -- differential: what the hub's data cannot produce ---------------------------------------
@strawberry.type
class Item:
    name: str
    note: str | None
    count: int
    tags: list[str]
    maybe_tags: list[str | None] | None

    @strawberry.field
    def twice(self, n: int) -> int:
        return 2 * n

    @strawberry.field
    def fails(self) -> str:
        raise ValueError("resolver failed")


@strawberry.type
class Box:
    label: str
    items: list[Item]
    first: Item | None
    strict: Item


def _item(**changes: Any) -> Item:
    values: dict[str, Any] = {"name": "a", "note": None, "count": 1, "tags": ["x"], "maybe_tags": ["y", None]}
    values.update(changes)
    return Item(**values)


BOXES = {
    "fine": Box(label="fine", items=[_item(), _item(name="b")], first=None, strict=_item()),
    "null name": Box(label="n", items=[_item(), _item(name=None)], first=_item(name=None), strict=_item()),
    "null in strict": Box(label="s", items=[], first=None, strict=_item(name=None)),
    "null tag": Box(label="t", items=[_item(tags=["x", None])], first=None, strict=_item()),
    "int too big": Box(label="i", items=[_item(count=2**40)], first=None, strict=_item()),
    "not a string": Box(label="o", items=[_item(name=object())], first=None, strict=_item()),
}


@strawberry.type
class EdgeQuery:
    @strawberry.field
    def box(self, kind: str) -> Box:
        return BOXES[kind]


EDGE_QUERIES = [
    "query($k: String!) { box(kind: $k) { label items { name note count tags maybeTags t: twice(n: 3) } "
    "first { name } strict { name count } } }",
    "query($k: String!) { box(kind: $k) { items { ...I } } } fragment I on Item { name count }",
    "query($k: String!) { box(kind: $k) { items { name fails } } }",
    "query($k: String!) { box(kind: $k) { strict { fails } label } }",
]


def _result(schema: strawberry.Schema, query: str, kind: str) -> str:
    result = schema.execute_sync(query, variable_values={"k": kind})
    errors = [e.formatted for e in result.errors or []]
    return json.dumps({"data": result.data, "errors": errors}, default=str)


def test_nulls_refused_values_and_failing_resolvers_answer_as_graphql_core_does() -> None:
    # given one small schema with the fast executor and without it
    fast = strawberry.Schema(query=EdgeQuery, execution_context_class=FastExecutionContext)
    plain = strawberry.Schema(query=EdgeQuery)
    for kind in BOXES:
        for query in EDGE_QUERIES:
            # when a query meets a null in a non-null field, a value its scalar refuses or a
            # resolver that raises, inside a subtree the fast path plans
            before = STATS.objects + STATS.leaves
            fast_result = _result(fast, query, kind)
            hits = STATS.objects + STATS.leaves - before
            # then the data, the errors and their paths are graphql-core's own
            assert fast_result == _result(plain, query, kind), (kind, query)
            if kind == "fine" and "fails" not in query:  # a raising non-null field stops its parent
                assert hits > 0, query
    # and the broken values did produce errors
    assert "Cannot return null for non-nullable field" in _result(fast, EDGE_QUERIES[0], "null in strict")
    assert "resolver failed" in _result(fast, EDGE_QUERIES[2], "fine")


async def test_the_plain_executor_is_used_when_switched_off(plain: Hub) -> None:
    # given the hub with HUB_FAST_EXECUTION=false
    await plain.standard()
    before = (STATS.leaves, STATS.objects)
    # when a catalog page is read, then the fast path never answers
    data = await plain.data("{ products { edges { node { sku name category { name } } } } }", as_="acme")
    assert len(data["products"]["edges"]) == 3
    assert (STATS.leaves, STATS.objects) == before
