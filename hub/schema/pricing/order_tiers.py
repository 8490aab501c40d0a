"""orderAmountTiersSet: a customer group's order-amount tiers."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from hub.domain.errors import DomainError
from hub.domain.pricing.management import TierInput, set_order_amount_tiers
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, encode_id, errors_of
from hub.schema.pricing.queries import pk
from hub.schema.pricing.types import OrderAmountTier


@strawberry.input(description="One order-amount tier: percentOff the subtotal from minAmount on.")
class OrderAmountTierInput:
    min_amount: Decimal = strawberry.field(description="The subtotal from which it applies, ≥ 0.")
    percent_off: Decimal = strawberry.field(description="Percent off, above 0 to 100, at most 2 decimals.")


@strawberry.type(description="The result of orderAmountTiersSet.")
class OrderAmountTiersSetPayload:
    tiers: list[OrderAmountTier] | None = strawberry.field(description="The group's tiers now, by minAmount.")
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type
class OrderAmountTiersSetMutation:
    @strawberry.mutation(
        description="Make these the customer group's order-amount tiers, replacing all it had; an "
        "empty list clears them (SALES_MANAGER, ADMIN)."
    )
    async def order_amount_tiers_set(
        self,
        info: AppInfo,
        customer_group_id: Annotated[strawberry.ID, strawberry.argument(description="The customer group.")],
        tiers: Annotated[list[OrderAmountTierInput], strawberry.argument(description="The new tiers.")],
    ) -> OrderAmountTiersSetPayload | None:
        p = info.context.principal
        if p is None:
            return None
        group_id = pk("CustomerGroup", customer_group_id) or 0
        entries = [TierInput(t.min_amount, t.percent_off) for t in tiers]
        try:
            async with info.context.db.write() as session:
                rows = await set_order_amount_tiers(session, p, group_id, entries)
                await audit(info, session, encode_id("CustomerGroup", group_id))
        except DomainError as e:
            return OrderAmountTiersSetPayload(tiers=None, errors=errors_of(e))
        c = info.context.currency
        return OrderAmountTiersSetPayload(tiers=[OrderAmountTier.of(t, c) for t in rows], errors=[])
