"""Outbox events become integration jobs; jobs reach the ERP, the WMS and notifiers once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from hub.domain.integration.models import Binding
from hub.settings import Settings
from tests.integration.support import drain, jobs, memory, reset, use_connectors
from tests.schema.test_permissions import approve, place_order
from tests.support import Hub

BASIC = """
[connectors.erp]
connector = "memory"
[connectors.wms]
connector = "memory"
[connectors.notify.sales]
connector = "log"

[[notifications]]
events = ["order.approved", "order.cancelled"]
to = ["notify.sales"]
"""


@pytest.fixture(autouse=True)
def _reset() -> Iterator[None]:
    yield
    reset()


async def test_an_approved_order_reaches_the_erp_and_the_wms_once(
    hub: Hub, settings: Settings, tmp_path: Path
) -> None:
    use_connectors(settings, tmp_path, BASIC)
    await hub.standard()
    order = await place_order(hub, quantity=3)
    await approve(hub, order)
    await drain(hub.db)
    await drain(hub.db)
    erp, wms, log = memory("erp"), memory("wms"), memory("notify.sales")
    assert list(erp.sales) == ["SO00000001"]
    assert list(wms.outbound) == ["SO00000001"]
    assert [m.title for m in log.sent] == ["Order SO00000001 approved"]
    states = {(j.role, j.operation): (j.status, j.attempts) for j in await jobs(hub.db)}
    assert states == {
        ("erp", "push_sales_order"): ("SUCCEEDED", 1),
        ("wms", "push_outbound"): ("SUCCEEDED", 1),
        ("notify.sales", "notify"): ("SUCCEEDED", 1),
    }
    async with hub.db.read() as s:
        bound = {(b.role, b.entity, b.external_id) for b in await s.scalars(select(Binding))}
    assert bound == {("erp", "sales_order", "1"), ("wms", "outbound/W1", "1")}
