"""Who may call what: every query and mutation of the schema for an anonymous caller (and for
invalid, expired or forged tokens, which count as anonymous), for another customer's user, for
the wrong role and for the right one.

The rules are API.md's "Semantics": anonymous callers get ``null`` for everything but
``tokenCreate`` and ``me``; an object the caller may not see is ``null`` for a query and
``NOT_FOUND`` for a mutation, exactly as for one that does not exist; a role that may not run a
mutation gets the payload error ``PERMISSION_DENIED``; a staff-only query field answers ``null``.
Every refused mutation is checked to have written nothing.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import jwt
import pytest
from sqlalchemy import select

from hub.domain import models
from hub.domain.auth.models import Role
from hub.domain.auth.principal import Principal
from hub.domain.auth.tokens import TokenService
from hub.domain.models import (
    ApprovalStep,
    Category,
    Customer,
    Order,
    Product,
    User,
    Warehouse,
)
from hub.schema.common import encode_id
from tests.support import PASSWORD, Hub

STAFF = ["admin", "sales", "manager", "finance", "warehouse", "director"]
CUSTOMER_USERS = ["acme", "beta"]
EVERYONE = STAFF + CUSTOMER_USERS
ROLE_OF = {
    "admin": "ADMIN",
    "sales": "SALES",
    "manager": "SALES_MANAGER",
    "finance": "FINANCE",
    "warehouse": "WAREHOUSE",
    "director": "DIRECTOR",
    "acme": "CUSTOMER",
    "beta": "CUSTOMER",
}
ERRORS = "errors { field code message }"


class _AnyText:
    """Equal to any non-empty string: messages are for people, codes are the contract."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other.strip())

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<non-empty text>"


TEXT = _AnyText()
DENIED = {"field": None, "code": "PERMISSION_DENIED", "message": TEXT}


# -- helpers -----------------------------------------------------------------------------------
async def snapshot(hub: Hub) -> dict[str, Any]:
    """Everything a mutation could write: the row count of every table, every stock level and
    the state of every order and approval step."""
    counts = {
        name: await hub.count(getattr(models, name))
        for name in models.__all__
        if name not in ("Base", "Role")
    }
    stock = {sku: await hub.stock(sku) for sku in sorted(hub.seeded.products)}
    async with hub.db.read() as s:
        orders = [
            tuple(r)
            for r in await s.execute(select(Order.id, Order.status, Order.updated_at).order_by(Order.id))
        ]
        steps = [
            tuple(r)
            for r in await s.execute(
                select(
                    ApprovalStep.id,
                    ApprovalStep.status,
                    ApprovalStep.decided_by,
                    ApprovalStep.comment,
                ).order_by(ApprovalStep.id)
            )
        ]
    return {"counts": counts, "stock": stock, "orders": orders, "steps": steps}


async def customer_ids(hub: Hub) -> dict[str, str]:
    """Customer code -> opaque id, read through the API as admin."""
    data = await hub.data("{ customers { edges { node { id code } } } }", as_="admin")
    return {e["node"]["code"]: e["node"]["id"] for e in data["customers"]["edges"]}


async def place_order(
    hub: Hub, as_: str = "acme", sku: str = "SKU-A", quantity: int = 3, customer: str | None = None
) -> str:
    """Place an order through the API and return its id."""
    inp: dict[str, Any] = {"lines": [{"sku": sku, "quantity": quantity}]}
    if customer is not None:
        inp["customerId"] = (await customer_ids(hub))[customer]
    data = await hub.data(
        f"mutation($input: OrderCreateInput!) {{ orderCreate(input: $input) {{ order {{ id }} {ERRORS} }} }}",
        {"input": inp},
        as_=as_,
    )
    assert data["orderCreate"]["errors"] == [], data
    return data["orderCreate"]["order"]["id"]  # type: ignore[no-any-return]


async def approve(hub: Hub, order_id: str) -> None:
    data = await hub.data(
        f"mutation($id: ID!) {{ orderApprove(id: $id) {{ {ERRORS} }} }}",
        {"id": order_id},
        as_="manager",
    )
    assert data["orderApprove"]["errors"] == []


async def order_status(hub: Hub, order_id: str) -> str:
    data = await hub.data("query($id: ID!) { order(id: $id) { status } }", {"id": order_id}, as_="admin")
    return data["order"]["status"]  # type: ignore[no-any-return]


def missing_order_id() -> str:
    """A well-formed id of an order that does not exist."""
    return encode_id("Order", 987_654)


def missing_customer_id() -> str:
    return encode_id("Customer", 987_654)


def admin_principal(hub: Hub) -> Principal:
    return Principal(hub.seeded.users["admin"], "admin@test.hub", frozenset({Role.ADMIN}), None)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def bad_authorization(hub: Hub, kind: str) -> str | None:
    """An Authorization header value that must count as anonymous (None: no header)."""
    now = int(time.time())
    if kind == "none":
        return None
    if kind == "garbage":
        return "Bearer garbage.not-a.jwt"
    if kind == "empty-bearer":
        return "Bearer "
    if kind == "expired":
        return "Bearer " + hub.tokens.issue(admin_principal(hub), now=time.time() - 10**6)
    if kind == "signed-with-another-key":
        other = TokenService("another-secret-key-that-is-long-enough-0123456789", 3600)
        return "Bearer " + other.issue(admin_principal(hub))
    if kind == "forged-claims":
        # acme's genuine token with its claims rewritten to ADMIN; the signature no longer fits
        header, _payload, signature = hub.seeded.tokens["acme"].split(".")
        claims = {
            "sub": str(hub.seeded.users["admin"]), "email": "admin@test.hub", "roles": ["ADMIN"],
            "cid": None, "iat": now, "exp": now + 3600, "typ": "access",
        }  # fmt: skip
        return f"Bearer {header}.{_b64(claims)}.{signature}"
    if kind == "alg-none":
        claims = {
            "sub": str(hub.seeded.users["admin"]), "email": "admin@test.hub", "roles": ["ADMIN"],
            "cid": None, "iat": now, "exp": now + 3600, "typ": "access",
        }  # fmt: skip
        return "Bearer " + jwt.encode(claims, None, algorithm="none")
    if kind == "not-an-access-token":
        claims = {
            "sub": str(hub.seeded.users["admin"]), "email": "admin@test.hub", "roles": ["ADMIN"],
            "cid": None, "iat": now, "exp": now + 3600, "typ": "refresh",
        }  # fmt: skip
        return "Bearer " + jwt.encode(claims, hub.settings.secret_key, algorithm="HS256")
    if kind == "other-scheme":
        return "Basic " + hub.seeded.tokens["admin"]
    raise AssertionError(kind)


ANONYMOUS_KINDS = [
    "none",
    "garbage",
    "empty-bearer",
    "expired",
    "signed-with-another-key",
    "forged-claims",
    "alg-none",
    "not-an-access-token",
    "other-scheme",
]
# What `extensions.auth` says for each (API.md "Operations"); absent without a bearer token.
AUTH_EXTENSION: dict[str, dict[str, Any]] = {
    kind: {"extensions": {"auth": "expired" if kind == "expired" else "invalid"}}
    for kind in ANONYMOUS_KINDS
    if kind not in ("none", "other-scheme")
}


async def post_with(
    hub: Hub, authorization: str | None, query: str, variables: dict[str, Any]
) -> httpx.Response:
    headers = {"authorization": authorization} if authorization is not None else {}
    return await hub.client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)


# -- anonymous and bad tokens ------------------------------------------------------------------
EVERY_QUERY = """
query Everything($order: ID!, $customer: ID!, $product: ID!) {
  me { id email }
  products { edges { node { sku } } totalCount }
  product(sku: "SKU-A") { sku }
  productById: product(id: $product) { sku }
  categories { name }
  priceQuote(lines: [{sku: "SKU-A", quantity: 1}]) { total { amount } }
  orders { edges { node { id } } totalCount }
  order(id: $order) { id }
  customer(id: $customer) { id orders { totalCount } }
  customers { edges { node { code } } }
  warehouses { code }
}
"""

EVERY_MUTATION = """
mutation Everything($order: ID!, $customer: ID!) {
  userCreate(input: {email: "intruder@test.hub", password: "long-enough-pw", roles: [ADMIN]}) {
    errors { code }
  }
  categoryCreate(input: {name: "Fittings"}) { errors { code } }
  productCreate(input: {sku: "SKU-N", name: "New", basePrice: "1.00"}) { errors { code } }
  customerCreate(input: {code: "GAMMA", name: "Gamma"}) { errors { code } }
  warehouseCreate(input: {code: "W9", name: "Nine"}) { errors { code } }
  stockSet(input: {sku: "SKU-A", warehouseCode: "W1", quantity: 999}) { errors { code } }
  orderCreate(input: {lines: [{sku: "SKU-A", quantity: 1}], customerId: $customer}) {
    errors { code }
  }
  orderCancel(id: $order, reason: "because") { errors { code } }
  orderApprove(id: $order, comment: "fine") { errors { code } }
  orderReject(id: $order, reason: "no") { errors { code } }
}
"""


@pytest.mark.parametrize("kind", ANONYMOUS_KINDS)
async def test_anonymous_caller_gets_null_for_every_query_field(hub: Hub, kind: str) -> None:
    # given an order of ACME and a caller without a valid token
    await hub.standard()
    order_id = await place_order(hub)
    ids = await customer_ids(hub)
    product = (await hub.data('{ product(sku: "SKU-A") { id } }', as_="admin"))["product"]["id"]
    # when it asks for every query field at once
    response = await post_with(
        hub,
        bad_authorization(hub, kind),
        EVERY_QUERY,
        {"order": order_id, "customer": ids["ACME"], "product": product},
    )
    # then it gets HTTP 200 and null everywhere, without errors
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {
            "me": None,
            "products": None,
            "product": None,
            "productById": None,
            "categories": None,
            "priceQuote": None,
            "orders": None,
            "order": None,
            "customer": None,
            "customers": None,
            "warehouses": None,
        },
        **AUTH_EXTENSION.get(kind, {}),
    }


@pytest.mark.parametrize("kind", ANONYMOUS_KINDS)
async def test_anonymous_caller_gets_null_for_every_mutation_and_nothing_is_written(
    hub: Hub, kind: str
) -> None:
    # given a pending order of ACME and a caller without a valid token
    await hub.standard()
    order_id = await place_order(hub)
    ids = await customer_ids(hub)
    before = await snapshot(hub)
    # when it runs every mutation but tokenCreate
    response = await post_with(
        hub,
        bad_authorization(hub, kind),
        EVERY_MUTATION,
        {"order": order_id, "customer": ids["ACME"]},
    )
    # then each answers null
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": {
            "userCreate": None,
            "categoryCreate": None,
            "productCreate": None,
            "customerCreate": None,
            "warehouseCreate": None,
            "stockSet": None,
            "orderCreate": None,
            "orderCancel": None,
            "orderApprove": None,
            "orderReject": None,
        },
        **AUTH_EXTENSION.get(kind, {}),
    }
    # and nothing was written: no rows, no stock change, the order still pending
    assert await snapshot(hub) == before
    assert await hub.count(User) == 8
    assert await hub.stock("SKU-A") == [("W1", 10, 3), ("W2", 5, 0)]
    assert await order_status(hub, order_id) == "PENDING_APPROVAL"


@pytest.mark.parametrize("kind", ANONYMOUS_KINDS)
async def test_anonymous_caller_may_still_log_in(hub: Hub, kind: str) -> None:
    # given the standard seed and a caller sending an invalid Authorization header
    await hub.standard()
    # when it logs in as acme
    response = await post_with(
        hub,
        bad_authorization(hub, kind),
        f'mutation {{ tokenCreate(email: "acme@test.hub", password: "{PASSWORD}") {{'
        f" token user {{ email roles }} {ERRORS} }} }}",
        {},
    )
    # then it gets a token for acme
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["tokenCreate"]
    assert payload == {
        "token": TEXT,
        "user": {"email": "acme@test.hub", "roles": ["CUSTOMER"]},
        "errors": [],
    }


async def test_expired_token_is_anonymous(hub: Hub) -> None:
    # given an admin token issued long enough ago to have expired
    await hub.standard()
    token = hub.tokens.issue(admin_principal(hub), now=time.time() - 10**6)
    users_before = await hub.count(User)
    # when it asks who it is and tries to create a user
    me = await hub.post({"query": "{ me { email } warehouses { code } }"}, token)
    created = await hub.post(
        {
            "query": 'mutation { userCreate(input: {email: "late@test.hub",'
            ' password: "long-enough-pw", roles: [ADMIN]})'
            f" {{ user {{ email }} {ERRORS} }} }}"
        },
        token,
    )
    # then both are answered as for an anonymous caller, with HTTP 200
    expired = {"extensions": {"auth": "expired"}}
    assert (me.status_code, me.json()) == (200, {"data": {"me": None, "warehouses": None}, **expired})
    assert (created.status_code, created.json()) == (200, {"data": {"userCreate": None}, **expired})
    # and no user was created
    assert await hub.count(User) == users_before


async def test_same_token_works_until_it_expires(hub: Hub) -> None:
    # given an admin token issued just now, and the same claims issued long ago
    await hub.standard()
    fresh = hub.tokens.issue(admin_principal(hub))
    stale = hub.tokens.issue(admin_principal(hub), now=time.time() - 10**6)
    # when each asks who it is
    fresh_me = (await hub.post({"query": "{ me { email roles } }"}, fresh)).json()
    stale_me = (await hub.post({"query": "{ me { email roles } }"}, stale)).json()
    # then only the fresh one is somebody
    assert fresh_me == {"data": {"me": {"email": "admin@test.hub", "roles": ["ADMIN"]}}}
    assert stale_me == {"data": {"me": None}, "extensions": {"auth": "expired"}}


# -- tokenCreate and me ------------------------------------------------------------------------
TOKEN_CREATE = f"""
mutation($email: String!, $password: String!) {{
  tokenCreate(email: $email, password: $password) {{
    token user {{ id email roles customer {{ code name }} }} {ERRORS}
  }}
}}
"""


async def test_token_create_logs_a_customer_user_in_with_its_customer(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when acme logs in
    data = await hub.data(TOKEN_CREATE, {"email": "acme@test.hub", "password": PASSWORD})
    # then it gets a token and sees itself with its customer account
    payload = data["tokenCreate"]
    assert payload == {
        "token": TEXT,
        "user": {
            "id": TEXT,
            "email": "acme@test.hub",
            "roles": ["CUSTOMER"],
            "customer": {"code": "ACME", "name": "Acme Trading"},
        },
        "errors": [],
    }
    # and the token identifies the same user as `me`
    me = (
        await hub.post({"query": "{ me { id email roles customer { code name } } }"}, payload["token"])
    ).json()
    assert me == {"data": {"me": payload["user"]}}


async def test_token_create_shows_the_new_users_customer_whoever_sends_the_request(
    hub: Hub,
) -> None:
    # given the standard seed
    await hub.standard()
    # when acme logs in from a client still sending beta's token
    response = await post_with(
        hub,
        "Bearer " + hub.seeded.tokens["beta"],
        TOKEN_CREATE,
        {"email": "acme@test.hub", "password": PASSWORD},
    )
    # then the payload describes acme with its own customer, not beta's view of it
    assert response.status_code == 200, response.text
    assert response.json()["data"]["tokenCreate"]["user"] == {
        "id": TEXT,
        "email": "acme@test.hub",
        "roles": ["CUSTOMER"],
        "customer": {"code": "ACME", "name": "Acme Trading"},
    }


async def test_token_create_logs_staff_in_without_a_customer(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the sales manager logs in
    data = await hub.data(TOKEN_CREATE, {"email": "manager@test.hub", "password": PASSWORD})
    # then its user has no customer
    assert data["tokenCreate"] == {
        "token": TEXT,
        "user": {
            "id": TEXT,
            "email": "manager@test.hub",
            "roles": ["SALES_MANAGER"],
            "customer": None,
        },
        "errors": [],
    }


async def test_token_create_refuses_unknown_email_and_wrong_password_alike(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when one logs in with a wrong password and another with an unknown email
    wrong = await hub.data(TOKEN_CREATE, {"email": "acme@test.hub", "password": "not-the-password"})
    unknown = await hub.data(TOKEN_CREATE, {"email": "nobody@test.hub", "password": PASSWORD})
    # then both get one INVALID error with the same message, and no token
    assert wrong["tokenCreate"] == {
        "token": None,
        "user": None,
        "errors": [{"field": None, "code": "INVALID", "message": TEXT}],
    }
    assert unknown == wrong


@pytest.mark.parametrize("label", EVERYONE)
async def test_me_describes_the_caller_and_its_customer(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    # when a signed-in user asks who it is
    data = await hub.data("{ me { id email roles customer { code name } } }", as_=label)
    # then it sees itself; a customer user also its own account, staff none
    customer = {
        "acme": {"code": "ACME", "name": "Acme Trading"},
        "beta": {"code": "BETA", "name": "Beta Supplies"},
    }
    assert data == {
        "me": {
            "id": TEXT,
            "email": f"{label}@test.hub",
            "roles": [ROLE_OF[label]],
            "customer": customer.get(label),
        }
    }


# -- catalog: products, product, categories, priceQuote --------------------------------------
PRODUCTS = (
    "{ products { edges { node { sku active availableQuantity price { unitPrice { amount } }"
    " basePrice { amount } costPrice { amount } } } totalCount } }"
)


@pytest.mark.parametrize("label", CUSTOMER_USERS)
async def test_customer_sees_active_products_without_staff_fields(hub: Hub, label: str) -> None:
    # given the catalog plus an inactive product with a cost price
    await hub.standard()
    await hub.add_product("SKU-OLD", "5.00", {"W1": 7}, active=False, cost="2.00")
    # when a customer user lists products
    data = await hub.data(PRODUCTS, as_=label)

    # then it sees the active ones at its price, and null for the staff-only prices
    def node(sku: str, available: int, price: str) -> dict[str, Any]:
        return {
            "node": {
                "sku": sku, "active": True, "availableQuantity": available,
                "price": {"unitPrice": {"amount": price}}, "basePrice": None, "costPrice": None,
            }
        }  # fmt: skip

    assert data == {
        "products": {
            "edges": [
                node("SKU-A", 15, "12.50"),
                node("SKU-B", 100, "3.33"),
                node("SKU-C", 2, "99.99"),
            ],
            "totalCount": 3,
        }
    }


@pytest.mark.parametrize("label", STAFF)
async def test_staff_sees_every_product_with_base_and_cost_price(hub: Hub, label: str) -> None:
    # given the catalog plus an inactive product with a cost price
    await hub.standard()
    await hub.add_product("SKU-OLD", "5.00", {"W1": 7}, active=False, cost="2.00")
    # when a staff user lists products
    data = await hub.data(PRODUCTS, as_=label)
    # then it sees all of them, with base and cost price
    assert data["products"]["totalCount"] == 4
    assert [e["node"]["sku"] for e in data["products"]["edges"]] == [
        "SKU-A",
        "SKU-B",
        "SKU-C",
        "SKU-OLD",
    ]
    assert data["products"]["edges"][3]["node"] == {
        "sku": "SKU-OLD", "active": False, "availableQuantity": 7,
        "price": {"unitPrice": {"amount": "5.00"}},
        "basePrice": {"amount": "5.00"}, "costPrice": {"amount": "2.00"},
    }  # fmt: skip
    assert data["products"]["edges"][0]["node"]["basePrice"] == {"amount": "12.50"}


async def test_inactive_product_is_null_for_a_customer_like_a_missing_one(hub: Hub) -> None:
    # given an inactive product
    await hub.standard()
    await hub.add_product("SKU-OLD", "5.00", {"W1": 7}, active=False)
    old_id = (await hub.data('{ product(sku: "SKU-OLD") { id } }', as_="admin"))["product"]["id"]
    query = "query($id: ID, $sku: String) { product(id: $id, sku: $sku) { sku basePrice { amount } } }"
    # when a customer user asks for it by SKU and by id, and for a SKU that does not exist
    by_sku = await hub.data(query, {"sku": "SKU-OLD"}, as_="acme")
    by_id = await hub.data(query, {"id": old_id}, as_="acme")
    missing = await hub.data(query, {"sku": "SKU-NOPE"}, as_="acme")
    # then each is null
    assert by_sku == by_id == missing == {"product": None}
    # while an active product is visible without its base price, and staff see the inactive one
    assert await hub.data(query, {"sku": "SKU-A"}, as_="acme") == {
        "product": {"sku": "SKU-A", "basePrice": None}
    }
    assert await hub.data(query, {"id": old_id}, as_="warehouse") == {
        "product": {"sku": "SKU-OLD", "basePrice": {"amount": "5.00"}}
    }


@pytest.mark.parametrize("label", EVERYONE)
async def test_categories_for_every_signed_in_caller(hub: Hub, label: str) -> None:
    # given the standard seed (categories Valves and Pipes)
    await hub.standard()
    # when a signed-in user lists categories
    data = await hub.data("{ categories { name } }", as_=label)
    # then it gets them by name
    assert data == {"categories": [{"name": "Pipes"}, {"name": "Valves"}]}


QUOTE = f"""
query($lines: [OrderLineInput!]!, $customer: ID) {{
  priceQuote(lines: $lines, customerId: $customer) {{
    lines {{ sku quantity unitPrice {{ amount }} lineTotal {{ amount }} }}
    total {{ amount }}
    {ERRORS}
  }}
}}
"""


@pytest.mark.parametrize("label", CUSTOMER_USERS)
async def test_price_quote_for_a_customer_user(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    lines = [{"sku": "SKU-A", "quantity": 2}, {"sku": "SKU-B", "quantity": 3}]
    # when a customer user asks for a quote, with and without naming its own account
    plain = await hub.data(QUOTE, {"lines": lines}, as_=label)
    own = await hub.data(
        QUOTE, {"lines": lines, "customer": (await customer_ids(hub))[label.upper()]}, as_=label
    )
    # then it gets its prices either way
    expected = {
        "priceQuote": {
            "lines": [
                {
                    "sku": "SKU-A",
                    "quantity": 2,
                    "unitPrice": {"amount": "12.50"},
                    "lineTotal": {"amount": "25.00"},
                },
                {
                    "sku": "SKU-B",
                    "quantity": 3,
                    "unitPrice": {"amount": "3.33"},
                    "lineTotal": {"amount": "9.99"},
                },
            ],
            "total": {"amount": "34.99"},
            "errors": [],
        }
    }
    assert plain == expected
    assert own == expected


async def test_price_quote_for_another_customer_answers_as_for_a_missing_customer(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    lines = [{"sku": "SKU-A", "quantity": 1}]
    # when beta asks for a quote at ACME's prices, and at a customer's that does not exist
    other = await hub.data(QUOTE, {"lines": lines, "customer": (await customer_ids(hub))["ACME"]}, as_="beta")
    missing = await hub.data(QUOTE, {"lines": lines, "customer": missing_customer_id()}, as_="beta")
    # then both answer NOT_FOUND for customerId, identically, with nothing priced
    assert other == {
        "priceQuote": {
            "lines": [],
            "total": {"amount": "0.00"},
            "errors": [{"field": "customerId", "code": "NOT_FOUND", "message": TEXT}],
        }
    }
    assert other == missing


@pytest.mark.parametrize("label", STAFF)
async def test_price_quote_for_staff_on_a_customers_behalf(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    # when a staff user quotes for ACME
    data = await hub.data(
        QUOTE,
        {"lines": [{"sku": "SKU-C", "quantity": 2}], "customer": (await customer_ids(hub))["ACME"]},
        as_=label,
    )
    # then it gets the priced lines
    assert data == {
        "priceQuote": {
            "lines": [
                {
                    "sku": "SKU-C",
                    "quantity": 2,
                    "unitPrice": {"amount": "99.99"},
                    "lineTotal": {"amount": "199.98"},
                }
            ],
            "total": {"amount": "199.98"},
            "errors": [],
        }
    }


# -- orders: lists and single orders -----------------------------------------------------------
ORDERS = (
    "query($status: OrderStatus) { orders(status: $status) {"
    " edges { node { id status customer { code } } } totalCount } }"
)


async def _orders_of_both(hub: Hub) -> dict[str, list[str]]:
    """Two ACME orders by its buyer, one for ACME by sales, one BETA order; ids oldest first."""
    a1 = await place_order(hub, "acme", "SKU-A", 1)
    b1 = await place_order(hub, "beta", "SKU-B", 4)
    a2 = await place_order(hub, "sales", "SKU-B", 2, customer="ACME")
    a3 = await place_order(hub, "acme", "SKU-C", 1)
    return {"ACME": [a1, a2, a3], "BETA": [b1], "all": [a1, b1, a2, a3]}


async def test_customer_orders_list_holds_only_its_own_customers_orders(hub: Hub) -> None:
    # given orders of ACME (one placed by sales on its behalf) and of BETA, one ACME order approved
    await hub.standard()
    ids = await _orders_of_both(hub)
    await approve(hub, ids["ACME"][0])
    # when each customer user lists orders
    acme = await hub.data(ORDERS, as_="acme")
    beta = await hub.data(ORDERS, as_="beta")
    # then each sees exactly its own, newest first, counted alike
    assert acme == {
        "orders": {
            "edges": [
                {
                    "node": {
                        "id": ids["ACME"][2],
                        "status": "PENDING_APPROVAL",
                        "customer": {"code": "ACME"},
                    }
                },
                {
                    "node": {
                        "id": ids["ACME"][1],
                        "status": "PENDING_APPROVAL",
                        "customer": {"code": "ACME"},
                    }
                },
                {
                    "node": {
                        "id": ids["ACME"][0],
                        "status": "APPROVED",
                        "customer": {"code": "ACME"},
                    }
                },
            ],
            "totalCount": 3,
        }
    }
    assert beta == {
        "orders": {
            "edges": [
                {
                    "node": {
                        "id": ids["BETA"][0],
                        "status": "PENDING_APPROVAL",
                        "customer": {"code": "BETA"},
                    }
                }
            ],
            "totalCount": 1,
        }
    }
    # and filtering by status does not widen it
    assert await hub.data(ORDERS, {"status": "APPROVED"}, as_="beta") == {
        "orders": {"edges": [], "totalCount": 0}
    }
    assert await hub.data(ORDERS, {"status": "PENDING_APPROVAL"}, as_="beta") == beta


async def test_customer_orders_list_never_pages_into_another_customers_orders(hub: Hub) -> None:
    # given ACME and BETA orders interleaved
    await hub.standard()
    ids = await _orders_of_both(hub)
    query = (
        "query($after: String) { orders(first: 1, after: $after) {"
        " edges { node { id } } pageInfo { hasNextPage endCursor } } }"
    )
    # when acme walks its orders one page at a time
    seen: list[str] = []
    after = None
    for _ in range(10):
        page = (await hub.data(query, {"after": after}, as_="acme"))["orders"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # then it meets exactly its own orders, newest first
    assert seen == list(reversed(ids["ACME"]))


@pytest.mark.parametrize("label", STAFF)
async def test_staff_orders_list_holds_every_customers_orders(hub: Hub, label: str) -> None:
    # given orders of ACME and BETA
    await hub.standard()
    ids = await _orders_of_both(hub)
    # when a staff user lists orders
    data = await hub.data(ORDERS, as_=label)
    # then it sees all of them, newest first
    assert [e["node"]["id"] for e in data["orders"]["edges"]] == list(reversed(ids["all"]))
    assert [e["node"]["customer"]["code"] for e in data["orders"]["edges"]] == [
        "ACME",
        "ACME",
        "BETA",
        "ACME",
    ]
    assert data["orders"]["totalCount"] == 4


ORDER = (
    "query($id: ID!) { order(id: $id) {"
    " id status customer { code } lines { sku quantity } total { amount } } }"
)


async def test_order_of_another_customer_is_null_like_a_missing_one(hub: Hub) -> None:
    # given an ACME order
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 2)
    # when beta asks for it, for an order that does not exist and for a malformed id
    other = await hub.gql(ORDER, {"id": order_id}, as_="beta")
    missing = await hub.gql(ORDER, {"id": missing_order_id()}, as_="beta")
    garbage = await hub.gql(ORDER, {"id": "not-an-id"}, as_="beta")
    # then all three are a plain null, without errors
    assert other == missing == garbage == {"data": {"order": None}}


@pytest.mark.parametrize("label", ["acme", *STAFF])
async def test_order_visible_to_its_customers_users_and_every_staff_role(hub: Hub, label: str) -> None:
    # given an ACME order
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 2)
    # when its customer's user or a staff user asks for it
    data = await hub.data(ORDER, {"id": order_id}, as_=label)
    # then it gets the order
    assert data == {
        "order": {
            "id": order_id,
            "status": "PENDING_APPROVAL",
            "customer": {"code": "ACME"},
            "lines": [{"sku": "SKU-A", "quantity": 2}],
            "total": {"amount": "25.00"},
        }
    }


# -- customers: customer, customers, Customer.orders, User.customer ---------------------------
CUSTOMER = (
    "query($id: ID!) { customer(id: $id) { id code name creditLimit { amount } outstanding { amount } } }"
)


async def test_customer_of_another_customer_is_null_like_a_missing_one(hub: Hub) -> None:
    # given ACME with an open order
    await hub.standard()
    await place_order(hub, "acme", "SKU-A", 2)
    acme_id = (await customer_ids(hub))["ACME"]
    # when beta asks for ACME, for a customer that does not exist and for a malformed id
    other = await hub.gql(CUSTOMER, {"id": acme_id}, as_="beta")
    missing = await hub.gql(CUSTOMER, {"id": missing_customer_id()}, as_="beta")
    garbage = await hub.gql(CUSTOMER, {"id": "not-an-id"}, as_="beta")
    # then all three are a plain null, without errors
    assert other == missing == garbage == {"data": {"customer": None}}


@pytest.mark.parametrize("label", ["acme", *STAFF])
async def test_customer_visible_to_its_own_users_and_every_staff_role(hub: Hub, label: str) -> None:
    # given ACME with an open order of 25.00
    await hub.standard()
    await place_order(hub, "acme", "SKU-A", 2)
    acme_id = (await customer_ids(hub))["ACME"]
    # when its own user or a staff user asks for it
    data = await hub.data(CUSTOMER, {"id": acme_id}, as_=label)
    # then it gets the account
    assert data == {
        "customer": {
            "id": acme_id,
            "code": "ACME",
            "name": "Acme Trading",
            "creditLimit": {"amount": "100000.00"},
            "outstanding": {"amount": "25.00"},
        }
    }


CUSTOMERS = "{ customers { edges { node { code name } } pageInfo { hasNextPage } } }"


@pytest.mark.parametrize("label", CUSTOMER_USERS)
async def test_customers_list_is_null_for_customer_users(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    # when a customer user lists customers
    body = await hub.gql(CUSTOMERS, as_=label)
    # then the staff-only field answers null, without errors
    assert body == {"data": {"customers": None}}


@pytest.mark.parametrize("label", STAFF)
async def test_customers_list_for_every_staff_role(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    # when a staff user lists customers
    data = await hub.data(CUSTOMERS, as_=label)
    # then it sees them all by code
    assert data == {
        "customers": {
            "edges": [
                {"node": {"code": "ACME", "name": "Acme Trading"}},
                {"node": {"code": "BETA", "name": "Beta Supplies"}},
            ],
            "pageInfo": {"hasNextPage": False},
        }
    }


NESTED_ORDERS = "orders { edges { node { id customer { code } } } totalCount }"


@pytest.mark.parametrize("label", STAFF)
async def test_customer_orders_for_staff_hold_only_that_customers_orders(hub: Hub, label: str) -> None:
    # given orders of ACME and BETA
    await hub.standard()
    ids = await _orders_of_both(hub)
    cids = await customer_ids(hub)
    query = f"query($id: ID!) {{ customer(id: $id) {{ code {NESTED_ORDERS} }} }}"
    # when a staff user reads each customer's orders
    acme = await hub.data(query, {"id": cids["ACME"]}, as_=label)
    beta = await hub.data(query, {"id": cids["BETA"]}, as_=label)
    # then each holds only its own, newest first
    assert acme == {
        "customer": {
            "code": "ACME",
            "orders": {
                "edges": [{"node": {"id": i, "customer": {"code": "ACME"}}} for i in reversed(ids["ACME"])],
                "totalCount": 3,
            },
        }
    }
    assert beta == {
        "customer": {
            "code": "BETA",
            "orders": {
                "edges": [{"node": {"id": ids["BETA"][0], "customer": {"code": "BETA"}}}],
                "totalCount": 1,
            },
        }
    }


async def test_customer_orders_for_a_customer_user_hold_only_its_own_orders(hub: Hub) -> None:
    # given orders of ACME and BETA
    await hub.standard()
    ids = await _orders_of_both(hub)
    own = {
        "edges": [{"node": {"id": i, "customer": {"code": "ACME"}}} for i in reversed(ids["ACME"])],
        "totalCount": 3,
    }
    # when acme reaches its customer's orders through me, through customer(id) and through an order
    via_me = await hub.data(f"{{ me {{ customer {{ {NESTED_ORDERS} }} }} }}", as_="acme")
    via_customer = await hub.data(
        f"query($id: ID!) {{ customer(id: $id) {{ {NESTED_ORDERS} }} }}",
        {"id": (await customer_ids(hub))["ACME"]},
        as_="acme",
    )
    via_order = await hub.data(
        f"query($id: ID!) {{ order(id: $id) {{ customer {{ {NESTED_ORDERS} }} }} }}",
        {"id": ids["ACME"][0]},
        as_="acme",
    )
    # then every path shows exactly ACME's orders
    assert via_me == {"me": {"customer": {"orders": own}}}
    assert via_customer == {"customer": {"orders": own}}
    assert via_order == {"order": {"customer": {"orders": own}}}


async def test_user_customer_of_a_new_customer_user_is_its_account(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    acme_id = (await customer_ids(hub))["ACME"]
    users_before = await hub.count(User)
    # when admin creates a second buyer for ACME
    data = await hub.data(
        "mutation($input: UserCreateInput!) { userCreate(input: $input) {"
        f" user {{ email roles customer {{ id code }} }} {ERRORS} }} }}",
        {
            "input": {
                "email": "Buyer2@Test.Hub",
                "password": "long-enough-pw",
                "roles": ["CUSTOMER"],
                "customerId": acme_id,
            }
        },
        as_="admin",
    )
    # then the user is bound to ACME and stored
    assert data == {
        "userCreate": {
            "user": {
                "email": "buyer2@test.hub",
                "roles": ["CUSTOMER"],
                "customer": {"id": acme_id, "code": "ACME"},
            },
            "errors": [],
        }
    }
    assert await hub.count(User) == users_before + 1
    # and logging in, it sees ACME as its customer
    login = await hub.data(TOKEN_CREATE, {"email": "buyer2@test.hub", "password": "long-enough-pw"})
    me = (await hub.post({"query": "{ me { customer { code } } }"}, login["tokenCreate"]["token"])).json()
    assert me == {"data": {"me": {"customer": {"code": "ACME"}}}}


WAREHOUSES = "{ warehouses { code name priority } }"


@pytest.mark.parametrize("label", CUSTOMER_USERS)
async def test_warehouses_are_null_for_customer_users(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    # when a customer user lists warehouses
    body = await hub.gql(WAREHOUSES, as_=label)
    # then the staff-only field answers null, without errors
    assert body == {"data": {"warehouses": None}}


@pytest.mark.parametrize("label", STAFF)
async def test_warehouses_for_every_staff_role(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    # when a staff user lists warehouses
    data = await hub.data(WAREHOUSES, as_=label)
    # then it sees them in reservation order
    assert data == {
        "warehouses": [
            {"code": "W1", "name": "Warehouse W1", "priority": 10},
            {"code": "W2", "name": "Warehouse W2", "priority": 20},
        ]
    }


# -- ADMIN-only mutations ----------------------------------------------------------------------
ADMIN_ONLY: dict[str, tuple[str, dict[str, Any], str, dict[str, Any], type[Any]]] = {
    # name: (document, input, payload object field, expected object, model that gains a row)
    "userCreate": (
        "mutation($input: UserCreateInput!) { userCreate(input: $input) {"
        f" user {{ email roles customer {{ code }} }} {ERRORS} }} }}",
        {"email": "new.sales@test.hub", "password": "long-enough-pw", "roles": ["SALES"]},
        "user",
        {"email": "new.sales@test.hub", "roles": ["SALES"], "customer": None},
        User,
    ),
    "categoryCreate": (
        "mutation($input: CategoryCreateInput!) { categoryCreate(input: $input) {"
        f" category {{ name }} {ERRORS} }} }}",
        {"name": "Fittings"},
        "category",
        {"name": "Fittings"},
        Category,
    ),
    "productCreate": (
        "mutation($input: ProductCreateInput!) { productCreate(input: $input) {"
        " product { sku name unit basePrice { amount } costPrice { amount } availableQuantity }"
        f" {ERRORS} }} }}",
        {"sku": "SKU-NEW", "name": "New part", "basePrice": "5.00", "costPrice": "2.50"},
        "product",
        {
            "sku": "SKU-NEW",
            "name": "New part",
            "unit": "pcs",
            "basePrice": {"amount": "5.00"},
            "costPrice": {"amount": "2.50"},
            "availableQuantity": 0,
        },
        Product,
    ),
    "customerCreate": (
        "mutation($input: CustomerCreateInput!) { customerCreate(input: $input) {"
        f" customer {{ code name creditLimit {{ amount }} }} {ERRORS} }} }}",
        {"code": "GAMMA", "name": "Gamma Goods", "creditLimit": "500.00"},
        "customer",
        {"code": "GAMMA", "name": "Gamma Goods", "creditLimit": {"amount": "500.00"}},
        Customer,
    ),
    "warehouseCreate": (
        "mutation($input: WarehouseCreateInput!) { warehouseCreate(input: $input) {"
        f" warehouse {{ code name priority }} {ERRORS} }} }}",
        {"code": "W3", "name": "Third", "priority": 30},
        "warehouse",
        {"code": "W3", "name": "Third", "priority": 30},
        Warehouse,
    ),
}


@pytest.mark.parametrize("mutation", list(ADMIN_ONLY))
async def test_admin_only_mutation_succeeds_for_admin(hub: Hub, mutation: str) -> None:
    # given the standard seed
    await hub.standard()
    document, inp, field, expected, model = ADMIN_ONLY[mutation]
    rows_before = await hub.count(model)
    # when admin runs the mutation
    data = await hub.data(document, {"input": inp}, as_="admin")
    # then it succeeds and stores one row
    assert data == {mutation: {field: expected, "errors": []}}
    assert await hub.count(model) == rows_before + 1


@pytest.mark.parametrize("label", ["sales", "manager", "finance", "warehouse", "director", "acme", "beta"])
@pytest.mark.parametrize("mutation", list(ADMIN_ONLY))
async def test_admin_only_mutation_is_denied_to_every_other_role(hub: Hub, mutation: str, label: str) -> None:
    # given the standard seed
    await hub.standard()
    document, inp, field, _expected, model = ADMIN_ONLY[mutation]
    before = await snapshot(hub)
    rows_before = await hub.count(model)
    # when a non-admin runs the same valid mutation
    data = await hub.data(document, {"input": inp}, as_=label)
    # then it is refused with PERMISSION_DENIED in the payload
    assert data == {mutation: {field: None, "errors": [DENIED]}}
    # and nothing was written
    assert await hub.count(model) == rows_before
    assert await snapshot(hub) == before


# -- stockSet ----------------------------------------------------------------------------------
STOCK_SET = (
    "mutation($input: StockSetInput!) { stockSet(input: $input) {"
    f" stock {{ sku warehouseCode onHand reserved }} {ERRORS} }} }}"
)


@pytest.mark.parametrize("label", ["admin", "warehouse"])
async def test_stock_set_by_admin_or_warehouse(hub: Hub, label: str) -> None:
    # given 3 of SKU-A reserved in W1 by an order
    await hub.standard()
    await place_order(hub, "acme", "SKU-A", 3)
    # when admin or warehouse counts 40 on hand in W1
    data = await hub.data(
        STOCK_SET, {"input": {"sku": "SKU-A", "warehouseCode": "W1", "quantity": 40}}, as_=label
    )
    # then on hand is set and the reservation kept
    assert data == {
        "stockSet": {
            "stock": {"sku": "SKU-A", "warehouseCode": "W1", "onHand": 40, "reserved": 3},
            "errors": [],
        }
    }
    assert await hub.stock("SKU-A") == [("W1", 40, 3), ("W2", 5, 0)]


@pytest.mark.parametrize("label", ["sales", "manager", "finance", "director", "acme", "beta"])
async def test_stock_set_is_denied_to_other_roles(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    # when another role tries to set stock
    data = await hub.data(
        STOCK_SET, {"input": {"sku": "SKU-A", "warehouseCode": "W1", "quantity": 40}}, as_=label
    )
    # then it is refused and stock is as it was
    assert data == {"stockSet": {"stock": None, "errors": [DENIED]}}
    assert await hub.stock("SKU-A") == [("W1", 10, 0), ("W2", 5, 0)]
    assert await snapshot(hub) == before


# -- orderCreate -------------------------------------------------------------------------------
ORDER_CREATE = f"""
mutation($input: OrderCreateInput!) {{
  orderCreate(input: $input) {{
    order {{ status customer {{ code }} lines {{ sku quantity }} total {{ amount }} }} {ERRORS}
  }}
}}
"""


async def test_customer_user_orders_for_its_own_account(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    acme_id = (await customer_ids(hub))["ACME"]
    orders_before = await hub.count(Order)
    # when acme orders without naming a customer, then naming its own
    plain = await hub.data(ORDER_CREATE, {"input": {"lines": [{"sku": "SKU-A", "quantity": 2}]}}, as_="acme")
    named = await hub.data(
        ORDER_CREATE,
        {"input": {"lines": [{"sku": "SKU-A", "quantity": 2}], "customerId": acme_id}},
        as_="acme",
    )
    # then both orders are ACME's, pending, with stock reserved
    expected = {
        "orderCreate": {
            "order": {
                "status": "PENDING_APPROVAL",
                "customer": {"code": "ACME"},
                "lines": [{"sku": "SKU-A", "quantity": 2}],
                "total": {"amount": "25.00"},
            },
            "errors": [],
        }
    }
    assert plain == expected
    assert named == expected
    assert await hub.count(Order) == orders_before + 2
    assert await hub.stock("SKU-A") == [("W1", 10, 4), ("W2", 5, 0)]


async def test_customer_user_ordering_for_another_customer_gets_not_found_like_a_missing_one(
    hub: Hub,
) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    lines = [{"sku": "SKU-A", "quantity": 2}]
    # when beta orders on ACME's account, and on an account that does not exist
    other = await hub.data(
        ORDER_CREATE,
        {"input": {"lines": lines, "customerId": (await customer_ids(hub))["ACME"]}},
        as_="beta",
    )
    missing = await hub.data(
        ORDER_CREATE, {"input": {"lines": lines, "customerId": missing_customer_id()}}, as_="beta"
    )
    # then both answer NOT_FOUND for customerId, identically
    assert other == {
        "orderCreate": {
            "order": None,
            "errors": [{"field": "customerId", "code": "NOT_FOUND", "message": TEXT}],
        }
    }
    assert other == missing
    # and nothing was written
    assert await hub.count(Order) == 0
    assert await snapshot(hub) == before


@pytest.mark.parametrize("label", ["sales", "manager", "director", "admin"])
async def test_ordering_staff_orders_on_a_customers_behalf(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    # when a staff user who may order places an order for BETA
    data = await hub.data(
        ORDER_CREATE,
        {
            "input": {
                "lines": [{"sku": "SKU-B", "quantity": 10}],
                "customerId": (await customer_ids(hub))["BETA"],
            }
        },
        as_=label,
    )
    # then the order is BETA's and its stock reserved
    assert data == {
        "orderCreate": {
            "order": {
                "status": "PENDING_APPROVAL",
                "customer": {"code": "BETA"},
                "lines": [{"sku": "SKU-B", "quantity": 10}],
                "total": {"amount": "33.30"},
            },
            "errors": [],
        }
    }
    assert await hub.count(Order) == 1
    assert await hub.stock("SKU-B") == [("W1", 100, 10)]


@pytest.mark.parametrize("label", ["finance", "warehouse"])
async def test_order_create_is_denied_to_staff_who_may_not_order(hub: Hub, label: str) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    # when finance or warehouse tries to order for ACME
    data = await hub.data(
        ORDER_CREATE,
        {
            "input": {
                "lines": [{"sku": "SKU-A", "quantity": 1}],
                "customerId": (await customer_ids(hub))["ACME"],
            }
        },
        as_=label,
    )
    # then it is refused and nothing is reserved
    assert data == {"orderCreate": {"order": None, "errors": [DENIED]}}
    assert await hub.count(Order) == 0
    assert await hub.stock("SKU-A") == [("W1", 10, 0), ("W2", 5, 0)]
    assert await snapshot(hub) == before


# -- orderCancel -------------------------------------------------------------------------------
ORDER_CANCEL = (
    'mutation($id: ID!) { orderCancel(id: $id, reason: "changed plans") {'
    f" order {{ id status approval {{ currentStep }} }} {ERRORS} }} }}"
)


async def test_customer_user_cancels_its_own_pending_order(hub: Hub) -> None:
    # given a pending ACME order holding 3 of SKU-A
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    # when acme cancels it
    data = await hub.data(ORDER_CANCEL, {"id": order_id}, as_="acme")
    # then it is cancelled and the stock released
    assert data == {
        "orderCancel": {
            "order": {"id": order_id, "status": "CANCELLED", "approval": {"currentStep": None}},
            "errors": [],
        }
    }
    assert await hub.stock("SKU-A") == [("W1", 10, 0), ("W2", 5, 0)]


async def test_customer_user_cancelling_another_customers_order_gets_not_found_like_a_missing_one(
    hub: Hub,
) -> None:
    # given a pending ACME order holding 3 of SKU-A
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    before = await snapshot(hub)
    # when beta cancels it, and an order that does not exist, and a malformed id
    other = await hub.data(ORDER_CANCEL, {"id": order_id}, as_="beta")
    missing = await hub.data(ORDER_CANCEL, {"id": missing_order_id()}, as_="beta")
    garbage = await hub.data(ORDER_CANCEL, {"id": "not-an-id"}, as_="beta")
    # then all three answer NOT_FOUND, identically
    assert other == {
        "orderCancel": {
            "order": None,
            "errors": [{"field": "id", "code": "NOT_FOUND", "message": TEXT}],
        }
    }
    assert other == missing == garbage
    # and the order is still pending with its stock reserved
    assert await order_status(hub, order_id) == "PENDING_APPROVAL"
    assert await hub.stock("SKU-A") == [("W1", 10, 3), ("W2", 5, 0)]
    assert await snapshot(hub) == before


async def test_customer_user_cannot_cancel_its_approved_order(hub: Hub) -> None:
    # given an approved ACME order holding 3 of SKU-A
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    await approve(hub, order_id)
    before = await snapshot(hub)
    # when acme tries to cancel it
    data = await hub.data(ORDER_CANCEL, {"id": order_id}, as_="acme")
    # then that transition is refused and nothing changes
    assert data == {
        "orderCancel": {
            "order": None,
            "errors": [{"field": "id", "code": "INVALID_TRANSITION", "message": TEXT}],
        }
    }
    assert await order_status(hub, order_id) == "APPROVED"
    assert await snapshot(hub) == before


@pytest.mark.parametrize("approved", [False, True], ids=["pending", "approved"])
@pytest.mark.parametrize("label", ["manager", "admin"])
async def test_sales_manager_or_admin_cancels_pending_or_approved_orders(
    hub: Hub, label: str, approved: bool
) -> None:
    # given an ACME order holding 3 of SKU-A, pending or approved
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    if approved:
        await approve(hub, order_id)
    # when the sales manager or admin cancels it
    data = await hub.data(ORDER_CANCEL, {"id": order_id}, as_=label)
    # then it is cancelled and the stock released
    assert data == {
        "orderCancel": {
            "order": {"id": order_id, "status": "CANCELLED", "approval": {"currentStep": None}},
            "errors": [],
        }
    }
    assert await hub.stock("SKU-A") == [("W1", 10, 0), ("W2", 5, 0)]


@pytest.mark.parametrize("label", ["sales", "finance", "warehouse", "director"])
async def test_order_cancel_is_denied_to_other_staff_roles(hub: Hub, label: str) -> None:
    # given a pending ACME order holding 3 of SKU-A
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    before = await snapshot(hub)
    # when a staff role that may not cancel tries to
    data = await hub.data(ORDER_CANCEL, {"id": order_id}, as_=label)
    # then it is refused and the order keeps its state and stock
    assert data == {"orderCancel": {"order": None, "errors": [DENIED]}}
    assert await order_status(hub, order_id) == "PENDING_APPROVAL"
    assert await hub.stock("SKU-A") == [("W1", 10, 3), ("W2", 5, 0)]
    assert await snapshot(hub) == before


# -- orderApprove / orderReject ----------------------------------------------------------------
DECIDED_ORDER = (
    f"order {{ id status approval {{ currentStep steps {{ role status decidedBy comment }} }} }} {ERRORS}"
)
DECIDE = {
    "orderApprove": f'mutation($id: ID!) {{ orderApprove(id: $id, comment: "ok") {{ {DECIDED_ORDER} }} }}',
    "orderReject": f'mutation($id: ID!) {{ orderReject(id: $id, reason: "too much") {{ {DECIDED_ORDER} }} }}',
}


@pytest.mark.parametrize("label", ["manager", "admin"])
async def test_order_approve_by_sales_manager_or_admin(hub: Hub, label: str) -> None:
    # given a pending ACME order holding 3 of SKU-A
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    # when the sales manager or admin approves it
    data = await hub.data(DECIDE["orderApprove"], {"id": order_id}, as_=label)
    # then it is approved, the step decided by that user, the stock still reserved
    assert data == {
        "orderApprove": {
            "order": {
                "id": order_id,
                "status": "APPROVED",
                "approval": {
                    "currentStep": None,
                    "steps": [
                        {
                            "role": "SALES_MANAGER",
                            "status": "APPROVED",
                            "decidedBy": f"{label}@test.hub",
                            "comment": "ok",
                        }
                    ],
                },
            },
            "errors": [],
        }
    }
    assert await hub.stock("SKU-A") == [("W1", 10, 3), ("W2", 5, 0)]


@pytest.mark.parametrize("label", ["manager", "admin"])
async def test_order_reject_by_sales_manager_or_admin(hub: Hub, label: str) -> None:
    # given a pending ACME order holding 3 of SKU-A
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    # when the sales manager or admin rejects it
    data = await hub.data(DECIDE["orderReject"], {"id": order_id}, as_=label)
    # then it is rejected with the reason, and the stock released
    assert data == {
        "orderReject": {
            "order": {
                "id": order_id,
                "status": "REJECTED",
                "approval": {
                    "currentStep": None,
                    "steps": [
                        {
                            "role": "SALES_MANAGER",
                            "status": "REJECTED",
                            "decidedBy": f"{label}@test.hub",
                            "comment": "too much",
                        }
                    ],
                },
            },
            "errors": [],
        }
    }
    assert await hub.stock("SKU-A") == [("W1", 10, 0), ("W2", 5, 0)]


@pytest.mark.parametrize("label", ["sales", "finance", "warehouse", "director", "acme"])
@pytest.mark.parametrize("mutation", list(DECIDE))
async def test_order_decision_is_denied_to_roles_without_the_step(
    hub: Hub, mutation: str, label: str
) -> None:
    # given a pending ACME order holding 3 of SKU-A
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    before = await snapshot(hub)
    # when a user without the step's role (its own buyer included) tries to decide it
    data = await hub.data(DECIDE[mutation], {"id": order_id}, as_=label)
    # then it is refused and the order keeps its state, step and stock
    assert data == {mutation: {"order": None, "errors": [DENIED]}}
    assert await order_status(hub, order_id) == "PENDING_APPROVAL"
    assert await hub.stock("SKU-A") == [("W1", 10, 3), ("W2", 5, 0)]
    assert await snapshot(hub) == before


@pytest.mark.parametrize("mutation", list(DECIDE))
async def test_order_decision_by_another_customer_answers_as_for_a_missing_order(
    hub: Hub, mutation: str
) -> None:
    # given a pending ACME order holding 3 of SKU-A
    await hub.standard()
    order_id = await place_order(hub, "acme", "SKU-A", 3)
    before = await snapshot(hub)
    # when beta tries to decide it, and an order that does not exist
    other = await hub.data(DECIDE[mutation], {"id": order_id}, as_="beta")
    missing = await hub.data(DECIDE[mutation], {"id": missing_order_id()}, as_="beta")
    # then both get the same answer, which reveals nothing about the order: a CUSTOMER may
    # decide no order at all, so the role refusal comes first
    assert other == {mutation: {"order": None, "errors": [DENIED]}}
    assert other == missing
    # and nothing changed
    assert await order_status(hub, order_id) == "PENDING_APPROVAL"
    assert await snapshot(hub) == before


@pytest.mark.parametrize("mutation", list(DECIDE))
async def test_order_decision_on_a_missing_order_is_not_found_for_the_deciding_role(
    hub: Hub, mutation: str
) -> None:
    # given the standard seed
    await hub.standard()
    before = await snapshot(hub)
    # when the sales manager decides an order that does not exist, or a malformed id
    missing = await hub.data(DECIDE[mutation], {"id": missing_order_id()}, as_="manager")
    garbage = await hub.data(DECIDE[mutation], {"id": "not-an-id"}, as_="manager")
    # then both answer NOT_FOUND, identically, and nothing is written
    assert missing == {
        mutation: {"order": None, "errors": [{"field": "id", "code": "NOT_FOUND", "message": TEXT}]}
    }
    assert garbage == missing
    assert await snapshot(hub) == before
