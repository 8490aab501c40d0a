from __future__ import annotations

import strawberry

from hub.domain.orders.decisions import reject_order
from hub.schema.common import AppInfo
from hub.schema.orders.decide import run_order_change
from hub.schema.orders.payloads import OrderPayload


@strawberry.type
class OrderRejectMutation:
    @strawberry.mutation(
        description="Reject the order at its current step and release its stock (a user "
        "holding that step's role); `reason` is required."
    )
    async def order_reject(self, info: AppInfo, id: strawberry.ID, reason: str) -> OrderPayload | None:
        return await run_order_change(info, id, lambda s, p, pk: reject_order(s, p, pk, reason))
