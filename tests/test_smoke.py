"""The thinnest end-to-end path: a buyer sees the catalog and places an order."""

from __future__ import annotations

from tests.support import Hub


async def test_buyer_sees_catalog_and_places_an_order(hub: Hub) -> None:
    # given the standard seed
    await hub.standard()
    # when the buyer lists products
    data = await hub.data(
        "{ products(first: 2) { edges { node { sku availableQuantity price { unitPrice { amount currency } } } } pageInfo { hasNextPage } } }",
        as_="acme",
    )
    # then it sees live availability and prices
    assert data["products"]["edges"][0]["node"] == {
        "sku": "SKU-A",
        "availableQuantity": 15,
        "price": {"unitPrice": {"amount": "12.50", "currency": "CNY"}},
    }
    assert data["products"]["pageInfo"]["hasNextPage"] is True
    # when it orders 12 of SKU-A
    data = await hub.data(
        'mutation { orderCreate(input: {lines: [{sku: "SKU-A", quantity: 12}]}) { order { status total { amount } lines { sku quantity lineTotal { amount } } } errors { code field message } } }',
        as_="acme",
    )
    # then the order is pending and 10 + 2 units are reserved by warehouse priority
    assert data["orderCreate"]["errors"] == []
    assert data["orderCreate"]["order"]["status"] == "PENDING_APPROVAL"
    assert data["orderCreate"]["order"]["total"] == {"amount": "150.00"}
    assert await hub.stock("SKU-A") == [("W1", 10, 10), ("W2", 5, 2)]
