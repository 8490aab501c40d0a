"""What the ERP and WMS report back: recorded once at ``POST /hooks/<role>``, applied once by
the ``inbound`` outbox handler; and stock levels pulled from a peer.

- **Shipment confirmed**: APPROVED → SHIPPED (the lifecycle's ``SHIP``), a timeline entry,
  ``order.shipped``; the order's reservations (in that warehouse, for a split order's part)
  leave on-hand stock.
- **Stock change** (a delta): applied once to on-hand (never below 0), except a decrease that
  names one of the hub's pushed orders: its shipment confirmation takes those goods out, so
  they are not counted twice (:func:`counted_by_shipment`).
- **Stock report** (a snapshot): applied per SKU and warehouse only if newer than the last one.

An event that can never apply (its payload outside :func:`connectors.wms.check_callback`'s
bounds: recorded before the hook checked them, or by a path that did not) is not retried: the
handler records it as a FAILED integration job (operation ``apply_inbound``, entity ``event``,
the payload and the reason), where staff see it (``integrationJobs(status: FAILED)``), and the
event counts as handled. The sender must send a corrected callback.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from connectors.sdk import StockLevel
from connectors.wms import (
    InvalidCallback,
    ShipmentConfirmed,
    ShippedLine,
    StockChanged,
    StockReport,
    WmsEvent,
    check_callback,
)
from hub.domain.base import utcnow
from hub.domain.catalog.models import Product
from hub.domain.integration.models import InboundEvent, IntegrationJob, JobStatus, StockMark
from hub.domain.inventory.models import Stock, Warehouse
from hub.domain.inventory.services import consume_order
from hub.domain.orders import events as order_events
from hub.domain.orders.lifecycle import RELEASED_TO_WAREHOUSE, OrderAction, move, transition
from hub.domain.orders.models import Order, OrderEvent, TimelineKind
from hub.domain.orders.numbers import parse_order_reference
from hub.domain.outbox.kinds import EventKind
from hub.domain.outbox.models import OutboxEvent
from hub.domain.outbox.services import record_event

__all__ = [
    "APPLY_INBOUND",
    "INBOUND_KINDS",
    "Drift",
    "apply_inbound",
    "apply_levels",
    "apply_shipment",
    "apply_stock_delta",
    "apply_stock_level",
    "counted_by_shipment",
    "drift",
    "hub_stock",
    "inbound_payloads",
    "inbound_problem",
    "record_inbound",
]

log = logging.getLogger("hub.domain.integration.inbound")

INBOUND_KINDS = frozenset(
    {EventKind.INBOUND_SHIPMENT, EventKind.INBOUND_STOCK_DELTA, EventKind.INBOUND_STOCK_LEVELS}
)
# The operation of the FAILED integration job that holds an inbound event that can never apply.
APPLY_INBOUND = "apply_inbound"


# --- pure rules --------------------------------------------------------------------------------


def inbound_payloads(events: Sequence[WmsEvent]) -> list[tuple[str, str, dict[str, Any]]]:
    """(sender's event id, kind, payload) for :func:`record_inbound`."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for e in events:
        if isinstance(e, ShipmentConfirmed):
            shipped = {
                "reference": e.reference,
                "shippedAt": e.shipped_at.isoformat(),
                "carrier": e.carrier,
                "trackingNumber": e.tracking_number,
                "lines": [[x.sku, x.quantity] for x in e.lines],
            }
            out.append((e.event_id, "shipment", shipped))
        elif isinstance(e, StockChanged):
            delta = {"sku": e.sku, "warehouse": e.warehouse_code, "delta": e.delta, "order": e.order_code}
            out.append((e.event_id, "stock_delta", delta))
        elif isinstance(e, StockReport):
            out.append((e.event_id, "stock_levels", {
                "warehouse": e.warehouse_code, "asOf": e.as_of.isoformat(),
                "levels": [[x.sku, x.warehouse_code, x.on_hand] for x in e.levels]}))  # fmt: skip
    return out


def inbound_problem(kind: str, payload: Mapping[str, Any]) -> str | None:
    """Why a recorded inbound payload of ``kind`` can never apply (malformed, or outside
    :func:`connectors.wms.check_callback`'s bounds), or None when it can."""
    at = utcnow()
    try:
        event: WmsEvent
        if kind == EventKind.INBOUND_SHIPMENT:
            event = ShipmentConfirmed(
                "recorded", payload["reference"], datetime.fromisoformat(payload["shippedAt"]),
                tuple(ShippedLine(sku, q) for sku, q in payload["lines"]),
                payload.get("carrier"), payload.get("trackingNumber"),
            )  # fmt: skip
        elif kind == EventKind.INBOUND_STOCK_DELTA:
            event = StockChanged(
                "recorded", payload["warehouse"], payload["sku"], payload["delta"], at, payload.get("order")
            )
        elif kind == EventKind.INBOUND_STOCK_LEVELS:
            as_of = datetime.fromisoformat(payload["asOf"])
            levels = tuple(StockLevel(sku, wh, q, as_of) for sku, wh, q in payload["levels"])
            event = StockReport("recorded", payload["warehouse"], as_of, levels)
        else:
            return f"unknown inbound kind {kind[:40]!r}"
        check_callback([event])
    except InvalidCallback as e:
        return e.message
    except (KeyError, TypeError, ValueError) as e:
        return f"malformed payload ({type(e).__name__})"
    return None


def counted_by_shipment(delta: int, order_status: str | None) -> bool:
    """Whether a stock change is the goods of one of the hub's pushed orders leaving the
    warehouse (a decrease naming an APPROVED, SHIPPED or COMPLETED order): that order's
    shipment confirmation takes them out of on-hand stock, so the change is not applied."""
    return delta < 0 and order_status in RELEASED_TO_WAREHOUSE


def newer(as_of: datetime, last: datetime | None) -> bool:
    """Whether a snapshot taken ``as_of`` may replace the one applied ``last`` (None: none)."""
    return last is None or as_of > last


@dataclass(frozen=True, slots=True)
class Drift:
    role: str
    sku: str
    warehouse: str
    hub: int | None  # None: the hub has no stock row for it
    peer: int | None  # None: the peer does not report it


def drift(
    role: str, ours: Mapping[tuple[str, str], int], theirs: Mapping[tuple[str, str], int]
) -> list[Drift]:
    """Where the hub's on-hand stock and ``role``'s differ, per (SKU, warehouse) in order. A
    peer that does not report what the hub holds none of is no drift."""
    out = []
    for key in sorted(set(ours) | set(theirs)):
        hub_qty, peer_qty = ours.get(key), theirs.get(key)
        if hub_qty != peer_qty and not (peer_qty is None and hub_qty == 0):
            out.append(Drift(role, key[0], key[1], hub_qty, peer_qty))
    return out


# --- in the caller's transaction -----------------------------------------------------------


async def record_inbound(
    session: AsyncSession, role: str, events: Iterable[tuple[str, str, dict[str, Any]]]
) -> list[int]:
    """Record received events ``(sender's event id, kind, payload)`` once each, each with the
    outbox event that applies it, in the caller's transaction; the outbox ids of the new ones
    (a replay records nothing)."""
    recorded = []
    for event_id, kind, payload in events:
        seen = await session.scalar(
            select(InboundEvent.id).where(InboundEvent.role == role, InboundEvent.event_id == event_id)
        )
        if seen is not None:
            continue
        session.add(InboundEvent(role=role, event_id=event_id, kind=kind, received_at=utcnow()))
        await session.flush()  # the unique constraint settles a race with a concurrent delivery
        recorded.append(
            await record_event(session, EventKind(f"inbound.{kind}"), "inbound", 0, {"role": role, **payload})
        )
    return recorded


async def apply_shipment(
    session: AsyncSession,
    reference: str,
    shipped_at: datetime,
    lines: Sequence[tuple[str, int]],
    carrier: str | None,
    tracking: str | None,
    source: str,
) -> bool:
    """The warehouse shipped an order, or one warehouse's part of a split order (reference
    ``SO…-<warehouse code>``): what was reserved for it there leaves on-hand stock, a timeline
    entry names the carrier and tracking number, and an APPROVED order becomes SHIPPED (at its
    first part). False (nothing written) for an unknown order, one neither APPROVED nor SHIPPED,
    or a part with nothing reserved any more (a repeated confirmation is not an error)."""
    parsed = parse_order_reference(reference)
    if parsed is None:
        return False
    order = await session.get(Order, parsed.order_id, with_for_update=True)
    if order is None:
        return False
    first = transition(OrderAction.SHIP).allows(order.status)
    if not (first or transition(OrderAction.SHIP_PART).allows(order.status)):
        return False
    warehouse_id = None
    if parsed.part:
        warehouse_id = await session.scalar(select(Warehouse.id).where(Warehouse.code == parsed.part))
        if warehouse_id is None:
            return False
    if first:
        await move(session, order.id, OrderAction.SHIP)
    if not await consume_order(session, order.id, warehouse_id) and not first:
        return False  # this part was confirmed before
    units = sum(q for _, q in lines)
    via = f" via {carrier}" if carrier else ""
    tracking_text = f", tracking {tracking}" if tracking else ""
    session.add(OrderEvent(order_id=order.id, at=shipped_at, kind=TimelineKind.SHIPPED.value,
                           message=f"Shipped {units} unit(s){via}{tracking_text}", actor=source))  # fmt: skip
    if first:
        await order_events.record(session, order_events.shipped(order.id, carrier, tracking))
    await session.flush()
    return True


async def _stock_row(session: AsyncSession, sku: str, warehouse_code: str) -> tuple[Stock | None, int, int]:
    product_id = await session.scalar(select(Product.id).where(Product.sku == sku))
    warehouse_id = await session.scalar(select(Warehouse.id).where(Warehouse.code == warehouse_code))
    if product_id is None or warehouse_id is None:
        return None, 0, 0
    stock = await session.scalar(
        select(Stock)
        .where(Stock.product_id == product_id, Stock.warehouse_id == warehouse_id)
        .with_for_update()
    )
    if stock is None:
        stock = Stock(
            product_id=product_id, warehouse_id=warehouse_id, on_hand=0, reserved=0, updated_at=utcnow()
        )
        session.add(stock)
        await session.flush()
    return stock, product_id, warehouse_id


async def apply_stock_delta(session: AsyncSession, sku: str, warehouse_code: str, delta: int) -> bool:
    """Add a reported change to on-hand stock (never below zero). False for an unknown SKU or
    warehouse."""
    stock, _, _ = await _stock_row(session, sku, warehouse_code)
    if stock is None:
        return False
    stock.on_hand = max(stock.on_hand + delta, 0)
    stock.updated_at = utcnow()
    await session.flush()
    return True


async def apply_stock_level(
    session: AsyncSession, sku: str, warehouse_code: str, on_hand: int, as_of: datetime, source: str
) -> bool:
    """Set on-hand stock from a snapshot, only if it is newer than the last snapshot applied
    to that product and warehouse. False when it is older (or the SKU/warehouse is unknown)."""
    stock, product_id, warehouse_id = await _stock_row(session, sku, warehouse_code)
    if stock is None:
        return False
    mark = await session.scalar(
        select(StockMark).where(StockMark.product_id == product_id, StockMark.warehouse_id == warehouse_id)
    )
    if not newer(as_of, None if mark is None else mark.as_of):
        return False
    if mark is None:
        session.add(StockMark(product_id=product_id, warehouse_id=warehouse_id, as_of=as_of, source=source))
    else:
        mark.as_of, mark.source = as_of, source
    stock.on_hand = max(on_hand, 0)
    stock.updated_at = utcnow()
    await session.flush()
    return True


async def apply_levels(session: AsyncSession, levels: Sequence[StockLevel], source: str) -> int:
    """Apply each of the levels ``source`` reported that is newer than the last snapshot; how
    many were applied."""
    applied = 0
    for level in levels:
        applied += await apply_stock_level(
            session, level.sku, level.warehouse_code, level.on_hand, level.as_of, source
        )
    return applied


async def hub_stock(session: AsyncSession) -> dict[tuple[str, str], int]:
    """On-hand stock per (SKU, warehouse code), as the hub counts it."""
    rows = await session.execute(
        select(Product.sku, Warehouse.code, Stock.on_hand)
        .join(Stock, Stock.product_id == Product.id)
        .join(Warehouse, Warehouse.id == Stock.warehouse_id)
    )
    return {(sku, wh): on_hand for sku, wh, on_hand in rows}


async def _order_status(session: AsyncSession, reference: Any) -> str | None:
    """The status of the hub's order ``reference`` names (None: not one of ours)."""
    parsed = parse_order_reference(str(reference)) if reference else None
    if parsed is None:
        return None
    return await session.scalar(select(Order.status).where(Order.id == parsed.order_id))


async def _dead_letter(session: AsyncSession, event: OutboxEvent, source: str, problem: str) -> None:
    """Keep an inbound event that can never apply where staff see it: a FAILED integration job."""
    log.warning("inbound event #%s from %s can never apply: %s", event.id, source, problem)
    now = utcnow()
    session.add(IntegrationJob(
        key=f"{source}:{APPLY_INBOUND}:event:{event.id}", role=source, operation=APPLY_INBOUND,
        entity="event", entity_id=event.id, event_id=event.id, payload=dict(event.payload),
        status=JobStatus.FAILED.value, attempts=1, max_attempts=1,
        last_error=f"{event.kind} can never apply: {problem}"[:1000], external_id=None,
        next_attempt_at=now, created_at=now, updated_at=now, finished_at=now,
    ))  # fmt: skip
    await session.flush()


async def apply_inbound(session: AsyncSession, event: OutboxEvent) -> None:
    """The ``inbound`` outbox handler: apply what a peer reported, in the claim's transaction
    (so exactly once)."""
    p = event.payload
    source = str(p.get("role", "peer"))[:60]
    problem = inbound_problem(event.kind, p)
    if problem is not None:
        await _dead_letter(session, event, source, problem)
        return
    if event.kind == EventKind.INBOUND_SHIPMENT:
        applied = await apply_shipment(
            session, str(p["reference"]), datetime.fromisoformat(p["shippedAt"]),
            [(str(s), int(q)) for s, q in p["lines"]], p.get("carrier"), p.get("trackingNumber"), source,
        )  # fmt: skip
        if not applied:
            log.info("shipment for %s not applied (unknown order or not APPROVED)", p["reference"])
    elif event.kind == EventKind.INBOUND_STOCK_DELTA:
        delta = int(p["delta"])
        if delta < 0 and counted_by_shipment(delta, await _order_status(session, p.get("order"))):
            log.info("stock change for order %s skipped: the shipment accounts for it", p["order"])
            return
        if not await apply_stock_delta(session, str(p["sku"]), str(p["warehouse"]), delta):
            log.info("stock change for unknown %s in %s ignored", p["sku"], p["warehouse"])
    elif event.kind == EventKind.INBOUND_STOCK_LEVELS:
        as_of = datetime.fromisoformat(p["asOf"])
        for sku, warehouse, on_hand in p["levels"]:
            await apply_stock_level(session, str(sku), str(warehouse), int(on_hand), as_of, source)
