"""ERP connectors: what the hub sends to the supplier's ERP and reads back from it.

Built-ins (Kingdee K/3 Cloud REST, Dynamics NAV SOAP) and third-party connectors
implement :class:`ErpConnector`; a connector that can read a customer's credit also implements
:class:`CreditReader`. Every push is **idempotent at the peer**: before creating a document the
connector looks it up by the hub's ``reference`` (the order number) and returns the existing one,
so a retried job never creates a second sales order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Protocol, runtime_checkable

from connectors.sdk import Connector, ExternalRef, StockLevel

__all__ = [
    "CreditInfo",
    "CreditReader",
    "ErpConnector",
    "PurchaseLine",
    "PurchaseRequest",
    "SalesLine",
    "SalesOrder",
]


@dataclass(frozen=True, slots=True)
class SalesLine:
    line_no: int
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal


@dataclass(frozen=True, slots=True)
class SalesOrder:
    """An approved order, as the ERP should book it."""

    reference: str  # the hub's order number (e.g. SO000123): the idempotency key at the peer
    customer_code: str
    customer_name: str
    currency: str
    lines: tuple[SalesLine, ...]
    total: Decimal
    placed_at: datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class PurchaseLine:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class PurchaseRequest:
    """A replenishment request for purchasing."""

    reference: str
    warehouse_code: str
    lines: tuple[PurchaseLine, ...]
    needed_by: date | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class CreditInfo:
    customer_code: str
    currency: str
    limit: Decimal | None  # None: no limit set in the ERP
    outstanding: Decimal


@runtime_checkable
class ErpConnector(Connector, Protocol):
    async def push_sales_order(self, order: SalesOrder) -> ExternalRef:
        """Create (or find, by ``order.reference``) the sales order; its reference at the peer."""
        ...

    async def cancel_sales_order(self, reference: str, external: ExternalRef | None) -> None:
        """Cancel or close it. Cancelling what the peer does not have, or has cancelled, is not
        an error."""
        ...

    async def push_purchase_request(self, request: PurchaseRequest) -> ExternalRef:
        """Create (or find, by ``request.reference``) the purchase request."""
        ...

    async def read_stock(self, skus: Sequence[str] | None = None) -> list[StockLevel]:
        """On-hand quantities per SKU and warehouse; all SKUs when ``skus`` is None."""
        ...


@runtime_checkable
class CreditReader(Protocol):
    """Optional: an ERP that keeps customers' credit limits and open balances."""

    async def read_credit(self, customer_code: str) -> CreditInfo: ...
