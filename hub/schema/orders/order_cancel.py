from __future__ import annotations

import strawberry

from hub.domain.orders.decisions import cancel_order
from hub.schema.common import AppInfo
from hub.schema.orders.decide import run_order_change
from hub.schema.orders.payloads import OrderPayload


@strawberry.type
class OrderCancelMutation:
    @strawberry.mutation(
        description="Cancel an order and release its stock. Customers: own orders while "
        "PENDING_APPROVAL; SALES_MANAGER/ADMIN: while PENDING_APPROVAL or APPROVED."
    )
    async def order_cancel(
        self, info: AppInfo, id: strawberry.ID, reason: str | None = None
    ) -> OrderPayload | None:
        return await run_order_change(info, id, lambda s, p, pk: cancel_order(s, p, pk, reason))
