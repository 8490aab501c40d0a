"""A customer's own system subscribed to its order events through the webhook notifier: each
event arrives once, signed, under a webhook-id that stays the same when a delivery is retried,
and nothing about other customers' orders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from hub.db import Database
from hub.settings import Settings
from tests.fakes.webhook import FakeReceiver
from tests.integration.support import drain, hub_with, jobs
from tests.schema.test_permissions import approve, place_order
from tests.support import Hub

SECRET = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
TOML = """
[connectors.notify.acme]
connector = "webhook"
url = "{url}/hooks/orders"
secret = "{secret}"

[[notifications]]
events = ["order.*"]
to = ["notify.acme"]
customers = ["ACME"]
"""


@pytest.fixture
def receiver() -> Iterator[FakeReceiver]:
    with FakeReceiver(SECRET) as peer:
        yield peer


@pytest.fixture
async def hub(settings: Settings, db: Database, tmp_path: Path, receiver: FakeReceiver) -> AsyncIterator[Hub]:
    async with hub_with(settings, db, tmp_path, TOML.format(url=receiver.url, secret=SECRET)) as h:
        await h.standard()
        yield h


async def test_a_customer_system_gets_its_order_events_once_each_signed(
    hub: Hub, receiver: FakeReceiver
) -> None:
    # given the receiver fails the first three requests (the notifier's quick retries included)
    receiver.fail_next = 3
    order = await place_order(hub, as_="acme", quantity=2)
    await place_order(hub, as_="beta", sku="SKU-B", quantity=1)
    await approve(hub, order)
    # when the jobs run, the first delivery failing and being retried
    outcomes = await drain(hub.db)
    # then Acme's system received its two events once each (a retried one may come after a later
    # one: receivers order by the event's timestamp), and nothing of Beta's
    assert "retry" in outcomes
    assert sorted(e["type"] for e in receiver.events) == ["order.approved", "order.placed"]
    assert {e["data"]["customerCode"] for e in receiver.events} == {"ACME"}
    assert all(e["data"]["orderNumber"] == "SO00000001" for e in receiver.events)
    # every delivery of an event carried the same webhook-id (the event's own), so the receiver
    # could dedupe; the retried one arrived under the id of its first try
    assert sorted(receiver.ids) == ["evt_1", "evt_3"]
    sent_ids = [h["webhook-id"] for h in receiver.request_headers]
    assert set(sent_ids) == {"evt_1", "evt_3"} and len(sent_ids) > 2  # the failed tries included
    # and the totals are exact decimal strings
    assert receiver.events[0]["data"]["total"] == "25.00"
    assert {(j.status, j.role) for j in await jobs(hub.db)} == {("SUCCEEDED", "notify.acme")}


async def test_a_receiver_that_unsubscribed_fails_the_job_for_staff_to_see(
    hub: Hub, receiver: FakeReceiver
) -> None:
    receiver.fail_next = 1
    receiver.fail_status = 410
    await place_order(hub, as_="acme", quantity=1)
    await drain(hub.db)
    [job] = await jobs(hub.db)
    assert (job.status, job.attempts) == ("FAILED", 1)
    assert "unsubscribed (HTTP 410)" in (job.last_error or "")
    assert SECRET not in (job.last_error or "") and "/hooks/orders" not in (job.last_error or "")
