"""Batching ``Customer.orders``: one read per level of a query, not one per customer.

A list of customers (``customers``, or the orders of a page each naming its customer) asks each
for its orders; the loader gathers those asks and reads every page at once through
:func:`hub.domain.orders.queries.list_orders_of_customers` (the same visibility rules as
``orders``), the counts through :func:`~hub.domain.orders.queries.count_orders_of_customers`
when ``totalCount`` is selected, and the people on the orders once
(:func:`hub.domain.orders.viewing.order_views`). The answers are those of
:func:`hub.schema.orders.queries.order_connection` for each customer.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.domain.errors import DomainError
from hub.domain.orders.models import Order as OrderModel
from hub.domain.orders.models import OrderStatus as DomainOrderStatus
from hub.domain.orders.queries import count_orders_of_customers, list_orders_of_customers
from hub.domain.orders.viewing import OrderView, order_views
from hub.domain.pagination import Page, encode_cursor
from hub.schema.common import AppInfo, PageInfo, denied_as_null, wants
from hub.schema.orders.types import Order, OrderConnection, OrderEdge

__all__ = ["orders_of_customer"]

# (customer id, first, after, status, totalCount wanted)
_Key = tuple[int, int | None, str | None, DomainOrderStatus | None, bool]
_Ask = tuple[int | None, str | None, DomainOrderStatus | None, bool]


async def orders_of_customer(
    info: AppInfo,
    customer_id: int,
    first: int | None,
    after: str | None,
    status: DomainOrderStatus | None,
) -> OrderConnection | None:
    """The customer's page of orders as ``orders(first, after, status)`` would answer it for
    that customer; null for anonymous callers and customers the caller may not see."""
    p = info.context.principal
    if p is None:
        return None
    db, currency = info.context.db, info.context.currency

    async def load(keys: Sequence[_Key]) -> list[OrderConnection | None | BaseException]:
        asks: dict[_Ask, list[int]] = {}
        for c, *ask in keys:
            asks.setdefault(tuple(ask), []).append(c)  # type: ignore[arg-type]
        found: dict[_Key, OrderConnection | None | BaseException] = {}
        async with db.read() as session:
            for (first, after, status, total), ids in asks.items():
                try:
                    pages = await list_orders_of_customers(
                        session, p, ids, first=first, after=after, status=status
                    )
                    counts = await count_orders_of_customers(session, p, ids, status=status) if total else {}
                    orders = [o for page in pages.values() for o in page.items]
                    views = dict(zip(map(id, orders), await order_views(session, p, orders), strict=True))
                except DomainError as e:
                    for c in ids:
                        found[(c, first, after, status, total)] = e
                    continue
                for c in ids:
                    page = pages.get(c)
                    found[(c, first, after, status, total)] = (
                        None if page is None else _connection(page, views, counts.get(c), currency)
                    )
        return [found[k] for k in keys]

    loader = info.context.loader("customer.orders", load)
    try:
        return await loader.load((customer_id, first, after, status, wants(info, "totalCount")))
    except DomainError as e:
        denied_as_null(e)
        return None


def _connection(
    page: Page[OrderModel], views: dict[int, OrderView], total: int | None, currency: str
) -> OrderConnection:
    edges = [
        OrderEdge(node=Order.of(o, currency, views[id(o)]), cursor=encode_cursor("order", o.id))
        for o in page.items
    ]
    return OrderConnection(edges=edges, page_info=PageInfo.of(edges, page), total_count=total)
