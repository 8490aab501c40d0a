from __future__ import annotations

import strawberry

from hub.domain.errors import DomainError
from hub.domain.orders.models import OrderStatus as DomainOrderStatus
from hub.domain.orders.queries import count_orders, get_order, list_orders
from hub.domain.orders.viewing import order_views
from hub.domain.pagination import encode_cursor
from hub.schema.common import AppInfo, PageInfo, decode_id, denied_as_null, wants
from hub.schema.orders.types import Order, OrderConnection, OrderEdge, OrderStatus


async def order_connection(
    info: AppInfo,
    first: int | None,
    after: str | None,
    status: DomainOrderStatus | None,
    customer_id: int | None = None,
) -> OrderConnection | None:
    p = info.context.principal
    if p is None:
        return None
    try:
        async with info.context.db.read() as session:
            page = await list_orders(
                session, p, first=first, after=after, status=status, customer_id=customer_id
            )
            total = (
                await count_orders(session, p, status=status, customer_id=customer_id)
                if wants(info, "totalCount")
                else None
            )
            views = await order_views(session, p, page.items)
    except DomainError as e:
        denied_as_null(e)
        return None
    c = info.context.currency
    edges = [
        OrderEdge(node=Order.of(o, c, v), cursor=encode_cursor("order", o.id))
        for o, v in zip(page.items, views, strict=True)
    ]
    return OrderConnection(
        edges=edges,
        page_info=PageInfo.of(edges, page),
        total_count=total,
    )


@strawberry.type
class OrderQueries:
    @strawberry.field(description="Orders the caller may see, newest first; filter by status.")
    async def orders(
        self,
        info: AppInfo,
        first: int | None = 20,
        after: str | None = None,
        status: OrderStatus | None = None,
    ) -> OrderConnection | None:
        return await order_connection(info, first, after, status)

    @strawberry.field(description="One order; null when missing or not the caller's.")
    async def order(self, info: AppInfo, id: strawberry.ID) -> Order | None:
        p = info.context.principal
        pk = decode_id("Order", id)
        if p is None or pk is None:
            return None
        async with info.context.db.read() as session:
            o = await get_order(session, p, pk)
            if o is None:
                return None
            (view,) = await order_views(session, p, [o])
        return Order.of(o, info.context.currency, view)
