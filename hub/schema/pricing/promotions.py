"""promotionCreate and promotionEnd: time-boxed promotions (促销)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from hub.domain.errors import DomainError
from hub.domain.pricing.management import PromotionInput, create_promotion, end_promotion
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, Error, encode_id, errors_of
from hub.schema.pricing.queries import pk
from hub.schema.pricing.types import Promotion, PromotionKind


@strawberry.input(description="A new promotion. Empty scope lists mean all.")
class PromotionCreateInput:
    name: str = strawberry.field(description="Display name, shown in the rules a price carries.")
    kind: PromotionKind = strawberry.field(description="What it gives.")
    value: Decimal | None = strawberry.field(
        default=None,
        description="PERCENT_OFF: percent, above 0 to 100; AMOUNT_OFF_PER_UNIT: off each unit, "
        "above 0; SPEND_THRESHOLD: off the order, above 0. Not for BUY_X_GET_Y.",
    )
    threshold: Decimal | None = strawberry.field(
        default=None, description="SPEND_THRESHOLD only: the matching lines' total to reach, above 0."
    )
    buy_quantity: int | None = strawberry.field(
        default=None, description="BUY_X_GET_Y only: units to buy, ≥ 1."
    )
    get_quantity: int | None = strawberry.field(
        default=None, description="BUY_X_GET_Y only: free units per buyQuantity, ≥ 1."
    )
    gift_sku: str | None = strawberry.field(
        default=None, description="BUY_X_GET_Y only: the gift's SKU; null: the product bought."
    )
    skus: list[str] = strawberry.field(default_factory=list, description="Products it applies to.")
    category_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Categories it applies to."
    )
    customer_group_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Customer groups it applies to."
    )
    customer_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list, description="Customers it applies to."
    )
    starts_at: datetime | None = strawberry.field(
        default=None, description="Starts (inclusive, with a time zone); null: at once."
    )
    ends_at: datetime | None = strawberry.field(
        default=None, description="Ends (exclusive, after startsAt); null: never."
    )
    exclusive: bool = strawberry.field(default=False, description="True: never stacks with other promotions.")
    priority: int = strawberry.field(default=0, description="Higher applies first (ties: older first).")
    applies_to_contract_prices: bool = strawberry.field(
        default=False, description="True: also on lines priced by a customer's own price."
    )
    usage_limit_per_customer: int | None = strawberry.field(
        default=None, description="How many orders of one customer may use it, ≥ 1; null: no limit."
    )


@strawberry.type(description="The result of promotionCreate.")
class PromotionCreatePayload:
    promotion: Promotion | None = strawberry.field(description="The new promotion.")
    errors: list[Error] = strawberry.field(description="Why nothing was created.")


@strawberry.type(description="The result of promotionEnd.")
class PromotionEndPayload:
    promotion: Promotion | None = strawberry.field(description="The promotion, now over.")
    errors: list[Error] = strawberry.field(description="Why nothing was changed.")


@strawberry.type
class PromotionMutations:
    @strawberry.mutation(description="Create a promotion (SALES_MANAGER, ADMIN).")
    async def promotion_create(
        self, info: AppInfo, input: PromotionCreateInput
    ) -> PromotionCreatePayload | None:
        p = info.context.principal
        if p is None:
            return None
        data = PromotionInput(
            name=input.name,
            kind=input.kind,
            value=input.value,
            threshold=input.threshold,
            buy_quantity=input.buy_quantity,
            get_quantity=input.get_quantity,
            gift_sku=input.gift_sku,
            skus=input.skus,
            category_ids=[pk("Category", i) or 0 for i in input.category_ids],
            customer_group_ids=[pk("CustomerGroup", i) or 0 for i in input.customer_group_ids],
            customer_ids=[pk("Customer", i) or 0 for i in input.customer_ids],
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            exclusive=input.exclusive,
            priority=input.priority,
            applies_to_contract_prices=input.applies_to_contract_prices,
            usage_limit_per_customer=input.usage_limit_per_customer,
        )
        try:
            async with info.context.db.write() as session:
                v = await create_promotion(session, p, data)
                await audit(info, session, encode_id("Promotion", v.row.id))
        except DomainError as e:
            return PromotionCreatePayload(promotion=None, errors=errors_of(e))
        return PromotionCreatePayload(promotion=Promotion.of(v, info.context.currency), errors=[])

    @strawberry.mutation(
        description="End a promotion now; orders already placed keep it (SALES_MANAGER, ADMIN)."
    )
    async def promotion_end(
        self, info: AppInfo, id: Annotated[strawberry.ID, strawberry.argument(description="The promotion.")]
    ) -> PromotionEndPayload | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.write() as session:
                v = await end_promotion(session, p, pk("Promotion", id) or 0)
                await audit(info, session, encode_id("Promotion", v.row.id))
        except DomainError as e:
            return PromotionEndPayload(promotion=None, errors=errors_of(e))
        return PromotionEndPayload(promotion=Promotion.of(v, info.context.currency), errors=[])
