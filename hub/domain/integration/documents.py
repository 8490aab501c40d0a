"""The documents the hub sends its peers, built from its orders: a sales order for the ERP, an
outbound order per warehouse for the WMS, a purchase request for a replenishment.

The builders are pure (an order loaded with its lines and customer in, a connector contract's
frozen dataclass out); the loaders read what they need in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from connectors.erp import PurchaseLine, PurchaseRequest, SalesLine, SalesOrder
from connectors.sdk import PermanentError
from connectors.wms import OutboundLine, OutboundOrder
from hub.domain.integration.leases import NotWanted
from hub.domain.inventory.models import Reservation, Stock, Warehouse
from hub.domain.orders.models import Order, OrderStatus
from hub.domain.orders.numbers import part_reference

__all__ = [
    "load_order",
    "outbound_order",
    "outbound_order_of",
    "purchase_request",
    "reference",
    "sales_order",
    "sales_order_of",
]


def reference(number: str, payload: Mapping[str, Any]) -> str:
    """The reference a warehouse job's document carries: the number, or ``SO…-<warehouse>``
    for a split order's part."""
    return part_reference(number, str(payload["warehouse"]) if payload.get("split") else None)


def sales_order(order: Order) -> SalesOrder:
    """The ERP's sales order of ``order`` (loaded with its lines and customer)."""
    lines = tuple(
        SalesLine(x.line_no, x.sku, x.name, x.quantity, x.unit_price, x.line_total) for x in order.lines
    )
    return SalesOrder(
        order.number,
        order.customer.code,
        order.customer.name,
        order.currency,
        lines,
        order.total,
        order.created_at,
        order.note,
    )


def outbound_order(order: Order, payload: Mapping[str, Any], reserved: Mapping[int, int]) -> OutboundOrder:
    """The WMS's outbound order of ``order`` for the warehouse in ``payload``: the quantities
    reserved there (``reserved``: product id → quantity), in product order.

    Raises:
        PermanentError: the order holds no stock in that warehouse.
    """
    warehouse = str(payload["warehouse"])
    sku = {x.product_id: x.sku for x in order.lines}
    lines = tuple(OutboundLine(sku[p], q) for p, q in sorted(reserved.items()) if p in sku)
    if not lines:
        raise PermanentError(f"order {order.number} holds no stock in warehouse {warehouse}")
    return OutboundOrder(reference(order.number, payload), warehouse, order.customer.name, None, None, lines,
                         order.note)  # fmt: skip


def purchase_request(payload: Mapping[str, Any]) -> PurchaseRequest:
    """The ERP's purchase request of a replenishment request's payload.

    Raises:
        PermanentError: the payload is incomplete.
    """
    try:
        return PurchaseRequest(
            reference=str(payload["reference"]),
            warehouse_code=str(payload["warehouse"]),
            lines=tuple(PurchaseLine(str(x["sku"]), int(x["quantity"])) for x in payload["lines"]),
            note=payload.get("note"),
        )
    except (KeyError, TypeError, ValueError) as e:
        raise PermanentError(f"replenishment request is incomplete ({type(e).__name__})") from None


async def load_order(session: AsyncSession, order_id: int) -> Order:
    """The order with its lines and customer.

    Raises:
        PermanentError: no such order.
    """
    order = await session.scalar(
        select(Order)
        .where(Order.id == order_id)
        .options(selectinload(Order.lines), selectinload(Order.customer))
    )
    if order is None:
        raise PermanentError(f"order {order_id} does not exist")
    return order


async def _live_order(session: AsyncSession, order_id: int) -> Order:
    order = await load_order(session, order_id)
    if order.status == OrderStatus.CANCELLED:
        raise NotWanted
    return order


async def sales_order_of(session: AsyncSession, order_id: int) -> SalesOrder:
    """The sales order to push for ``order_id``.

    Raises:
        NotWanted: the order was cancelled. PermanentError: no such order.
    """
    return sales_order(await _live_order(session, order_id))


async def _reserved(session: AsyncSession, order_id: int, warehouse: str) -> dict[int, int]:
    rows = await session.execute(
        select(Reservation.quantity, Stock.product_id)
        .join(Stock, Stock.id == Reservation.stock_id)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
        .where(Reservation.order_id == order_id, Warehouse.code == warehouse)
    )
    by_product: dict[int, int] = {}
    for quantity, product_id in rows:
        by_product[product_id] = by_product.get(product_id, 0) + quantity
    return by_product


async def outbound_order_of(
    session: AsyncSession, order_id: int, payload: Mapping[str, Any]
) -> OutboundOrder:
    """The outbound order to push for ``order_id`` to the warehouse in ``payload``.

    Raises:
        NotWanted: the order was cancelled. PermanentError: no such order, or no stock there.
    """
    order = await _live_order(session, order_id)
    return outbound_order(order, payload, await _reserved(session, order.id, str(payload["warehouse"])))
