"""Every built-in connector passes the contract suite of its kind."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from connectors.erp.memory import MemoryErp
from connectors.erp.testing import ErpContract
from connectors.notify.log import LogNotifier
from connectors.notify.testing import NotifierContract
from connectors.wms.memory import MemoryWms
from connectors.wms.testing import WmsContract


class TestMemoryErp(ErpContract):
    async def make_connector(self) -> MemoryErp:
        return MemoryErp(MemoryErp.Settings())

    def seed_stock(self, connector: Any, sku: str, warehouse_code: str, on_hand: int) -> None:
        connector.stock[(sku, warehouse_code)] = on_hand

    def is_cancelled(self, connector: Any, reference: str) -> bool:
        return reference in connector.cancelled


class TestMemoryWms(WmsContract):
    async def make_connector(self) -> MemoryWms:
        return MemoryWms(MemoryWms.Settings(secret="contract"))

    def seed_stock(self, connector: Any, sku: str, warehouse_code: str, on_hand: int) -> None:
        connector.stock[(sku, warehouse_code)] = on_hand

    def is_cancelled(self, connector: Any, reference: str) -> bool:
        return reference in connector.cancelled

    def signed_callback(self, connector: Any, reference: str) -> tuple[dict[str, str], dict[str, str], bytes]:
        body = json.dumps(
            {"type": "shipment", "id": "evt-1", "reference": reference, "shippedAt": "2026-11-25T08:00:00+00:00",
             "lines": [{"sku": "SKU-1", "quantity": 2}]}
        ).encode()  # fmt: skip
        return {}, {"X-Memory-Signature": connector.sign(body)}, body


class TestLogNotifier(NotifierContract):
    @pytest.fixture(autouse=True)
    def _capture(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.INFO, logger="connectors.notify")
        self.caplog = caplog

    async def make_connector(self) -> LogNotifier:
        return LogNotifier(LogNotifier.Settings())

    def delivered(self, connector: Any) -> list[str]:
        return [r.getMessage() for r in self.caplog.records if r.name == "connectors.notify"]
