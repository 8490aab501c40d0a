from __future__ import annotations

from decimal import Decimal

import strawberry

from hub.domain.catalog.services import create_product
from hub.domain.errors import DomainError
from hub.domain.pricing.services import load_price_book
from hub.schema.audit.record import audit
from hub.schema.catalog.types import Product
from hub.schema.common import AppInfo, Error, decode_id, encode_id, errors_of


@strawberry.input(description="A new product.")
class ProductCreateInput:
    sku: str = strawberry.field(description="Unique SKU: letters, digits and . _ - /.")
    name: str = strawberry.field(description="Display name.")
    unit: str | None = strawberry.field(default=None, description="Sales unit; default pcs.")
    base_price: Decimal = strawberry.field(description="List price, ≥ 0, at most 2 decimals.")
    cost_price: Decimal | None = strawberry.field(default=None, description="Purchase cost.")
    category_id: strawberry.ID | None = strawberry.field(default=None, description="Category.")


@strawberry.type(description="The result of productCreate.")
class ProductCreatePayload:
    product: Product | None = strawberry.field(description="The new product.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.type
class ProductCreateMutation:
    @strawberry.mutation(description="Add a product to the catalog (ADMIN).")
    async def product_create(self, info: AppInfo, input: ProductCreateInput) -> ProductCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        category_id = None
        if input.category_id is not None:
            category_id = decode_id("Category", input.category_id) or 0
        try:
            async with info.context.db.write() as session:
                row = await create_product(
                    session,
                    p,
                    sku=input.sku,
                    name=input.name,
                    unit=input.unit,
                    base_price=input.base_price,
                    cost_price=input.cost_price,
                    category_id=category_id,
                )
                book = await load_price_book(session, None, [row.id])
                await audit(info, session, encode_id("Product", row.id))
        except DomainError as e:
            return ProductCreatePayload(product=None, errors=errors_of(e))
        return ProductCreatePayload(product=Product.of(row, book, info.context.currency), errors=[])
