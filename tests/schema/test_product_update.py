"""productUpdate (ADMIN) and deactivated products: omitted fields stay, null clears the nullable
ones, every bad field is reported by name with nothing written; a deactivated product leaves the
catalog for customers (staff still see it) and ordering, while past orders keep it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from hub.domain.catalog.models import Product
from hub.schema.common import encode_id
from tests.support import Hub

ERRORS = "errors { field code message }"
FIELDS = "sku name unit active minOrderQuantity orderMultiple basePrice { amount } costPrice { amount } category { name }"
PRODUCT_UPDATE = f"""mutation($id: ID!, $input: ProductUpdateInput!) {{
  productUpdate(id: $id, input: $input) {{ product {{ {FIELDS} }} {ERRORS} }} }}"""


def pid(hub: Hub, sku: str) -> str:
    return encode_id("Product", hub.seeded.products[sku])


async def update(hub: Hub, inp: dict[str, Any], as_: str = "admin", sku: str = "SKU-A") -> Any:
    return (await hub.data(PRODUCT_UPDATE, {"id": pid(hub, sku), "input": inp}, as_=as_))["productUpdate"]


async def product_rows(hub: Hub) -> list[tuple[Any, ...]]:
    async with hub.db.read() as s:
        rows = await s.execute(
            select(Product.id, Product.name, Product.unit, Product.base_price, Product.cost_price, Product.category_id,
                   Product.min_order_quantity, Product.order_multiple, Product.active).order_by(Product.id)
        )  # fmt: skip
        return [tuple(r) for r in rows]


async def test_product_update_is_for_admins(hub: Hub) -> None:
    await hub.standard()
    before = await product_rows(hub)
    inp = {"id": pid(hub, "SKU-A"), "input": {"name": "x"}}
    assert (await hub.gql(PRODUCT_UPDATE, inp))["data"] == {"productUpdate": None}
    for who in ["acme", "beta", "sales", "manager", "finance", "warehouse", "director"]:
        assert (await hub.data(PRODUCT_UPDATE, inp, as_=who))["productUpdate"]["errors"] == [
            {"field": None, "code": "PERMISSION_DENIED", "message": "This needs one of the roles: ADMIN"}
        ], who
    assert await product_rows(hub) == before
    assert (await update(hub, {"name": "x"}))["product"]["name"] == "x"


async def test_omitted_fields_stay_and_null_clears_cost_and_category(hub: Hub) -> None:
    await hub.standard()
    async with hub.db.write() as s:
        (await s.get(Product, hub.seeded.products["SKU-A"])).cost_price = 5  # type: ignore[union-attr]
    changed = await update(hub, {"minOrderQuantity": 48, "orderMultiple": 24, "basePrice": "13.00"})
    assert changed == {"errors": [], "product": {
        "sku": "SKU-A", "name": "Product SKU-A", "unit": "pcs", "active": True, "minOrderQuantity": 48,
        "orderMultiple": 24, "basePrice": {"amount": "13.00"}, "costPrice": {"amount": "5.00"},
        "category": {"name": "Valves"}}}  # fmt: skip
    cleared = (await update(hub, {"costPrice": None, "categoryId": None, "unit": "box"}))["product"]
    assert (cleared["costPrice"], cleared["category"], cleared["unit"], cleared["minOrderQuantity"]) == (
        None, None, "box", 48)  # fmt: skip
    # the catalog shows the new MOQ and multiple (defaults 1 for the others)
    listing = "{ products { edges { node { sku minOrderQuantity orderMultiple } } } }"
    edges = (await hub.data(listing, as_="acme"))["products"]["edges"]
    assert [e["node"] for e in edges] == [
        {"sku": "SKU-A", "minOrderQuantity": 48, "orderMultiple": 24},
        {"sku": "SKU-B", "minOrderQuantity": 1, "orderMultiple": 1},
        {"sku": "SKU-C", "minOrderQuantity": 1, "orderMultiple": 1},
    ]


async def test_product_update_reports_every_bad_field_and_writes_nothing(hub: Hub) -> None:
    await hub.standard()
    before = await product_rows(hub)
    answer = await update(hub, {
        "name": None, "unit": " ", "basePrice": "-1.00", "costPrice": "1.234", "categoryId": encode_id("Category", 99),
        "minOrderQuantity": 0, "orderMultiple": -24, "active": None,
    })  # fmt: skip
    assert answer["product"] is None
    assert sorted((e["field"], e["code"]) for e in answer["errors"]) == [
        ("active", "INVALID"), ("basePrice", "INVALID"), ("categoryId", "NOT_FOUND"), ("costPrice", "INVALID"),
        ("minOrderQuantity", "INVALID"), ("name", "INVALID"), ("orderMultiple", "INVALID"), ("unit", "INVALID"),
    ]  # fmt: skip
    for inp, field in [({"minOrderQuantity": 1_000_001}, "minOrderQuantity"), ({"basePrice": None}, "basePrice"),
                       ({"orderMultiple": 0}, "orderMultiple"), ({"categoryId": encode_id("Product", 1)}, "categoryId"),
                       ({"basePrice": "1000000000000.00"}, "basePrice")]:  # fmt: skip
        assert [e["field"] for e in (await update(hub, inp))["errors"]] == [field], inp
    missing = await hub.data(
        PRODUCT_UPDATE, {"id": encode_id("Product", 999), "input": {"name": "x"}}, as_="admin"
    )
    assert missing["productUpdate"]["errors"] == [
        {"field": "id", "code": "NOT_FOUND", "message": "Product not found"}
    ]
    assert await product_rows(hub) == before


ORDER = f"""mutation($sku: String!) {{ orderCreate(input: {{lines: [{{sku: $sku, quantity: 2}}]}}) {{
  order {{ id lines {{ sku quantity }} }} {ERRORS} }} }}"""


async def test_a_deactivated_product_leaves_the_catalog_and_ordering_but_past_orders_keep_it(
    hub: Hub,
) -> None:
    await hub.standard()
    placed = (await hub.data(ORDER, {"sku": "SKU-A"}, as_="acme"))["orderCreate"]
    assert placed["errors"] == []
    # when the admin deactivates SKU-A
    assert (await update(hub, {"active": False}))["product"]["active"] is False
    # then customers no longer see it
    listing = "{ products { totalCount edges { node { sku active } } } }"
    assert [e["node"]["sku"] for e in (await hub.data(listing, as_="acme"))["products"]["edges"]] == [
        "SKU-B",
        "SKU-C",
    ]
    one = "query($s: String!) { product(sku: $s) { sku active } }"
    assert await hub.data(one, {"s": "SKU-A"}, as_="acme") == {"product": None}
    # staff still do, marked inactive
    assert await hub.data(one, {"s": "SKU-A"}, as_="sales") == {"product": {"sku": "SKU-A", "active": False}}
    staff = (await hub.data(listing, as_="sales"))["products"]
    assert staff["totalCount"] == 3 and staff["edges"][0]["node"] == {"sku": "SKU-A", "active": False}
    # it cannot be ordered or quoted (API.md semantics: inactive SKU, field lines.N.sku)
    refused = (await hub.data(ORDER, {"sku": "SKU-A"}, as_="acme"))["orderCreate"]
    assert refused["order"] is None and [e["field"] for e in refused["errors"]] == ["lines.0.sku"]
    quote = '{ priceQuote(lines: [{sku: "SKU-A", quantity: 1}]) { lines { sku } errors { field } } }'
    assert (await hub.data(quote, as_="acme"))["priceQuote"] == {
        "lines": [],
        "errors": [{"field": "lines.0.sku"}],
    }
    # and the past order still shows its line
    past = "query($id: ID!) { order(id: $id) { lines { sku quantity } } }"
    assert await hub.data(past, {"id": placed["order"]["id"]}, as_="acme") == {
        "order": {"lines": [{"sku": "SKU-A", "quantity": 2}]}
    }
