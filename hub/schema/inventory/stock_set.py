from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.inventory.services import set_stock
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, errors_of
from hub.schema.inventory.types import StockLevel


@strawberry.input(description="A counted on-hand quantity.")
class StockSetInput:
    sku: str = strawberry.field(description="The product's SKU.")
    warehouse_code: str = strawberry.field(description="The warehouse's code.")
    quantity: int = strawberry.field(description="Units on hand, ≥ 0.")


@strawberry.type(description="The result of stockSet.")
class StockSetPayload:
    stock: StockLevel | None = strawberry.field(description="The stock level after the change.")
    errors: list[Error] = strawberry.field(description="Why nothing changed.")


@strawberry.type
class StockSetMutation:
    @strawberry.mutation(
        description="Set the on-hand quantity of a SKU in a warehouse (ADMIN or WAREHOUSE). "
        "Reserved stock is kept; on hand below reserved shows as 0 available."
    )
    async def stock_set(self, info: AppInfo, input: StockSetInput) -> StockSetPayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                s = await set_stock(
                    session, p, sku=input.sku, warehouse_code=input.warehouse_code, quantity=input.quantity
                )
                # A stock level has no GraphQL id: its SKU and warehouse code name it.
                await audit(info, session, f"{s.sku}@{s.warehouse_code}")
        except DomainError as e:
            return StockSetPayload(stock=None, errors=errors_of(e))
        return StockSetPayload(
            stock=StockLevel(
                sku=s.sku, warehouse_code=s.warehouse_code, on_hand=s.on_hand, reserved=s.reserved
            ),
            errors=[],
        )
