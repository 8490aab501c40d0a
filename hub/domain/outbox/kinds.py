"""The kinds of events the hub records in its outbox: one enum, used by every path that writes
or reads one (the order services, the PostgreSQL placement statement, the integration engine's
routing and its notification texts)."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["EventKind"]


class EventKind(StrEnum):
    ORDER_PLACED = "order.placed"
    ORDER_APPROVED = "order.approved"
    ORDER_REJECTED = "order.rejected"
    ORDER_CANCELLED = "order.cancelled"
    ORDER_SHIPPED = "order.shipped"
    REPLENISHMENT_REQUESTED = "replenishment.requested"
    INBOUND_SHIPMENT = "inbound.shipment"
    INBOUND_STOCK_DELTA = "inbound.stock_delta"
    INBOUND_STOCK_LEVELS = "inbound.stock_levels"
