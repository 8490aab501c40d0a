"""priceListCreate and priceListItemsSet: a customer group's price lists (价目表)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from hub.domain.errors import DomainError
from hub.domain.pricing.management import ItemInput, create_price_list, set_price_list_items
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, encode_id, errors_of
from hub.schema.pricing.queries import pk
from hub.schema.pricing.types import PriceList


@strawberry.input(description="A new price list of a customer group.")
class PriceListCreateInput:
    code: str = strawberry.field(description="Unique code: letters, digits and . _ - / (at most 40).")
    name: str = strawberry.field(description="Display name.")
    customer_group_id: strawberry.ID = strawberry.field(description="The group it prices for.")
    valid_from: datetime | None = strawberry.field(
        default=None, description="Valid from (inclusive, with a time zone); null: always."
    )
    valid_to: datetime | None = strawberry.field(
        default=None, description="Valid until (exclusive, after validFrom); null: no end."
    )
    priority: int = strawberry.field(
        default=0, description="Of a group's valid lists the highest is tried first."
    )


@strawberry.input(description="One price of a price list.")
class PriceListItemInput:
    sku: str = strawberry.field(description="The product's SKU.")
    unit_price: Decimal = strawberry.field(description="Price of one unit, ≥ 0, at most 2 decimals.")
    min_quantity: int = strawberry.field(default=1, description="From how many units on (1 to 1,000,000).")


@strawberry.type(description="The result of priceListCreate.")
class PriceListCreatePayload:
    price_list: PriceList | None = strawberry.field(description="The new, empty list.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.type(description="The result of priceListItemsSet.")
class PriceListItemsSetPayload:
    price_list: PriceList | None = strawberry.field(
        description="The list with all its prices as they are now."
    )
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type
class PriceListMutations:
    @strawberry.mutation(description="Create a price list for a customer group (SALES_MANAGER, ADMIN).")
    async def price_list_create(
        self, info: AppInfo, input: PriceListCreateInput
    ) -> PriceListCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                v = await create_price_list(
                    session,
                    p,
                    code=input.code,
                    name=input.name,
                    customer_group_id=pk("CustomerGroup", input.customer_group_id) or 0,
                    valid_from=input.valid_from,
                    valid_to=input.valid_to,
                    priority=input.priority,
                )
                await audit(info, session, encode_id("PriceList", v.row.id))
        except DomainError as e:
            return PriceListCreatePayload(price_list=None, errors=errors_of(e))
        return PriceListCreatePayload(price_list=PriceList.of(v, info.context.currency), errors=[])

    @strawberry.mutation(
        description="Replace a price list's prices for the SKUs named with these (prices of other "
        "SKUs stay) (SALES_MANAGER, ADMIN). At most 1000 items."
    )
    async def price_list_items_set(
        self,
        info: AppInfo,
        price_list_id: Annotated[strawberry.ID, strawberry.argument(description="The price list.")],
        items: Annotated[list[PriceListItemInput], strawberry.argument(description="The new prices.")],
    ) -> PriceListItemsSetPayload | None:
        p = info.context.principal
        if p is None:
            return None
        entries = [ItemInput(i.sku, i.unit_price, i.min_quantity) for i in items]
        try:
            async with info.context.db.write() as session:
                v = await set_price_list_items(session, p, pk("PriceList", price_list_id) or 0, entries)
                await audit(info, session, encode_id("PriceList", v.row.id))
        except DomainError as e:
            return PriceListItemsSetPayload(price_list=None, errors=errors_of(e))
        return PriceListItemsSetPayload(price_list=PriceList.of(v, info.context.currency), errors=[])
