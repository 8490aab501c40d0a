from __future__ import annotations

import strawberry

from hub.domain.orders.decisions import approve_order
from hub.schema.common import AppInfo
from hub.schema.orders.decide import run_order_change
from hub.schema.orders.payloads import OrderPayload


@strawberry.type
class OrderApproveMutation:
    @strawberry.mutation(description="Approve the order's current step (a user holding that step's role).")
    async def order_approve(
        self, info: AppInfo, id: strawberry.ID, comment: str | None = None
    ) -> OrderPayload | None:
        return await run_order_change(info, id, lambda s, p, pk: approve_order(s, p, pk, comment))
