"""The memory WMS's callback formats as docs/connectors.md shows them: every JSON example there
parses, signed as the page says, into the events it describes."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from pathlib import Path

from pydantic import SecretStr

from connectors.wms import ShipmentConfirmed, StockReport
from connectors.wms.memory import MemoryWms, MemoryWmsSettings

DOC = Path(__file__).resolve().parents[2] / "docs" / "connectors.md"


def _examples() -> list[dict[str, object]]:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("### The memory WMS's callbacks", 1)[1].split("\n### ", 1)[0]
    return [json.loads(block) for block in re.findall(r"```json\n(.*?)```", section, re.S)]


def test_the_documented_callbacks_parse_into_a_shipment_and_a_stock_report() -> None:
    # given the page's examples, signed as it says with the connector's secret
    wms = MemoryWms(MemoryWmsSettings(secret=SecretStr("doc-secret")))
    events = []
    for example in _examples():
        body = json.dumps(example).encode()
        signature = hmac.new(b"doc-secret", body, hashlib.sha256).hexdigest()
        # when the connector reads them as a callback
        events += wms.parse_callback({}, {"X-Memory-Signature": signature}, body, datetime.now(UTC))
    # then they are the shipment and the stock report the page describes
    shipment, report = events
    assert isinstance(shipment, ShipmentConfirmed) and isinstance(report, StockReport)
    assert (shipment.event_id, shipment.reference) == ("ship-0001", "SO00000042")
    assert [(line.sku, line.quantity) for line in shipment.lines] == [("VAL-1001", 2)]
    assert (report.event_id, report.warehouse_code) == ("stock-0001", "WH-SH")
    assert [(level.sku, level.on_hand) for level in report.levels] == [("VAL-1001", 120)]
