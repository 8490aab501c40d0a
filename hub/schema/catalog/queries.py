from __future__ import annotations

import strawberry

from hub.domain.catalog.services import get_product, list_categories, list_products
from hub.domain.errors import DomainError
from hub.domain.pagination import encode_cursor
from hub.domain.pricing.quotes import LineInput, quote_order
from hub.schema.catalog.types import (
    Category,
    PriceRule,
    Product,
    ProductConnection,
    ProductEdge,
    Quote,
    QuoteLine,
)
from hub.schema.common import (
    AppInfo,
    PageInfo,
    decode_id,
    encode_id,
    errors_of,
    money,
    query_error,
    wants,
)
from hub.schema.orders.inputs import OrderLineInput


@strawberry.type
class CatalogQueries:
    @strawberry.field(
        description="Products the caller may see, by SKU, with the caller's prices and live "
        "availability. `first` defaults to 20, at most 100."
    )
    async def products(
        self,
        info: AppInfo,
        first: int | None = 20,
        after: str | None = None,
        search: str | None = None,
        category_id: strawberry.ID | None = None,
    ) -> ProductConnection | None:
        p = info.context.principal
        if p is None:
            return None
        cat = None
        if category_id is not None:
            cat = decode_id("Category", category_id) or 0
        try:
            async with info.context.db.read() as session:
                result = await list_products(
                    session,
                    p,
                    first=first,
                    after=after,
                    search=search,
                    category_id=cat,
                    with_total=wants(info, "totalCount"),
                )
        except DomainError as e:
            raise query_error(e) from None
        currency = info.context.currency
        page = result.page
        edges = [
            ProductEdge(
                node=Product.of(row, result.prices, currency),
                cursor=encode_cursor("sku", row.sku),
            )
            for row in page.items
        ]
        return ProductConnection(
            edges=edges,
            page_info=PageInfo.of(edges, page),
            total_count=page.total_count,
        )

    @strawberry.field(description="One product by id or SKU; null when missing or not visible.")
    async def product(
        self, info: AppInfo, id: strawberry.ID | None = None, sku: str | None = None
    ) -> Product | None:
        p = info.context.principal
        if p is None or (id is None and sku is None):
            return None
        pk = None
        if id is not None:
            pk = decode_id("Product", id)
            if pk is None:
                return None
        async with info.context.db.read() as session:
            found = await get_product(session, p, product_id=pk, sku=sku)
        if found is None:
            return None
        row, book = found
        return Product.of(row, book, info.context.currency)

    @strawberry.field(description="All categories, by name.")
    async def categories(self, info: AppInfo) -> list[Category] | None:
        if info.context.principal is None:
            return None
        async with info.context.db.read() as session:
            rows = await list_categories(session)
        return [Category(id=encode_id("Category", c.id), name=c.name) for c in rows]

    @strawberry.field(
        description="What orderCreate would charge for these lines now. Staff may pass "
        "`customerId` to quote a customer's prices."
    )
    async def price_quote(
        self,
        info: AppInfo,
        lines: list[OrderLineInput],
        customer_id: strawberry.ID | None = None,
    ) -> Quote | None:
        p = info.context.principal
        if p is None:
            return None
        cid = None if customer_id is None else (decode_id("Customer", customer_id) or 0)
        async with info.context.db.read() as session:
            priced = await quote_order(session, p, [LineInput(x.sku, x.quantity) for x in lines], cid)
        c = info.context.currency
        return Quote(
            lines=[
                QuoteLine(
                    sku=x.sku,
                    quantity=x.quantity,
                    unit_price=money(x.unit_price, c),
                    line_total=money(x.line_total, c),
                    applied_rules=[PriceRule(kind=r.kind, description=r.description) for r in x.rules],
                )
                for x in priced.lines
            ],
            subtotal=money(priced.subtotal, c),
            discount_total=money(priced.discount_total, c),
            total=money(priced.total, c),
            errors=errors_of(priced.problems),
        )
