"""Reading the pricing rules: staff only; null for anyone else (customer users included)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from hub.domain.errors import DomainError
from hub.domain.pagination import encode_cursor
from hub.domain.pricing.management import (
    Target,
    customer_price_cursor,
    list_customer_prices,
    list_order_amount_tiers,
    list_price_lists,
    list_promotions,
    list_visibility_rules,
)
from hub.schema.common import AppInfo, PageInfo, decode_id, denied_as_null
from hub.schema.pricing.types import (
    CustomerPrice,
    CustomerPriceConnection,
    CustomerPriceEdge,
    OrderAmountTier,
    PriceList,
    Promotion,
    PromotionConnection,
    PromotionEdge,
    VisibilityRule,
)


def pk(kind: str, value: strawberry.ID | None) -> int | None:
    """None for null; an id of another kind becomes 0, which nothing has."""
    return None if value is None else decode_id(kind, value) or 0


GroupId = Annotated[strawberry.ID, strawberry.argument(description="The customer group.")]


@strawberry.type
class PricingQueries:
    @strawberry.field(
        description="A customer group's price lists with their prices, in the order they are tried "
        "(priority, then newest). Staff only; null otherwise."
    )
    async def price_lists(self, info: AppInfo, customer_group_id: GroupId) -> list[PriceList] | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                rows = await list_price_lists(session, p, pk("CustomerGroup", customer_group_id) or 0)
        except DomainError as e:
            denied_as_null(e)
            return None
        return [PriceList.of(v, info.context.currency) for v in rows]

    @strawberry.field(description="A customer's own prices (一客一价), by SKU. Staff only; null otherwise.")
    async def customer_prices(
        self,
        info: AppInfo,
        customer_id: Annotated[strawberry.ID, strawberry.argument(description="The customer.")],
        first: int | None = 20,
        after: str | None = None,
    ) -> CustomerPriceConnection | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                page = await list_customer_prices(
                    session, p, pk("Customer", customer_id) or 0, first=first, after=after
                )
        except DomainError as e:
            denied_as_null(e)
            return None
        c = info.context.currency
        edges = [
            CustomerPriceEdge(node=CustomerPrice.of(v, c), cursor=customer_price_cursor(v))
            for v in page.items
        ]
        return CustomerPriceConnection(edges=edges, page_info=PageInfo.of(edges, page))

    @strawberry.field(
        description="A customer group's order-amount tiers, by minAmount. Staff only; null otherwise."
    )
    async def order_amount_tiers(
        self, info: AppInfo, customer_group_id: GroupId
    ) -> list[OrderAmountTier] | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                rows = await list_order_amount_tiers(session, p, pk("CustomerGroup", customer_group_id) or 0)
        except DomainError as e:
            denied_as_null(e)
            return None
        return [OrderAmountTier.of(t, info.context.currency) for t in rows]

    @strawberry.field(description="Promotions, newest first. Staff only; null otherwise.")
    async def promotions(
        self,
        info: AppInfo,
        first: int | None = 20,
        after: str | None = None,
        active_only: Annotated[
            bool, strawberry.argument(description="Only those in effect now (started and not over).")
        ] = True,
    ) -> PromotionConnection | None:
        p = info.context.principal
        if p is None:
            return None
        try:
            async with info.context.db.read() as session:
                page = await list_promotions(session, p, first=first, after=after, active_only=active_only)
        except DomainError as e:
            denied_as_null(e)
            return None
        c = info.context.currency
        edges = [
            PromotionEdge(node=Promotion.of(v, c), cursor=encode_cursor("promotion", v.row.id))
            for v in page.items
        ]
        return PromotionConnection(edges=edges, page_info=PageInfo.of(edges, page))

    @strawberry.field(
        description="A customer group's or a customer's visibility rules (give exactly one): ALLOW "
        "then DENY. Staff only; null otherwise."
    )
    async def visibility_rules(
        self,
        info: AppInfo,
        customer_group_id: Annotated[
            strawberry.ID | None, strawberry.argument(description="The customer group.")
        ] = None,
        customer_id: Annotated[strawberry.ID | None, strawberry.argument(description="The customer.")] = None,
    ) -> list[VisibilityRule] | None:
        p = info.context.principal
        if p is None:
            return None
        target = Target(pk("CustomerGroup", customer_group_id), pk("Customer", customer_id))
        try:
            async with info.context.db.read() as session:
                rows = await list_visibility_rules(session, p, target)
        except DomainError as e:
            denied_as_null(e)
            return None
        return [VisibilityRule.of(v) for v in rows]
