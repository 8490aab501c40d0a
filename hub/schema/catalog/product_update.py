from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

import strawberry

from hub.domain.auth.services import KEEP
from hub.domain.catalog.services import update_product
from hub.domain.errors import DomainError
from hub.schema.audit.record import audit
from hub.schema.catalog.types import Product
from hub.schema.common import AppInfo, Error, decode_id, encode_id, errors_of

_UNSET: Any = strawberry.UNSET


@strawberry.input(description="What to change about a product; an omitted field is left as it is.")
class ProductUpdateInput:
    name: str | None = strawberry.field(default=_UNSET, description="Display name (not null).")
    unit: str | None = strawberry.field(default=_UNSET, description="Sales unit (not null).")
    base_price: Decimal | None = strawberry.field(
        default=_UNSET, description="List price, ≥ 0, at most 2 decimals (not null)."
    )
    cost_price: Decimal | None = strawberry.field(default=_UNSET, description="Purchase cost; null: unknown.")
    category_id: strawberry.ID | None = strawberry.field(default=_UNSET, description="Category; null: none.")
    min_order_quantity: int | None = strawberry.field(
        default=_UNSET, description="Minimum order quantity, 1 to 1,000,000 (not null)."
    )
    order_multiple: int | None = strawberry.field(
        default=_UNSET, description="Order multiple, 1 to 1,000,000 (not null)."
    )
    active: bool | None = strawberry.field(
        default=_UNSET,
        description="False deactivates the product: it leaves the catalog for customers and cannot "
        "be ordered or quoted; past orders keep it. Not null.",
    )


@strawberry.type(description="The result of productUpdate.")
class ProductUpdatePayload:
    product: Product | None = strawberry.field(description="The product as it is now.")
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type
class ProductUpdateMutation:
    @strawberry.mutation(
        description="Fix a product's name, unit, prices, category, MOQ, multiple or active flag "
        "(ADMIN). Omitted fields are left as they are; the SKU never changes."
    )
    async def product_update(
        self,
        info: AppInfo,
        id: Annotated[strawberry.ID, strawberry.argument(description="The product's id.")],
        input: Annotated[ProductUpdateInput, strawberry.argument(description="What to change.")],
    ) -> ProductUpdatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        changes: dict[str, Any] = {
            k: KEEP if v is strawberry.UNSET else v
            for k, v in {
                "name": input.name,
                "unit": input.unit,
                "base_price": input.base_price,
                "cost_price": input.cost_price,
                "min_order_quantity": input.min_order_quantity,
                "order_multiple": input.order_multiple,
                "active": input.active,
            }.items()
        }
        if input.category_id is strawberry.UNSET:
            changes["category_id"] = KEEP
        else:
            changes["category_id"] = (
                None if input.category_id is None else decode_id("Category", input.category_id) or 0
            )
        try:
            async with info.context.db.write() as session:
                row, book = await update_product(session, p, decode_id("Product", id) or 0, **changes)
                await audit(info, session, encode_id("Product", row.id))
        except DomainError as e:
            return ProductUpdatePayload(product=None, errors=errors_of(e))
        return ProductUpdatePayload(product=Product.of(row, book, info.context.currency), errors=[])
