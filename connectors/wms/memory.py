"""``memory``: a WMS kept in the hub process's memory, for trials, demos and tests.

Outbound orders live until the process stops; pushes are idempotent by reference. Callbacks are
JSON signed with HMAC-SHA256 of the body under ``secret`` (hex in header ``X-Memory-Signature``),
so the inbound path can be tried without a real warehouse. Quantities must be JSON integers
(``1.5``, ``"3"`` and ``true`` are refused), within :func:`connectors.wms.check_callback`'s bounds.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from connectors.sdk import CheckResult, ConnectorSettings, ExternalRef, SecretStr, StockLevel
from connectors.wms import (
    InvalidCallback,
    OutboundOrder,
    ShipmentConfirmed,
    ShippedLine,
    StockReport,
    UnauthenticCallback,
    WmsEvent,
    check_callback,
)

__all__ = ["MemoryWms"]


class MemoryWmsSettings(ConnectorSettings):
    secret: SecretStr = SecretStr("memory")


def _integer(value: object, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidCallback(f"{field} must be an integer")
    return value


def _string(value: object, field: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidCallback(f"{field} must be a string")
    return str(value)


class MemoryWms:
    Settings = MemoryWmsSettings

    def __init__(self, settings: MemoryWmsSettings) -> None:
        self.settings = settings
        self.outbound: dict[str, tuple[ExternalRef, OutboundOrder]] = {}
        self.cancelled: set[str] = set()
        self.stock: dict[tuple[str, str], int] = {}

    async def check(self) -> CheckResult:
        return CheckResult(True, f"in-memory WMS ({len(self.outbound)} outbound orders held)")

    async def aclose(self) -> None:
        return None

    async def push_outbound_order(self, order: OutboundOrder) -> ExternalRef:
        if order.reference not in self.outbound:
            n = len(self.outbound) + 1
            self.outbound[order.reference] = (ExternalRef(str(n), f"OUT-{n:06d}"), order)
        return self.outbound[order.reference][0]

    async def cancel_outbound_order(self, reference: str, external: ExternalRef | None) -> None:
        if reference in self.outbound:
            self.cancelled.add(reference)

    async def read_stock(self, skus: Sequence[str] | None = None) -> list[StockLevel]:
        now = datetime.now(UTC)
        wanted = None if skus is None else set(skus)
        return [
            StockLevel(sku, wh, q, now)
            for (sku, wh), q in sorted(self.stock.items())
            if wanted is None or sku in wanted
        ]

    def sign(self, body: bytes) -> str:
        key = self.settings.secret.get_secret_value().encode()
        return hmac.new(key, body, hashlib.sha256).hexdigest()

    def parse_callback(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[WmsEvent]:
        given = {k.lower(): v for k, v in headers.items()}.get("x-memory-signature", "")
        if not hmac.compare_digest(given.lower().encode(), self.sign(body).encode()):
            raise UnauthenticCallback("bad signature")
        try:
            doc = json.loads(body)
            if doc["type"] == "shipment":
                return check_callback(
                    [
                        ShipmentConfirmed(
                            _string(doc["id"], "id"),
                            _string(doc["reference"], "reference"),
                            datetime.fromisoformat(doc["shippedAt"]),
                            tuple(
                                ShippedLine(_string(x["sku"], "sku"), _integer(x["quantity"], "quantity"))
                                for x in doc["lines"]
                            ),
                        )
                    ]
                )
            if doc["type"] == "stock":
                at = datetime.fromisoformat(doc["asOf"])
                levels = tuple(
                    StockLevel(
                        _string(x["sku"], "sku"),
                        _string(doc["warehouse"], "warehouse"),
                        _integer(x["onHand"], "onHand"),
                        at,
                    )
                    for x in doc["levels"]
                )
                return check_callback(
                    [
                        StockReport(
                            _string(doc["id"], "id"), _string(doc["warehouse"], "warehouse"), at, levels
                        )
                    ]
                )
        except (ValueError, KeyError, TypeError) as e:
            raise InvalidCallback(f"malformed callback ({type(e).__name__})") from None
        raise InvalidCallback("unknown callback type")
