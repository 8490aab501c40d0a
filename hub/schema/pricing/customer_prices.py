"""customerPriceSet and customerPriceDelete: a customer's own prices (一客一价)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from hub.domain.errors import DomainError
from hub.domain.pricing.management import delete_customer_price, set_customer_price
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, encode_id, errors_of
from hub.schema.pricing.queries import pk
from hub.schema.pricing.types import CustomerPrice


@strawberry.input(description="A customer's own price of a product, from minQuantity units on.")
class CustomerPriceSetInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer.")
    sku: str = strawberry.field(description="The product's SKU.")
    unit_price: Decimal = strawberry.field(description="Price of one unit, ≥ 0, at most 2 decimals.")
    min_quantity: int = strawberry.field(default=1, description="From how many units on (1 to 1,000,000).")
    valid_from: datetime | None = strawberry.field(
        default=None, description="Valid from (inclusive, with a time zone); null: always."
    )
    valid_to: datetime | None = strawberry.field(
        default=None, description="Valid until (exclusive, after validFrom); null: no end."
    )


@strawberry.input(description="Which customer price to remove.")
class CustomerPriceDeleteInput:
    customer_id: strawberry.ID = strawberry.field(description="The customer.")
    sku: str = strawberry.field(description="The product's SKU.")
    min_quantity: int = strawberry.field(default=1, description="The quantity break to remove.")


@strawberry.type(description="The result of customerPriceSet.")
class CustomerPriceSetPayload:
    customer_price: CustomerPrice | None = strawberry.field(description="The price as it is now.")
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type(description="The result of customerPriceDelete.")
class CustomerPriceDeletePayload:
    deleted: bool = strawberry.field(description="True when the price was removed.")
    errors: list[Error] = strawberry.field(description="Why nothing was removed.")


@strawberry.type
class CustomerPriceMutations:
    @strawberry.mutation(
        description="Set a customer's own price of a SKU from minQuantity units on, creating it or "
        "replacing the price and window of the same SKU and minQuantity (SALES_MANAGER, ADMIN)."
    )
    async def customer_price_set(
        self, info: AppInfo, input: CustomerPriceSetInput
    ) -> CustomerPriceSetPayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                v = await set_customer_price(
                    session,
                    p,
                    customer_id=pk("Customer", input.customer_id) or 0,
                    sku=input.sku,
                    unit_price=input.unit_price,
                    min_quantity=input.min_quantity,
                    valid_from=input.valid_from,
                    valid_to=input.valid_to,
                )
                await audit(info, session, encode_id("CustomerPrice", v.row.id))
        except DomainError as e:
            return CustomerPriceSetPayload(customer_price=None, errors=errors_of(e))
        return CustomerPriceSetPayload(customer_price=CustomerPrice.of(v, info.context.currency), errors=[])

    @strawberry.mutation(description="Remove a customer's own price of a SKU (SALES_MANAGER, ADMIN).")
    async def customer_price_delete(
        self, info: AppInfo, input: CustomerPriceDeleteInput
    ) -> CustomerPriceDeletePayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                gone = await delete_customer_price(
                    session,
                    p,
                    customer_id=pk("Customer", input.customer_id) or 0,
                    sku=input.sku,
                    min_quantity=input.min_quantity,
                )
                await audit(info, session, encode_id("CustomerPrice", gone))
        except DomainError as e:
            return CustomerPriceDeletePayload(deleted=False, errors=errors_of(e))
        return CustomerPriceDeletePayload(deleted=True, errors=[])
