"""The audit trail: one entry per staff mutation that wrote something, in its transaction;
``auditLog`` for ADMIN only, newest first."""

from __future__ import annotations

import inspect

from sqlalchemy import select

from hub.domain.audit.models import AuditEntry
from hub.schema.common import encode_id
from tests.support import Hub

PRODUCT = """mutation($sku: String!) { productCreate(input: {sku: $sku, name: "N", basePrice: "1.00"}) {
    product { id } errors { code } } }"""
ORDER = """mutation($key: String) { orderCreate(input: {lines: [{sku: "SKU-A", quantity: 1}], customerId: $c},
    idempotencyKey: $key) { order { id } errors { code } } }"""
LOG = """query($first: Int, $after: String) { auditLog(first: $first, after: $after) {
    edges { cursor node { at actor { id email } action target } } pageInfo { hasNextPage endCursor } } }"""


async def _entries(hub: Hub) -> list[tuple[str, str | None, str, str | None]]:
    async with hub.db.read() as s:
        rows = (await s.scalars(select(AuditEntry).order_by(AuditEntry.id))).all()
        return [(r.action, r.target, r.actor_email, r.request_id) for r in rows]


async def test_a_staff_mutation_writes_one_entry_with_who_what_and_target(hub: Hub) -> None:
    # given an admin
    await hub.standard()
    # when the admin creates a product
    response = await hub.post({"query": PRODUCT, "variables": {"sku": "NEW-1"}}, hub.seeded.tokens["admin"])
    product_id = response.json()["data"]["productCreate"]["product"]["id"]
    # then exactly one entry names the admin, the mutation, the new product and the request id
    assert await _entries(hub) == [
        ("productCreate", product_id, "admin@test.hub", response.headers["x-request-id"])
    ]


async def test_a_mutation_answering_errors_writes_no_entry(hub: Hub) -> None:
    # given a product that exists
    await hub.standard()
    # when an admin creates it again (SKU taken) and a warehouse user tries (no permission)
    dup = await hub.data(PRODUCT, {"sku": "SKU-A"}, as_="admin")
    denied = await hub.data(PRODUCT, {"sku": "NEW-2"}, as_="warehouse")
    # then both answer errors and the audit trail stays empty
    assert dup["productCreate"]["errors"] and denied["productCreate"]["errors"]
    assert await _entries(hub) == []


async def test_customer_mutations_are_not_audited(hub: Hub) -> None:
    # given a customer user
    await hub.standard()
    # when it places an order
    body = await hub.data(ORDER.replace(", customerId: $c", ""), {"key": None}, as_="acme")
    # then the order exists and no entry was written
    assert body["orderCreate"]["errors"] == []
    assert await _entries(hub) == []


async def test_staff_order_changes_are_audited_and_a_replayed_key_adds_nothing(hub: Hub) -> None:
    # given a salesperson ordering for a customer with an idempotency key
    await hub.standard()
    query = ORDER.replace("$key: String", "$key: String, $c: ID")
    acme = encode_id("Customer", hub.seeded.customers["ACME"])
    first = await hub.data(query, {"key": "k-1", "c": acme}, as_="sales")
    # when the same request is resent and the manager approves the order
    again = await hub.data(query, {"key": "k-1", "c": acme}, as_="sales")
    order_id = first["orderCreate"]["order"]["id"]
    assert again["orderCreate"]["order"]["id"] == order_id
    approved = await hub.data(
        "mutation($id: ID!) { orderApprove(id: $id) { errors { code } } }", {"id": order_id}, as_="manager"
    )
    assert approved["orderApprove"]["errors"] == []
    # then the order has one orderCreate entry and one orderApprove entry
    assert [(a, t, e) for a, t, e, _ in await _entries(hub)] == [
        ("orderCreate", order_id, "sales@test.hub"),
        ("orderApprove", order_id, "manager@test.hub"),
    ]


async def test_stock_set_names_the_sku_and_warehouse(hub: Hub) -> None:
    await hub.standard()
    body = await hub.data(
        'mutation { stockSet(input: {sku: "SKU-A", warehouseCode: "W1", quantity: 3}) { errors { code } } }',
        as_="warehouse",
    )
    assert body["stockSet"]["errors"] == []
    assert [(a, t) for a, t, _, _ in await _entries(hub)] == [("stockSet", "SKU-A@W1")]


async def test_audit_log_is_admin_only_newest_first_and_paged(hub: Hub) -> None:
    # given three products created by the admin
    await hub.standard()
    created = []
    for sku in ("P-1", "P-2", "P-3"):
        created.append((await hub.data(PRODUCT, {"sku": sku}, as_="admin"))["productCreate"]["product"]["id"])
    # when the admin reads the log two at a time
    page1 = (await hub.data(LOG, {"first": 2}, as_="admin"))["auditLog"]
    page2 = (await hub.data(LOG, {"first": 2, "after": page1["pageInfo"]["endCursor"]}, as_="admin"))[
        "auditLog"
    ]
    # then the entries come newest first, with the actor, and the second page ends the log
    nodes = [e["node"] for e in page1["edges"] + page2["edges"]]
    assert [(n["action"], n["target"]) for n in nodes] == [("productCreate", t) for t in reversed(created)]
    admin = {"id": encode_id("User", hub.seeded.users["admin"]), "email": "admin@test.hub"}
    assert [n["actor"] for n in nodes] == [admin] * 3
    assert nodes[0]["at"] >= nodes[1]["at"] >= nodes[2]["at"]
    assert page1["pageInfo"]["hasNextPage"] is True and page2["pageInfo"]["hasNextPage"] is False
    # and everyone else gets null
    for who in ("sales", "manager", "finance", "warehouse", "director", "acme", None):
        assert (await hub.gql(LOG, as_=who))["data"]["auditLog"] is None


async def test_each_kind_of_staff_mutation_records_its_target(hub: Hub) -> None:
    # given an admin, and an order a customer placed
    await hub.standard()
    placed = await hub.data(
        'mutation { orderCreate(input: {lines: [{sku: "SKU-A", quantity: 1}]}) { order { id } } }', as_="acme"
    )
    order_id = placed["orderCreate"]["order"]["id"]
    # when the admin creates one of each kind and the manager cancels the order
    cat = await hub.data(
        'mutation { categoryCreate(input: {name: "Taps"}) { category { id } } }', as_="admin"
    )
    cust = await hub.data(
        'mutation { customerCreate(input: {code: "GAMMA", name: "Gamma"}) { customer { id } } }', as_="admin"
    )
    wh = await hub.data(
        'mutation { warehouseCreate(input: {code: "W9", name: "Nine"}) { warehouse { id } } }', as_="admin"
    )
    user = await hub.data(
        'mutation { userCreate(input: {email: "new@test.hub", password: "long-enough-1", roles: [SALES]}) '
        "{ user { id } } }",
        as_="admin",
    )
    cancelled = await hub.data(
        "mutation($id: ID!) { orderCancel(id: $id) { errors { code } } }", {"id": order_id}, as_="manager"
    )
    assert cancelled["orderCancel"]["errors"] == []
    # then each wrote one entry naming the mutation and the object's GraphQL id
    assert [(a, t) for a, t, _, _ in await _entries(hub)] == [
        ("categoryCreate", cat["categoryCreate"]["category"]["id"]),
        ("customerCreate", cust["customerCreate"]["customer"]["id"]),
        ("warehouseCreate", wh["warehouseCreate"]["warehouse"]["id"]),
        ("userCreate", user["userCreate"]["user"]["id"]),
        ("orderCancel", order_id),
    ]


# Mutations that are not a staff change: logging in writes nothing of the caller's.
NOT_AUDITED = {"token_create"}  # resolver names (tokenCreate)


def test_every_mutation_resolver_calls_the_audit_helper() -> None:
    # A guard for new mutations: each resolver calls audit() (or the shared order-change path,
    # which does), so "every staff mutation has one entry" stays true.
    from hub.schema import Mutation

    missing = []
    for field in Mutation.__strawberry_definition__.fields:  # type: ignore[attr-defined]
        if field.name in NOT_AUDITED:
            continue
        source = inspect.getsource(field.base_resolver.wrapped_func)
        if "audit(" not in source and "run_order_change(" not in source:
            missing.append(field.name)
    assert missing == []
