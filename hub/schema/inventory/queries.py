from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.inventory.services import list_warehouses
from hub.schema.common import AppInfo, denied_as_null
from hub.schema.inventory.types import Warehouse


@strawberry.type
class InventoryQueries:
    @strawberry.field(description="All warehouses in reservation order. Staff only; null otherwise.")
    async def warehouses(self, info: AppInfo) -> list[Warehouse] | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                return [Warehouse.of(w) for w in await list_warehouses(session, p)]
        except DomainError as e:
            denied_as_null(e)  # customer users: null
            return None
