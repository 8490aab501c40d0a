"""WMS connectors: outbound orders to the warehouse, shipments and stock reports back.

Built-ins (Qimen, and ``memory`` for trials) and third-party connectors implement
:class:`WmsConnector`. Pushes are idempotent at the peer by the hub's ``reference``. Callbacks arrive at
``POST /hooks/<connector>``: the hub hands the query parameters, headers and raw body to
:meth:`parse_callback` (Qimen signs its query parameters together with the body),
which verifies the signature (and the timestamp, where the scheme has one) **before** it parses
anything, and raises :class:`InvalidCallback` when either is wrong.

Every callback is held to the same bounds, whoever parsed it (:func:`check_callback`; the hub
applies it again to whatever a connector returns): quantities are integers within
±:data:`MAX_QUANTITY` (shipped quantities and stock levels not negative), SKUs, warehouse codes,
references and event ids of bounded length and free of :data:`connectors.sdk.UNSAFE_TEXT`. A
callback outside them is refused whole (the hub answers 400 and records nothing) rather than
accepted and then failing for ever when it is applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from connectors.sdk import UNSAFE_TEXT, Connector, ConnectorError, ExternalRef, StockLevel

__all__ = [
    "MAX_CODE",
    "MAX_EVENT_ID",
    "MAX_QUANTITY",
    "MAX_REFERENCE",
    "MAX_SKU",
    "MAX_TEXT",
    "InvalidCallback",
    "UnauthenticCallback",
    "OutboundLine",
    "OutboundOrder",
    "ShipmentConfirmed",
    "ShippedLine",
    "CallbackAnswer",
    "StockChanged",
    "StockReport",
    "WmsConnector",
    "WmsEvent",
    "check_callback",
    "parse_quantity",
]

# The bounds of what a WMS may report (the hub's columns and rules behind each).
MAX_QUANTITY = 1_000_000_000  # stock on hand (hub.domain.inventory.services), |delta|, a shipped line
MAX_SKU = 64  # products.sku
MAX_CODE = 40  # warehouses.code
MAX_REFERENCE = 64  # the hub's order references: SO + digits (+ -<warehouse code>)
MAX_EVENT_ID = 200  # inbound_events.event_id (Qimen outBizCode)
MAX_TEXT = 200  # carrier and tracking number, shown on the order's timeline
_INTEGER = re.compile(r"[+-]?[0-9]{1,10}")


@dataclass(frozen=True, slots=True)
class OutboundLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class OutboundOrder:
    """An approved order, as the warehouse should pick and ship it."""

    reference: str  # the hub's order number: the idempotency key at the peer (Qimen deliveryOrderCode)
    warehouse_code: str
    consignee_name: str
    consignee_phone: str | None
    address: str | None
    lines: tuple[OutboundLine, ...]
    note: str | None = None


@dataclass(frozen=True, slots=True)
class ShippedLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class ShipmentConfirmed:
    event_id: str  # the sender's unique id of this message (e.g. Qimen outBizCode)
    reference: str
    shipped_at: datetime
    lines: tuple[ShippedLine, ...]
    carrier: str | None = None
    tracking_number: str | None = None


@dataclass(frozen=True, slots=True)
class StockReport:
    event_id: str
    warehouse_code: str
    as_of: datetime  # applied only if newer than the last report applied
    levels: tuple[StockLevel, ...]


@dataclass(frozen=True, slots=True)
class StockChanged:
    """A change of on-hand stock reported as a delta (Qimen ``stockchange.report``), each with
    the sender's own id, applied once."""

    event_id: str
    warehouse_code: str
    sku: str
    delta: int
    changed_at: datetime
    order_code: str | None = None


WmsEvent = ShipmentConfirmed | StockReport | StockChanged


class InvalidCallback(ConnectorError):
    """A callback whose body is malformed or not understood (the hub answers 400)."""


class UnauthenticCallback(InvalidCallback):
    """A callback whose signature or timestamp does not verify (the hub answers 401)."""


def parse_quantity(text: str | None, field: str = "quantity") -> int:
    """A quantity written as text (XML): an optional sign and at most ten decimal digits, within
    ±:data:`MAX_QUANTITY` (the sign is :func:`check_callback`'s to judge).

    Raises:
        InvalidCallback: anything else (``1e20``, ``1.5``, ``1_000``, 10^20, blank).
    """
    value = (text or "").strip()
    if not _INTEGER.fullmatch(value) or abs(int(value)) > MAX_QUANTITY:
        raise InvalidCallback(f"{field} must be an integer between -{MAX_QUANTITY} and {MAX_QUANTITY}")
    return int(value)


def _text(value: object, field: str, max_len: int, *, required: bool = True) -> None:
    if value is None and not required:
        return
    if not isinstance(value, str) or not (1 if required else 0) <= len(value) <= max_len:
        raise InvalidCallback(f"{field} must be 1 to {max_len} characters")
    if UNSAFE_TEXT.search(value):
        raise InvalidCallback(f"{field} must not contain NUL or control characters")


def _quantity(value: object, field: str, *, signed: bool = False) -> None:
    low = -MAX_QUANTITY if signed else 0
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= MAX_QUANTITY:
        raise InvalidCallback(f"{field} must be an integer between {low} and {MAX_QUANTITY}")


def _moment(value: object, field: str) -> None:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidCallback(f"{field} must be a date and time with a time zone")


def check_callback(events: Sequence[WmsEvent]) -> list[WmsEvent]:
    """``events`` unchanged if every one of them is within the bounds above.

    Raises:
        InvalidCallback: naming the first value outside them.
    """
    for event in events:
        _text(event.event_id, "event id", MAX_EVENT_ID)
        if isinstance(event, ShipmentConfirmed):
            _text(event.reference, "reference", MAX_REFERENCE)
            _moment(event.shipped_at, "shipped at")
            _text(event.carrier, "carrier", MAX_TEXT, required=False)
            _text(event.tracking_number, "tracking number", MAX_TEXT, required=False)
            for line in event.lines:
                _text(line.sku, "sku", MAX_SKU)
                _quantity(line.quantity, "quantity")
        elif isinstance(event, StockChanged):
            _text(event.warehouse_code, "warehouse code", MAX_CODE)
            _text(event.sku, "sku", MAX_SKU)
            _quantity(event.delta, "quantity", signed=True)
            _moment(event.changed_at, "change time")
            _text(event.order_code, "order code", MAX_REFERENCE, required=False)
        elif isinstance(event, StockReport):
            _text(event.warehouse_code, "warehouse code", MAX_CODE)
            _moment(event.as_of, "as of")
            for level in event.levels:
                _text(level.sku, "sku", MAX_SKU)
                _text(level.warehouse_code, "warehouse code", MAX_CODE)
                _quantity(level.on_hand, "on hand")
        else:
            raise InvalidCallback(f"unknown event {type(event).__name__}")
    return list(events)


@runtime_checkable
class WmsConnector(Connector, Protocol):
    async def push_outbound_order(self, order: OutboundOrder) -> ExternalRef: ...

    async def cancel_outbound_order(self, reference: str, external: ExternalRef | None) -> None: ...

    async def read_stock(self, skus: Sequence[str] | None = None) -> list[StockLevel]: ...

    def parse_callback(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[WmsEvent]:
        """Verify, then parse a callback. Raises :class:`UnauthenticCallback` (signature or
        timestamp) before looking at the body, :class:`InvalidCallback` for a body it cannot use."""
        ...


class CallbackAnswer(Protocol):
    """Optional: a WMS that expects its own answer format (Qimen's ``<response>`` XML). Without
    it the hub answers JSON ``{"ok": true|false, "message": …}``."""

    def callback_answer(self, ok: bool, message: str) -> tuple[str, bytes]:
        """(content type, body) of the answer to a callback."""
        ...
