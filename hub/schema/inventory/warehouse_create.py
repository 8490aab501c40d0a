from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.inventory.services import create_warehouse
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, encode_id, errors_of
from hub.schema.inventory.types import Warehouse


@strawberry.input(description="A new warehouse.")
class WarehouseCreateInput:
    code: str = strawberry.field(description="Unique code.")
    name: str = strawberry.field(description="Display name.")
    priority: int = strawberry.field(
        default=100, description="Reservations try warehouses by ascending priority (0-10000)."
    )


@strawberry.type(description="The result of warehouseCreate.")
class WarehouseCreatePayload:
    warehouse: Warehouse | None = strawberry.field(description="The new warehouse.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.type
class WarehouseCreateMutation:
    @strawberry.mutation(description="Add a warehouse (ADMIN).")
    async def warehouse_create(
        self, info: AppInfo, input: WarehouseCreateInput
    ) -> WarehouseCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                w = await create_warehouse(
                    session, p, code=input.code, name=input.name, priority=input.priority
                )
                await audit(info, session, encode_id("Warehouse", w.id))
        except DomainError as e:
            return WarehouseCreatePayload(warehouse=None, errors=errors_of(e))
        return WarehouseCreatePayload(warehouse=Warehouse.of(w), errors=[])
