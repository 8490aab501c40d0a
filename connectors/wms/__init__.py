"""WMS connectors: outbound orders to the warehouse, shipments and stock reports back.

Built-ins (Qimen, and ``memory`` for trials) and third-party connectors implement
:class:`WmsConnector`. Pushes are idempotent at the peer by the hub's ``reference``. Callbacks arrive at
``POST /hooks/<connector>``: the hub hands the query parameters, headers and raw body to
:meth:`parse_callback` (Qimen signs its query parameters together with the body),
which verifies the signature (and the timestamp, where the scheme has one) **before** it parses
anything, and raises :class:`InvalidCallback` when either is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from connectors.sdk import Connector, ConnectorError, ExternalRef, StockLevel

__all__ = [
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
]


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
