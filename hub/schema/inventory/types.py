from __future__ import annotations

import strawberry

from hub.domain.inventory.models import Warehouse as WarehouseModel
from hub.schema.common import encode_id


@strawberry.type(description="A warehouse stock is held and shipped from.")
class Warehouse:
    id: strawberry.ID = strawberry.field(description="Opaque id.")
    code: str = strawberry.field(description="Unique code, used by stockSet and the WMS.")
    name: str = strawberry.field(description="Display name.")
    priority: int = strawberry.field(description="Reservations try warehouses by ascending priority.")

    @classmethod
    def of(cls, w: WarehouseModel) -> Warehouse:
        return cls(id=encode_id("Warehouse", w.id), code=w.code, name=w.name, priority=w.priority)


@strawberry.type(description="Stock of one SKU in one warehouse.")
class StockLevel:
    sku: str = strawberry.field(description="The product's SKU.")
    warehouse_code: str = strawberry.field(description="The warehouse's code.")
    on_hand: int = strawberry.field(description="Units physically there.")
    reserved: int = strawberry.field(description="Units held for open orders.")
