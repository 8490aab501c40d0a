"""The shared shape of the mutations that change an existing order."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from hub.domain.auth.principal import Principal
from hub.domain.errors import DomainError
from hub.domain.orders.models import Order as OrderModel
from hub.domain.orders.viewing import order_views
from hub.schema.audit.record import audit
from hub.schema.common import AppInfo, decode_id, encode_id, errors_of
from hub.schema.orders.payloads import OrderPayload
from hub.schema.orders.types import Order

Change = Callable[[AsyncSession, Principal, int], Awaitable[OrderModel]]


async def run_order_change(info: AppInfo, order_id: str, change: Change) -> OrderPayload | None:
    """Decode the id, run ``change`` in one write transaction and map the outcome."""
    p = info.context.principal
    if p is None:
        return None
    pk = decode_id("Order", order_id) or 0  # a foreign id is an order no one can see
    try:
        async with info.context.db.write() as session:
            order = await change(session, p, pk)
            await audit(info, session, encode_id("Order", order.id))
            (view,) = await order_views(session, p, [order])
    except DomainError as e:
        return OrderPayload(order=None, errors=errors_of(e))
    return OrderPayload(order=Order.of(order, info.context.currency, view), errors=[])
