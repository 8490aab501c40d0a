"""Stock sync: pulling levels from the ERP/WMS (newer snapshots only) and reconciling drift."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hub.db import Database
from hub.settings import Settings
from jobs.integration import JobDispatcher
from tests.fakes.qimen import FakeQimen
from tests.integration.support import current, hub_with
from tests.support import Hub

APP_KEY, SECRET, CUSTOMER = "23456789", "qimen-stock-secret", "HUB01"
TOML = """
[connectors.wms]
connector = "qimen"
router_url = "{url}/router"
app_key = "23456789"
secret = "qimen-stock-secret"
customer_id = "HUB01"

[stock_sync]
source = "wms"
interval = 60
"""


@pytest.fixture
def wms() -> Iterator[FakeQimen]:
    with FakeQimen(APP_KEY, SECRET, CUSTOMER) as peer:
        yield peer


@pytest.fixture
async def hub(settings: Settings, db: Database, tmp_path: Path, wms: FakeQimen) -> AsyncIterator[Hub]:
    async with hub_with(settings, db, tmp_path, TOML.format(url=wms.url)) as h:
        await h.standard()  # SKU-A: W1 10, W2 5; SKU-B: W1 100; SKU-C: W2 2
        yield h


async def test_a_pull_applies_the_wms_levels(hub: Hub, wms: FakeQimen) -> None:
    wms.stock = {("SKU-A", "W1"): 8, ("SKU-B", "W1"): 100, ("SKU-UNKNOWN", "W1"): 4}
    read, applied = await current().engine.pull_stock(hub.db, "wms")
    assert (read, applied) == (3, 2)  # the unknown SKU is not applied
    assert await hub.stock("SKU-A") == [("W1", 8, 0), ("W2", 5, 0)]


async def test_reconcile_reports_drift_per_sku_and_warehouse(hub: Hub, wms: FakeQimen) -> None:
    wms.stock = {("SKU-A", "W1"): 10, ("SKU-A", "W2"): 4, ("SKU-B", "W1"): 100, ("SKU-D", "W1"): 9}
    drift = await current().engine.reconcile(hub.db, ["wms"])
    assert [(d.sku, d.warehouse, d.hub, d.peer) for d in drift] == [
        ("SKU-A", "W2", 5, 4),
        ("SKU-C", "W2", 2, None),
        ("SKU-D", "W1", None, 9),
    ]


async def test_the_dispatcher_asks_for_a_pull_at_the_interval(hub: Hub) -> None:
    sent: list[tuple[str, object]] = []
    dispatcher = JobDispatcher(hub.db, lambda op, arg: sent.append((op, arg)), current().rules)
    assert dispatcher._pull_due() == "wms"
    assert dispatcher._pull_due() is None  # not again within the interval


def test_hub_stock_reconcile_and_pull_from_the_command_line(tmp_path: Path, wms: FakeQimen) -> None:
    db_url = f"sqlite:///{tmp_path}/hub.db"
    connectors = tmp_path / "hub.toml"
    connectors.write_text(TOML.format(url=wms.url), encoding="utf-8")
    env = {"HUB_DATABASE_URL": db_url, "HUB_CONNECTORS_FILE": str(connectors), "PATH": "/usr/bin:/bin"}
    hub = [sys.executable, "-m", "hub.cli"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*hub, *args], env=env, capture_output=True, text=True, timeout=120)

    assert run("demo").returncode == 0
    wms.stock = {}
    drift = run("stock", "reconcile")
    assert drift.returncode == 3, drift.stderr
    assert "difference(s)" in drift.stdout and SECRET not in drift.stdout + drift.stderr
    unknown = run("stock", "pull", "erp")
    assert unknown.returncode == 2 and "not a configured erp or wms role" in unknown.stderr
    wms.busy_next = 10
    busy = run("stock", "pull", "wms")
    assert busy.returncode == 1 and "Traceback" not in busy.stderr and "SYSTEM_BUSY" in busy.stderr
