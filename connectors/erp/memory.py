"""``memory``: an ERP kept in the hub process's memory, for trials, demos and tests.

Documents live until the process stops. It honours the ERP contract (pushes are idempotent by
reference, cancelling twice is harmless) and can be told to fail, to try the hub's retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from connectors.erp import PurchaseRequest, SalesOrder
from connectors.sdk import (
    CheckResult,
    ConnectorSettings,
    ExternalRef,
    PermanentError,
    SecretStr,
    StockLevel,
    TransientError,
)

__all__ = ["MemoryErp"]


class MemoryErpSettings(ConnectorSettings):
    prefix: str = "MEM"  # external numbers are <prefix>-<n>
    fail: Literal["never", "transient", "permanent"] = "never"
    token: SecretStr | None = None  # unused; shows how a secret setting is declared


class MemoryErp:
    Settings = MemoryErpSettings

    def __init__(self, settings: MemoryErpSettings) -> None:
        self.settings = settings
        self.sales: dict[str, tuple[ExternalRef, SalesOrder]] = {}
        self.cancelled: set[str] = set()
        self.purchases: dict[str, tuple[ExternalRef, PurchaseRequest]] = {}
        self.stock: dict[tuple[str, str], int] = {}
        self._next = 0

    def _fail(self) -> None:
        if self.settings.fail == "transient":
            raise TransientError("memory ERP told to fail (transient)")
        if self.settings.fail == "permanent":
            raise PermanentError("memory ERP told to fail (permanent)", code="MEMORY")

    def _ref(self) -> ExternalRef:
        self._next += 1
        return ExternalRef(str(self._next), f"{self.settings.prefix}-{self._next:06d}")

    async def check(self) -> CheckResult:
        self._fail()
        return CheckResult(True, f"in-memory ERP ({len(self.sales)} sales orders held)")

    async def aclose(self) -> None:
        return None

    async def push_sales_order(self, order: SalesOrder) -> ExternalRef:
        self._fail()
        if order.reference not in self.sales:
            self.sales[order.reference] = (self._ref(), order)
        return self.sales[order.reference][0]

    async def cancel_sales_order(self, reference: str, external: ExternalRef | None) -> None:
        self._fail()
        if reference in self.sales:
            self.cancelled.add(reference)

    async def push_purchase_request(self, request: PurchaseRequest) -> ExternalRef:
        self._fail()
        if request.reference not in self.purchases:
            self.purchases[request.reference] = (self._ref(), request)
        return self.purchases[request.reference][0]

    async def read_stock(self, skus: Sequence[str] | None = None) -> list[StockLevel]:
        self._fail()
        now = datetime.now(UTC)
        wanted = None if skus is None else set(skus)
        return [
            StockLevel(sku, wh, qty, now)
            for (sku, wh), qty in sorted(self.stock.items())
            if wanted is None or sku in wanted
        ]
