"""Catalog, prices, quotes, the admin mutations and logging in, over GraphQL, as API.md states
them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.domain.models import Category, Customer, Product, Stock, User, Warehouse
from tests.support import PASSWORD, Hub

PRODUCTS = """
query($first: Int, $after: String, $search: String, $categoryId: ID) {
  products(first: $first, after: $after, search: $search, categoryId: $categoryId) {
    edges { node { sku } cursor } pageInfo { hasNextPage endCursor } totalCount
  }
}"""
PRODUCT_FIELDS = """
  id sku name unit active category { id name } availableQuantity
  price { unitPrice { amount currency } appliedRules { kind description } }
"""
BY_ID = f"query($id: ID) {{ product(id: $id) {{ {PRODUCT_FIELDS} }} }}"
BY_SKU = f"query($sku: String) {{ product(sku: $sku) {{ {PRODUCT_FIELDS} }} }}"
PRICE = """
query($sku: String, $q: Int!) {
  product(sku: $sku) {
    price(quantity: $q) { unitPrice { amount currency } appliedRules { kind description } }
  }
}"""
AVAILABLE = "query($sku: String) { product(sku: $sku) { availableQuantity } }"
QUOTE = """
query($lines: [OrderLineInput!]!) {
  priceQuote(lines: $lines) {
    lines {
      sku quantity unitPrice { amount currency } lineTotal { amount currency } appliedRules { kind }
    }
    subtotal { amount currency } discountTotal { amount currency } total { amount currency }
    errors { field code message }
  }
}"""
CATEGORIES = "{ categories { id name } }"
CREATE_ORDER = """
mutation($lines: [OrderLineInput!]!) {
  orderCreate(input: {lines: $lines}) { order { id } errors { field code message } }
}"""
TOKEN = """
mutation($email: String!, $password: String!) {
  tokenCreate(email: $email, password: $password) {
    token user { id email roles customer { id name } } errors { field code message }
  }
}"""
PRODUCT_CREATE = f"""
mutation($input: ProductCreateInput!) {{
  productCreate(input: $input) {{ product {{ {PRODUCT_FIELDS} }} errors {{ field code message }} }}
}}"""
CUSTOMER_CREATE = """
mutation($input: CustomerCreateInput!) {
  customerCreate(input: $input) {
    customer { id code name creditLimit { amount currency } } errors { field code message }
  }
}"""
WAREHOUSE_CREATE = """
mutation($input: WarehouseCreateInput!) {
  warehouseCreate(input: $input) { warehouse { id code name } errors { field code message } }
}"""
CATEGORY_CREATE = """
mutation($input: CategoryCreateInput!) {
  categoryCreate(input: $input) { category { id name } errors { field code message } }
}"""
USER_CREATE = """
mutation($input: UserCreateInput!) {
  userCreate(input: $input) {
    user { id email roles customer { id name } } errors { field code message }
  }
}"""
STOCK_SET = """
mutation($input: StockSetInput!) {
  stockSet(input: $input) {
    stock { sku warehouseCode onHand reserved } errors { field code message }
  }
}"""


# -- helpers -------------------------------------------------------------------------------
def skus(conn: dict[str, Any]) -> list[str]:
    return [e["node"]["sku"] for e in conn["edges"]]


async def products(hub: Hub, as_: str = "acme", **variables: Any) -> dict[str, Any]:
    return (await hub.data(PRODUCTS, variables, as_=as_))["products"]  # type: ignore[no-any-return]


async def mutate(hub: Hub, mutation: str, input: dict[str, Any], as_: str = "admin") -> dict[str, Any]:
    """The payload of a one-input admin mutation."""
    data = await hub.data(mutation, {"input": input}, as_=as_)
    return next(iter(data.values()))  # type: ignore[no-any-return]


def codes(errors: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    return sorted((e["code"], e["field"]) for e in errors)


async def category_ids(hub: Hub) -> dict[str, str]:
    return {c["name"]: c["id"] for c in (await hub.data(CATEGORIES, as_="admin"))["categories"]}


async def customer_id(hub: Hub, user: str) -> str:
    return (await hub.data("{ me { customer { id } } }", as_=user))["me"]["customer"]["id"]  # type: ignore[no-any-return]


async def written(hub: Hub) -> dict[str, Any]:
    """Row counts of every admin-written table and every SKU's stock rows."""
    counts: dict[str, Any] = {
        m.__name__: await hub.count(m) for m in (Product, Customer, Warehouse, Category, User, Stock)
    }
    for sku in hub.seeded.products:
        counts[sku] = await hub.stock(sku)
    return counts


async def login(hub: Hub, email: str, password: str) -> dict[str, Any]:
    return (await hub.data(TOKEN, {"email": email, "password": password}))["tokenCreate"]  # type: ignore[no-any-return]


# -- listing -------------------------------------------------------------------------------
async def test_products_are_listed_by_sku(hub: Hub) -> None:
    # given products added out of SKU order
    await hub.standard()
    await hub.add_product("ZZ-9", "1.00")
    await hub.add_product("AA-1", "1.00")
    await hub.add_product("MM-5", "1.00")
    # when the buyer lists the catalog
    page = await products(hub)
    # then they come by SKU, all on one page
    assert skus(page) == ["AA-1", "MM-5", "SKU-A", "SKU-B", "SKU-C", "ZZ-9"]
    assert page["pageInfo"]["hasNextPage"] is False
    assert page["totalCount"] == 6


async def test_products_are_paged_with_first_and_after(hub: Hub) -> None:
    # given five products
    await hub.standard()
    await hub.add_product("AA-1", "1.00")
    await hub.add_product("ZZ-9", "1.00")
    # when the buyer walks the catalog two at a time
    p1 = await products(hub, first=2)
    p2 = await products(hub, first=2, after=p1["pageInfo"]["endCursor"])
    p3 = await products(hub, first=2, after=p2["pageInfo"]["endCursor"])
    # then each product comes once, in SKU order, and the last page says no more follow
    assert (skus(p1), p1["pageInfo"]["hasNextPage"], p1["totalCount"]) == (
        ["AA-1", "SKU-A"],
        True,
        5,
    )
    assert (skus(p2), p2["pageInfo"]["hasNextPage"], p2["totalCount"]) == (
        ["SKU-B", "SKU-C"],
        True,
        5,
    )
    assert (skus(p3), p3["pageInfo"]["hasNextPage"], p3["totalCount"]) == (["ZZ-9"], False, 5)
    # and the end cursor is the last edge's cursor
    assert p1["pageInfo"]["endCursor"] == p1["edges"][-1]["cursor"]
    assert p3["pageInfo"]["endCursor"] == p3["edges"][-1]["cursor"]


async def test_products_first_defaults_to_20_and_above_100_is_refused(hub: Hub) -> None:
    # given 25 products
    await hub.standard()
    for i in range(22):
        await hub.add_product(f"BULK-{i:02d}", "1.00")
    # when the buyer lists without `first`
    page = await products(hub)
    # then 20 come back and more follow
    assert len(page["edges"]) == 20
    assert page["pageInfo"]["hasNextPage"] is True
    assert page["totalCount"] == 25
    # when it asks for 101
    body = await hub.gql(PRODUCTS, {"first": 101}, as_="acme")
    # then a GraphQL error names the limit of 100
    assert body["data"] == {"products": None}
    assert len(body["errors"]) == 1
    assert re.search(r"(?<!\d)100(?!\d)", body["errors"][0]["message"]), body["errors"]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("sku-b", ["SKU-B"]),  # SKU, any case
        ("BRASS VALVE", ["P-1", "P-2"]),  # name, any case
        ("50%", ["P-1"]),  # % is a character, not a wildcard
        ("l_J", ["P-3"]),  # _ is a character, not a wildcard
        ("%", ["P-1"]),
        ("_", ["P-3"]),
        ("nothing like it", []),
    ],
)
async def test_products_search_by_sku_or_name_case_insensitive_and_literal(
    hub: Hub, search: str, expected: list[str]
) -> None:
    # given products named with % and _ in them
    await hub.standard()
    for sku, name in [
        ("P-1", "Brass valve 50%"),
        ("P-2", "Brass Valve 500"),
        ("P-3", "Ball_Joint"),
        ("P-4", "BallXJoint"),
    ]:
        payload = await mutate(hub, PRODUCT_CREATE, {"sku": sku, "name": name, "basePrice": "1.00"})
        assert payload["errors"] == []
    # when the buyer searches
    page = await products(hub, search=search)
    # then only the literal matches come back, by SKU
    assert skus(page) == expected
    assert page["totalCount"] == len(expected)


async def test_products_filter_by_category(hub: Hub) -> None:
    # given Valves (SKU-A, SKU-B) and Pipes (SKU-C)
    await hub.standard()
    cats = await category_ids(hub)
    # when the buyer filters by each category
    valves = await products(hub, categoryId=cats["Valves"])
    pipes = await products(hub, categoryId=cats["Pipes"])
    # then only that category's products come back
    assert (skus(valves), valves["totalCount"]) == (["SKU-A", "SKU-B"], 2)
    assert (skus(pipes), pipes["totalCount"]) == (["SKU-C"], 1)
    # and search combines with it
    assert skus(await products(hub, categoryId=cats["Valves"], search="sku-b")) == ["SKU-B"]


async def test_inactive_products_are_hidden_from_customers_and_shown_to_staff(hub: Hub) -> None:
    # given an inactive product
    await hub.standard()
    await hub.add_product("OLD-1", "5.00", {"W1": 3}, active=False)
    # when the buyer and an admin list and look it up
    buyer_list = await products(hub, as_="acme")
    staff_list = await products(hub, as_="sales")
    buyer_one = await hub.data(BY_SKU, {"sku": "OLD-1"}, as_="acme")
    staff_one = await hub.data(BY_SKU, {"sku": "OLD-1"}, as_="sales")
    # then the buyer does not see it anywhere
    assert (skus(buyer_list), buyer_list["totalCount"]) == (["SKU-A", "SKU-B", "SKU-C"], 3)
    assert buyer_one == {"product": None}
    assert skus(await products(hub, as_="acme", search="OLD")) == []
    # and staff do, marked inactive
    assert (skus(staff_list), staff_list["totalCount"]) == (["OLD-1", "SKU-A", "SKU-B", "SKU-C"], 4)
    assert staff_one["product"]["sku"] == "OLD-1"
    assert staff_one["product"]["active"] is False
    # and looking it up by id is hidden from the buyer too
    by_id = await hub.data(BY_ID, {"id": staff_one["product"]["id"]}, as_="acme")
    assert by_id == {"product": None}


async def test_product_by_id_and_by_sku(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    cats = await category_ids(hub)
    # when the buyer looks SKU-A up by SKU, then by the id it got
    by_sku = (await hub.data(BY_SKU, {"sku": "SKU-A"}, as_="acme"))["product"]
    by_id = (await hub.data(BY_ID, {"id": by_sku["id"]}, as_="acme"))["product"]
    # then both answer the same product
    assert by_id == by_sku
    assert {k: v for k, v in by_sku.items() if k not in {"id", "price"}} == {
        "sku": "SKU-A",
        "name": "Product SKU-A",
        "unit": "pcs",
        "active": True,
        "category": {"id": cats["Valves"], "name": "Valves"},
        "availableQuantity": 15,
    }
    # and unknown SKUs, garbage ids and ids of another kind are null
    assert await hub.data(BY_SKU, {"sku": "NOPE"}, as_="acme") == {"product": None}
    assert await hub.data(BY_ID, {"id": "garbage!!"}, as_="acme") == {"product": None}
    assert await hub.data(BY_ID, {"id": cats["Valves"]}, as_="acme") == {"product": None}
    # and anonymous callers get null
    assert await hub.gql(BY_SKU, {"sku": "SKU-A"}) == {"data": {"product": None}}


async def test_price_for_a_quantity_is_the_base_price_with_its_rule(hub: Hub) -> None:
    # given SKU-B at 3.33
    await hub.standard()
    # when the buyer asks the price for 1 and for 50
    one = (await hub.data(PRICE, {"sku": "SKU-B", "q": 1}, as_="acme"))["product"]["price"]
    fifty = (await hub.data(PRICE, {"sku": "SKU-B", "q": 50}, as_="acme"))["product"]["price"]
    # then the unit price is 3.33 CNY, explained by the BASE_PRICE rule
    for price in (one, fifty):
        assert price["unitPrice"] == {"amount": "3.33", "currency": "CNY"}
        assert [r["kind"] for r in price["appliedRules"]] == ["BASE_PRICE"]
        assert price["appliedRules"][0]["description"]
    # and the default quantity gives the same
    default = (await hub.data(BY_SKU, {"sku": "SKU-B"}, as_="acme"))["product"]["price"]
    assert default == one


async def test_available_quantity_sums_positive_availability_over_warehouses(hub: Hub) -> None:
    # given SKU-A with 10 in W1 and 5 in W2
    await hub.standard()
    assert (await hub.data(AVAILABLE, {"sku": "SKU-A"}, as_="acme"))["product"] == {"availableQuantity": 15}
    # when 12 are ordered (W1 10 reserved, W2 2)
    order = await hub.data(CREATE_ORDER, {"lines": [{"sku": "SKU-A", "quantity": 12}]}, as_="acme")
    assert order["orderCreate"]["errors"] == []
    # then 3 remain available
    assert (await hub.data(AVAILABLE, {"sku": "SKU-A"}, as_="acme"))["product"] == {"availableQuantity": 3}
    # when a count puts W1 at 4 on hand, below its 10 reserved
    payload = await mutate(hub, STOCK_SET, {"sku": "SKU-A", "warehouseCode": "W1", "quantity": 4})
    assert payload["errors"] == []
    # then W1 adds 0, not -6: still 3
    assert (await hub.data(AVAILABLE, {"sku": "SKU-A"}, as_="acme"))["product"] == {"availableQuantity": 3}
    # when W2 is counted at 1, below its 2 reserved
    payload = await mutate(hub, STOCK_SET, {"sku": "SKU-A", "warehouseCode": "W2", "quantity": 1})
    assert payload["errors"] == []
    # then nothing is available, never a negative number, in the list as well
    assert (await hub.data(AVAILABLE, {"sku": "SKU-A"}, as_="acme"))["product"] == {"availableQuantity": 0}
    listed = await hub.data("{ products { edges { node { sku availableQuantity } } } }", as_="acme")
    assert listed["products"]["edges"][0]["node"] == {"sku": "SKU-A", "availableQuantity": 0}
    # and a product without any stock row has 0
    await hub.add_product("EMPTY", "1.00")
    assert (await hub.data(AVAILABLE, {"sku": "EMPTY"}, as_="acme"))["product"] == {"availableQuantity": 0}


# -- quotes --------------------------------------------------------------------------------
async def test_price_quote_merges_lines_and_totals_them(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the buyer asks a quote for 2 + 1 of SKU-B and 1 of SKU-A
    quote = (
        await hub.data(
            QUOTE,
            {
                "lines": [
                    {"sku": "SKU-B", "quantity": 2},
                    {"sku": "SKU-A", "quantity": 1},
                    {"sku": "SKU-B", "quantity": 1},
                ]
            },
            as_="acme",
        )
    )["priceQuote"]
    # then SKU-B is one line of 3 at 9.99, and the totals are 22.49 CNY
    got = sorted(
        (
            x["sku"],
            x["quantity"],
            x["unitPrice"]["amount"],
            x["lineTotal"]["amount"],
            tuple(r["kind"] for r in x["appliedRules"]),
        )
        for x in quote["lines"]
    )
    assert got == [
        ("SKU-A", 1, "12.50", "12.50", ("BASE_PRICE",)),
        ("SKU-B", 3, "3.33", "9.99", ("BASE_PRICE",)),
    ]
    assert quote["subtotal"] == {"amount": "22.49", "currency": "CNY"}
    assert quote["discountTotal"] == {"amount": "0.00", "currency": "CNY"}
    assert quote["total"] == {"amount": "22.49", "currency": "CNY"}
    assert quote["errors"] == []
    # and a quote reserves nothing
    assert await hub.reserved("SKU-A") == 0
    assert await hub.reserved("SKU-B") == 0


async def test_price_quote_reports_unknown_skus_and_totals_the_rest(hub: Hub) -> None:
    # given an inactive product
    await hub.standard()
    await hub.add_product("OLD-1", "5.00", {"W1": 3}, active=False)
    # when the buyer quotes SKU-A, an unknown SKU and the inactive one
    quote = (
        await hub.data(
            QUOTE,
            {
                "lines": [
                    {"sku": "SKU-A", "quantity": 2},
                    {"sku": "NOPE", "quantity": 1},
                    {"sku": "OLD-1", "quantity": 1},
                ]
            },
            as_="acme",
        )
    )["priceQuote"]
    # then the unknown and inactive SKUs are NOT_FOUND at their lines, and SKU-A is totalled
    assert codes(quote["errors"]) == [("NOT_FOUND", "lines.1.sku"), ("NOT_FOUND", "lines.2.sku")]
    assert [(x["sku"], x["quantity"], x["lineTotal"]["amount"]) for x in quote["lines"]] == [
        ("SKU-A", 2, "25.00")
    ]
    assert quote["subtotal"]["amount"] == "25.00"
    assert quote["total"]["amount"] == "25.00"


async def test_price_quote_reports_bad_quantities(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the buyer quotes SKU-A with a good quantity and SKU-B with 0
    quote = (
        await hub.data(
            QUOTE,
            {"lines": [{"sku": "SKU-A", "quantity": 1}, {"sku": "SKU-B", "quantity": 0}]},
            as_="acme",
        )
    )["priceQuote"]
    # then the bad quantity is INVALID at its line and the rest is totalled
    assert codes(quote["errors"]) == [("INVALID", "lines.1.quantity")]
    assert [(x["sku"], x["quantity"]) for x in quote["lines"]] == [("SKU-A", 1)]
    assert quote["total"]["amount"] == "12.50"


# -- admin: products -----------------------------------------------------------------------
async def test_product_create(hub: Hub) -> None:
    # given a category
    await hub.standard()
    cats = await category_ids(hub)
    # when the admin creates a product in it
    payload = await mutate(
        hub,
        PRODUCT_CREATE,
        {
            "sku": "NEW-1",
            "name": "Gate valve",
            "unit": "box",
            "basePrice": "7.5",
            "costPrice": "4.20",
            "categoryId": cats["Valves"],
        },
    )
    # then it is returned, active, with no stock, priced at 7.50
    assert payload["errors"] == []
    product = payload["product"]
    assert {k: v for k, v in product.items() if k != "id"} == {
        "sku": "NEW-1",
        "name": "Gate valve",
        "unit": "box",
        "active": True,
        "category": {"id": cats["Valves"], "name": "Valves"},
        "availableQuantity": 0,
        "price": {
            "unitPrice": {"amount": "7.50", "currency": "CNY"},
            "appliedRules": product["price"]["appliedRules"],
        },
    }
    assert [r["kind"] for r in product["price"]["appliedRules"]] == ["BASE_PRICE"]
    # and the buyer finds it under that id
    assert (await hub.data(BY_ID, {"id": product["id"]}, as_="acme"))["product"]["sku"] == "NEW-1"
    assert await hub.count(Product) == 4


async def test_product_create_accepts_the_largest_amount(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the admin creates a product at 999,999,999,999.99
    payload = await mutate(
        hub, PRODUCT_CREATE, {"sku": "BIG-1", "name": "Big", "basePrice": "999999999999.99"}
    )
    # then it is created at exactly that price
    assert payload["errors"] == []
    assert payload["product"]["price"]["unitPrice"]["amount"] == "999999999999.99"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"basePrice": "12.345"}, "basePrice"),  # more than 2 decimals
        ({"basePrice": "1000000000000.00"}, "basePrice"),  # above 999,999,999,999.99
        ({"basePrice": "999999999999.991"}, "basePrice"),
        ({"basePrice": "-0.01"}, "basePrice"),  # negative
        ({"costPrice": "1.001"}, "costPrice"),
        ({"costPrice": "-5.00"}, "costPrice"),
        ({"sku": "SKU-A"}, "sku"),  # taken
    ],
    ids=[
        "3-decimals",
        "too-large",
        "too-large-3-decimals",
        "negative",
        "cost-3-decimals",
        "cost-negative",
        "duplicate-sku",
    ],
)
async def test_product_create_invalid_writes_nothing(hub: Hub, changes: dict[str, str], field: str) -> None:
    # given the standard seed
    await hub.standard()
    before = await written(hub)
    # when the admin creates a product with a bad value
    payload = await mutate(
        hub, PRODUCT_CREATE, {"sku": "NEW-1", "name": "New", "basePrice": "1.00", **changes}
    )
    # then it is INVALID at that field and nothing is written
    assert payload["product"] is None
    assert codes(payload["errors"]) == [("INVALID", field)]
    assert await written(hub) == before


async def test_product_create_is_for_admins(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await written(hub)
    # when sales and a buyer try to create a product
    for who in ("sales", "acme"):
        payload = await mutate(
            hub, PRODUCT_CREATE, {"sku": "NEW-1", "name": "New", "basePrice": "1.00"}, as_=who
        )
        # then PERMISSION_DENIED in the payload, nothing written
        assert payload["product"] is None
        assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
    assert await written(hub) == before


# -- admin: customers, warehouses, categories --------------------------------------------------
async def test_customer_create(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the admin opens an account with a credit limit, and one without
    limited = await mutate(
        hub, CUSTOMER_CREATE, {"code": "GAMMA", "name": "Gamma Ltd", "creditLimit": "5000"}
    )
    unlimited = await mutate(hub, CUSTOMER_CREATE, {"code": "DELTA", "name": "Delta Ltd"})
    # then both are returned, the limit as money with 2 decimals
    assert limited["errors"] == []
    assert {k: v for k, v in limited["customer"].items() if k != "id"} == {
        "code": "GAMMA",
        "name": "Gamma Ltd",
        "creditLimit": {"amount": "5000.00", "currency": "CNY"},
    }
    assert unlimited["errors"] == []
    assert unlimited["customer"]["creditLimit"] is None
    assert await hub.count(Customer) == 4


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"creditLimit": "100.005"}, "creditLimit"),
        ({"creditLimit": "1000000000000"}, "creditLimit"),
        ({"code": "ACME"}, "code"),
    ],
    ids=["3-decimals", "too-large", "duplicate-code"],
)
async def test_customer_create_invalid_writes_nothing(hub: Hub, changes: dict[str, str], field: str) -> None:
    # given the standard seed
    await hub.standard()
    before = await written(hub)
    # when the admin opens an account with a bad value
    payload = await mutate(hub, CUSTOMER_CREATE, {"code": "GAMMA", "name": "Gamma", **changes})
    # then INVALID at that field and nothing is written
    assert payload["customer"] is None
    assert codes(payload["errors"]) == [("INVALID", field)]
    assert await written(hub) == before


async def test_warehouse_create(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the admin adds a warehouse
    payload = await mutate(hub, WAREHOUSE_CREATE, {"code": "W9", "name": "Harbour"})
    # then it is returned and listed
    assert payload["errors"] == []
    assert {k: v for k, v in payload["warehouse"].items() if k != "id"} == {
        "code": "W9",
        "name": "Harbour",
    }
    listed = await hub.data("{ warehouses { id code } }", as_="admin")
    assert {"id": payload["warehouse"]["id"], "code": "W9"} in listed["warehouses"]
    assert await hub.count(Warehouse) == 3


async def test_warehouse_create_duplicate_code_writes_nothing(hub: Hub) -> None:
    # given W1
    await hub.standard()
    before = await written(hub)
    # when the admin adds another W1
    payload = await mutate(hub, WAREHOUSE_CREATE, {"code": "W1", "name": "Again"})
    # then INVALID at code and nothing is written
    assert payload["warehouse"] is None
    assert codes(payload["errors"]) == [("INVALID", "code")]
    assert await written(hub) == before


async def test_category_create(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the admin adds a category
    payload = await mutate(hub, CATEGORY_CREATE, {"name": "Fittings"})
    # then it is returned and listed with its id
    assert payload["errors"] == []
    assert payload["category"]["name"] == "Fittings"
    assert (await category_ids(hub))["Fittings"] == payload["category"]["id"]
    # and a product can be filed under it
    product = await mutate(
        hub,
        PRODUCT_CREATE,
        {
            "sku": "FIT-1",
            "name": "Elbow",
            "basePrice": "2.00",
            "categoryId": payload["category"]["id"],
        },
    )
    assert product["errors"] == []
    assert skus(await products(hub, categoryId=payload["category"]["id"])) == ["FIT-1"]


async def test_category_create_duplicate_name_writes_nothing(hub: Hub) -> None:
    # given Valves
    await hub.standard()
    before = await written(hub)
    # when the admin adds another Valves
    payload = await mutate(hub, CATEGORY_CREATE, {"name": "Valves"})
    # then INVALID at name and nothing is written
    assert payload["category"] is None
    assert codes(payload["errors"]) == [("INVALID", "name")]
    assert await written(hub) == before


# -- admin: users --------------------------------------------------------------------------
async def test_user_create_staff_and_customer_users(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    acme = await customer_id(hub, "acme")
    # when the admin creates a staff user and a buyer for ACME
    staff = await mutate(
        hub,
        USER_CREATE,
        {"email": "New.Sales@Test.Hub", "password": "long-enough-pw", "roles": ["SALES"]},
    )
    buyer = await mutate(
        hub,
        USER_CREATE,
        {
            "email": "buyer2@acme.test",
            "password": "long-enough-pw",
            "roles": ["CUSTOMER"],
            "customerId": acme,
        },
    )
    # then both are returned, emails in lower case, the buyer bound to ACME
    assert staff["errors"] == []
    assert {k: v for k, v in staff["user"].items() if k != "id"} == {
        "email": "new.sales@test.hub",
        "roles": ["SALES"],
        "customer": None,
    }
    assert buyer["errors"] == []
    assert {k: v for k, v in buyer["user"].items() if k != "id"} == {
        "email": "buyer2@acme.test",
        "roles": ["CUSTOMER"],
        "customer": {"id": acme, "name": "Acme Trading"},
    }
    assert await hub.count(User) == 10
    # and the new buyer can log in and act for ACME
    token = (await login(hub, "buyer2@acme.test", "long-enough-pw"))["token"]
    me = await hub.post({"query": "{ me { email customer { name } } }"}, token)
    assert me.json() == {"data": {"me": {"email": "buyer2@acme.test", "customer": {"name": "Acme Trading"}}}}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"roles": ["CUSTOMER"]}, "customerId"),  # CUSTOMER without customerId
        ({"roles": ["SALES"], "customerId": "ACME"}, "customerId"),  # customerId without CUSTOMER
        ({"email": "ADMIN@test.hub"}, "email"),  # taken, in another case
        ({"email": "acme@test.hub", "roles": ["CUSTOMER"], "customerId": "ACME"}, "email"),  # taken
    ],
    ids=[
        "customer-without-customer-id",
        "staff-with-customer-id",
        "duplicate-email-case",
        "duplicate-email",
    ],
)
async def test_user_create_invalid_writes_nothing(hub: Hub, changes: dict[str, Any], field: str) -> None:
    # given the standard seed
    await hub.standard()
    if changes.get("customerId") == "ACME":
        changes = {**changes, "customerId": await customer_id(hub, "acme")}
    before = await written(hub)
    # when the admin creates a user with a bad combination
    payload = await mutate(
        hub,
        USER_CREATE,
        {"email": "new@test.hub", "password": "long-enough-pw", "roles": ["SALES"], **changes},
    )
    # then INVALID at that field and nothing is written
    assert payload["user"] is None
    assert codes(payload["errors"]) == [("INVALID", field)]
    assert await written(hub) == before


# -- admin: stock --------------------------------------------------------------------------
async def test_stock_set_creates_and_updates_stock_keeping_reservations(hub: Hub) -> None:
    # given 12 of SKU-A reserved (W1 10, W2 2)
    await hub.standard()
    order = await hub.data(CREATE_ORDER, {"lines": [{"sku": "SKU-A", "quantity": 12}]}, as_="acme")
    assert order["orderCreate"]["errors"] == []
    # when the admin sets SKU-C in W1, where it had no stock row
    created = await mutate(hub, STOCK_SET, {"sku": "SKU-C", "warehouseCode": "W1", "quantity": 7})
    # then the level is returned and stored
    assert created == {
        "stock": {"sku": "SKU-C", "warehouseCode": "W1", "onHand": 7, "reserved": 0},
        "errors": [],
    }
    assert await hub.stock("SKU-C") == [("W1", 7, 0), ("W2", 2, 0)]
    # when the warehouse user counts SKU-A in W1 at 25
    updated = await mutate(
        hub, STOCK_SET, {"sku": "SKU-A", "warehouseCode": "W1", "quantity": 25}, as_="warehouse"
    )
    # then on hand changes and the reservation is kept
    assert updated == {
        "stock": {"sku": "SKU-A", "warehouseCode": "W1", "onHand": 25, "reserved": 10},
        "errors": [],
    }
    assert await hub.stock("SKU-A") == [("W1", 25, 10), ("W2", 5, 2)]
    assert (await hub.data(AVAILABLE, {"sku": "SKU-A"}, as_="acme"))["product"] == {"availableQuantity": 18}
    # and zero is a valid count
    zero = await mutate(hub, STOCK_SET, {"sku": "SKU-B", "warehouseCode": "W1", "quantity": 0})
    assert zero["errors"] == []
    assert await hub.stock("SKU-B") == [("W1", 0, 0)]


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"quantity": -1}, "INVALID", "quantity"),
        ({"sku": "NOPE"}, "NOT_FOUND", "sku"),
        ({"warehouseCode": "W404"}, "NOT_FOUND", "warehouseCode"),
    ],
    ids=["negative", "unknown-sku", "unknown-warehouse"],
)
async def test_stock_set_refused_writes_nothing(
    hub: Hub, changes: dict[str, Any], code: str, field: str
) -> None:
    # given the standard seed
    await hub.standard()
    before = await written(hub)
    # when the admin sets stock with a bad value
    payload = await mutate(hub, STOCK_SET, {"sku": "SKU-A", "warehouseCode": "W1", "quantity": 3, **changes})
    # then it is refused at that field and nothing is written
    assert payload["stock"] is None
    assert codes(payload["errors"]) == [(code, field)]
    assert await written(hub) == before


async def test_stock_set_is_for_admin_and_warehouse(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    before = await written(hub)
    # when sales and a buyer set stock
    for who in ("sales", "acme"):
        payload = await mutate(
            hub, STOCK_SET, {"sku": "SKU-A", "warehouseCode": "W1", "quantity": 0}, as_=who
        )
        # then PERMISSION_DENIED, nothing written
        assert payload["stock"] is None
        assert [e["code"] for e in payload["errors"]] == ["PERMISSION_DENIED"]
    assert await written(hub) == before


# -- logging in ----------------------------------------------------------------------------
async def test_token_create_returns_a_token_that_works(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    acme = await customer_id(hub, "acme")
    # when the buyer logs in (email in another case)
    payload = await login(hub, "ACME@test.hub", PASSWORD)
    # then it gets a token and its user
    assert payload["errors"] == []
    assert payload["token"]
    assert {k: v for k, v in payload["user"].items() if k != "id"} == {
        "email": "acme@test.hub",
        "roles": ["CUSTOMER"],
        "customer": {"id": acme, "name": "Acme Trading"},
    }
    # and the token identifies it
    response = await hub.post({"query": "{ me { id email roles } }"}, payload["token"])
    assert response.status_code == 200
    assert response.json() == {
        "data": {"me": {"id": payload["user"]["id"], "email": "acme@test.hub", "roles": ["CUSTOMER"]}}
    }


async def test_token_create_failures_look_the_same(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when someone logs in with an unknown email, and with a wrong password
    unknown = await login(hub, "nobody@test.hub", PASSWORD)
    wrong = await login(hub, "acme@test.hub", "wrong-password")
    # then each gets one INVALID error, with the same message, and no token or user
    assert len(unknown["errors"]) == 1
    assert unknown["errors"][0]["code"] == "INVALID"
    assert unknown["errors"] == wrong["errors"]
    assert (unknown["token"], unknown["user"]) == (None, None)
    assert (wrong["token"], wrong["user"]) == (None, None)


async def test_token_create_is_throttled_after_five_failures(hub: Hub) -> None:
    # given five failed logins for the buyer's email, written in several cases
    await hub.standard()
    for email in [
        "acme@test.hub",
        "ACME@test.hub",
        "Acme@Test.Hub",
        "acme@test.hub",
        " acme@test.hub",
    ]:
        failed = await login(hub, email, "wrong-password")
        assert [e["code"] for e in failed["errors"]] == ["INVALID"]
    # when the right password is then given
    payload = await login(hub, "acme@test.hub", PASSWORD)
    # then it is refused all the same
    assert payload["token"] is None
    assert payload["user"] is None
    assert [e["code"] for e in payload["errors"]] == ["INVALID"]
    # and another email is not affected
    other = await login(hub, "beta@test.hub", PASSWORD)
    assert other["errors"] == []
    assert other["token"]


async def test_negative_zero_is_stored_and_shown_as_zero(hub: Hub) -> None:
    await hub.standard()
    data = await hub.data(
        'mutation { productCreate(input: {sku: "Z1", name: "Zero", basePrice: "-0.00"}) { product { basePrice { amount } } errors { code } } }',
        as_="admin",
    )
    assert data["productCreate"] == {"product": {"basePrice": {"amount": "0.00"}}, "errors": []}


async def test_an_email_longer_than_254_characters_is_invalid(hub: Hub) -> None:
    await hub.standard()
    email = "a" * 64 + "@" + "b" * 189 + ".com"
    data = await hub.data(
        'mutation($e: String!) { userCreate(input: {email: $e, password: "longpassword", roles: [SALES]}) { errors { code field } } }',
        {"e": email},
        as_="admin",
    )
    assert data["userCreate"]["errors"] == [{"code": "INVALID", "field": "email"}]
