"""POST /hooks/<role>: verified before parsed, recorded once, applied asynchronously."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from hub.db import Database
from hub.domain.base import utcnow
from hub.domain.integration.inbound import record_inbound
from hub.domain.integration.models import InboundEvent
from hub.domain.outbox.models import OutboxEvent
from hub.domain.outbox.publishing import MAX_PUBLISHES, unpublish_unhandled
from hub.settings import Settings
from tests.fakes.qimen import FakeQimen
from tests.integration.support import drain, hub_with
from tests.schema.test_permissions import approve, order_status, place_order
from tests.support import Hub

APP_KEY, SECRET, CUSTOMER = "23456789", "qimen-hook-secret", "HUB01"
MEMORY_SECRET = "memory-hook-secret"
CONFIRM = "taobao.qimen.deliveryorder.confirm"
STOCK = "taobao.qimen.stockchange.report"

TOML = """
[connectors.wms]
connector = "qimen"
router_url = "{router}"
app_key = "{app_key}"
secret = "{secret}"
customer_id = "{customer}"
[connectors.wms.snapshots]
connector = "memory"
secret = "{memory_secret}"
"""


@pytest.fixture
async def hub(settings: Settings, db: Database, tmp_path: Path) -> AsyncIterator[Hub]:
    with qimen_peer() as wms:  # the WMS the approved orders are pushed to
        toml = TOML.format(router=f"{wms.url}/router", app_key=APP_KEY, secret=SECRET, customer=CUSTOMER,
                           memory_secret=MEMORY_SECRET)  # fmt: skip
        async with hub_with(settings, db, tmp_path, toml) as h:
            await h.standard()
            yield h


def qimen_peer() -> FakeQimen:
    return FakeQimen(APP_KEY, SECRET, CUSTOMER)


def confirmation(reference: str, out_biz_code: str) -> bytes:
    return (
        f"<request><deliveryOrder><deliveryOrderCode>{reference}</deliveryOrderCode><outBizCode>{out_biz_code}"
        "</outBizCode></deliveryOrder><packages><package><logisticsCode>SF</logisticsCode><expressCode>SF900"
        "</expressCode><items><item><itemCode>SKU-A</itemCode><quantity>3</quantity></item></items></package>"
        "</packages></request>"
    ).encode()


def stock_change(code: str, sku: str, delta: int) -> bytes:
    return (
        f"<request><items><item><warehouseCode>W1</warehouseCode><itemCode>{sku}</itemCode><quantity>{delta}"
        f"</quantity><outBizCode>{code}</outBizCode><changeTime>2026-11-25 09:30:00</changeTime></item></items>"
        "</request>"
    ).encode()


async def post_qimen(hub: Hub, method: str, body: bytes, at: datetime | None = None, **tamper: str) -> Any:
    peer = qimen_peer()
    peer.server.server_close()  # only signs; never serves
    query, body = peer.callback(method, body, at=at)
    query.update(tamper)
    return await hub.client.post(
        "/hooks/wms", params=query, content=body, headers={"content-type": "text/xml"}
    )


async def counts(hub: Hub) -> tuple[int, int]:
    return await hub.count(InboundEvent), await hub.count(OutboxEvent)


async def test_a_shipment_confirmation_ships_the_order_once(hub: Hub) -> None:
    # given an approved order
    order = await place_order(hub, quantity=3)
    await approve(hub, order)
    # when the WMS confirms its shipment, and then sends the same confirmation again
    first = await post_qimen(hub, CONFIRM, confirmation("SO00000001", "OBC-1"))
    again = await post_qimen(hub, CONFIRM, confirmation("SO00000001", "OBC-1"))
    # then both are answered with Qimen's success, and one inbound event was recorded
    assert first.status_code == again.status_code == 200
    assert b"<flag>success</flag>" in first.content and b"<flag>success</flag>" in again.content
    async with hub.db.read() as s:
        from sqlalchemy import select

        kinds = list(await s.scalars(select(OutboxEvent.kind).order_by(OutboxEvent.id)))
    assert kinds.count("inbound.shipment") == 1
    # and once the jobs ran, the order is SHIPPED with a timeline entry naming the carrier
    await drain(hub.db)
    assert await order_status(hub, order) == "SHIPPED"
    data = await hub.data(
        "query($id: ID!) { order(id: $id) { timeline { kind message } } }", {"id": order}, as_="admin"
    )
    shipped = [e for e in data["order"]["timeline"] if e["kind"] == "SHIPPED"]
    assert shipped == [{"kind": "SHIPPED", "message": "Shipped 3 unit(s) via SF, tracking SF900"}]
    # and its goods left the warehouse: on hand down by 3, nothing reserved any more
    assert await hub.stock("SKU-A") == [("W1", 7, 0), ("W2", 5, 0)]
    # the WMS's own stock change for that shipment is not counted a second time
    change = stock_change("CHG-SHIP", "SKU-A", -3).replace(
        b"</outBizCode>", b"</outBizCode><orderCode>SO00000001</orderCode>"
    )
    assert (await post_qimen(hub, STOCK, change)).status_code == 200
    await drain(hub.db)
    assert await hub.stock("SKU-A") == [("W1", 7, 0), ("W2", 5, 0)]


@pytest.mark.parametrize(
    ("tamper", "at", "status"),
    [
        ({"sign": "0" * 32}, 0, 401),
        ({"customerId": "OTHER"}, 0, 401),  # signed parameters changed after signing
        ({}, -400, 401),  # stale
        ({}, 400, 401),  # from the future
        ({"sign": "ünïcödé"}, 0, 401),
    ],
    ids=["bad-signature", "changed-parameter", "stale", "future", "non-ascii-signature"],
)
async def test_callbacks_that_do_not_verify_are_refused_and_write_nothing(
    hub: Hub, tamper: dict[str, str], at: int, status: int
) -> None:
    before = await counts(hub)
    sent = datetime.now(UTC) + timedelta(seconds=at)  # seconds off the hub's clock
    response = await post_qimen(hub, CONFIRM, confirmation("SO00000001", "OBC-X"), at=sent, **tamper)
    assert response.status_code == status
    assert b"<flag>failure</flag>" in response.content
    assert await counts(hub) == before


async def test_a_changed_body_is_refused(hub: Hub) -> None:
    peer = qimen_peer()
    peer.server.server_close()
    query, body = peer.callback(CONFIRM, confirmation("SO00000001", "OBC-2"))
    changed = body.replace(b"SKU-A", b"SKU-B")
    response = await hub.client.post("/hooks/wms", params=query, content=changed)
    assert response.status_code == 401


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<request><deliveryOrder><deliveryOrderCode>&lol3;</deliveryOrderCode></deliveryOrder></request>"""


@pytest.mark.parametrize(
    "body",
    [
        b"<request><deliveryOrder>",
        b"not xml at all",
        BILLION_LAUGHS,
        b"<request/>",
        "<request>中文</request>".encode(),
    ],
    ids=["truncated", "not-xml", "entity-expansion", "missing-fields", "no-order"],
)
async def test_malformed_bodies_that_verify_are_refused_with_400_and_write_nothing(
    hub: Hub, body: bytes
) -> None:
    before = await counts(hub)
    response = await post_qimen(hub, CONFIRM, body)
    assert response.status_code == 400
    assert b"<flag>failure</flag>" in response.content
    assert await counts(hub) == before


async def test_an_overlong_event_id_is_refused_not_a_500(hub: Hub) -> None:
    before = await counts(hub)
    response = await post_qimen(hub, STOCK, stock_change("X" * 250, "SKU-B", 1))
    assert response.status_code == 400 and b"<flag>failure</flag>" in response.content
    assert await counts(hub) == before


async def test_a_10_mb_body_is_refused_before_it_is_read(hub: Hub) -> None:
    before = await counts(hub)
    peer = qimen_peer()
    peer.server.server_close()
    query, _ = peer.callback(CONFIRM, b"")
    response = await hub.client.post("/hooks/wms", params=query, content=b"<" + b"x" * 10_000_000 + b">")
    assert response.status_code == 413
    assert await counts(hub) == before


async def test_unknown_hooks_are_404_and_a_hook_without_callbacks_too(hub: Hub) -> None:
    assert (await hub.client.post("/hooks/erp", content=b"{}")).status_code == 404
    assert (await hub.client.post("/hooks/nothing", content=b"{}")).status_code == 404
    assert (await hub.client.get("/hooks/wms")).status_code == 405


async def test_stock_changes_apply_once_each(hub: Hub) -> None:
    # given SKU-B with 100 on hand in W1
    for _ in range(2):  # the second delivery is a replay
        response = await post_qimen(hub, STOCK, stock_change("CHG-1", "SKU-B", -7))
        assert response.status_code == 200
    response = await post_qimen(hub, STOCK, stock_change("CHG-2", "SKU-B", 3))
    assert response.status_code == 200
    await drain(hub.db)
    assert await hub.stock("SKU-B") == [("W1", 96, 0)]


def memory_signed(doc: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(doc).encode()
    signature = hmac.new(MEMORY_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {"x-memory-signature": signature, "content-type": "application/json"}


async def test_stock_snapshots_apply_only_when_newer(hub: Hub) -> None:
    async def report(event_id: str, as_of: str, on_hand: int) -> Any:
        body, headers = memory_signed({"type": "stock", "id": event_id, "warehouse": "W1", "asOf": as_of,
                                       "levels": [{"sku": "SKU-B", "onHand": on_hand}]})  # fmt: skip
        return await hub.client.post("/hooks/wms.snapshots", content=body, headers=headers)

    # when a report from 10:00 arrives, then an older one from 09:00, then a newer one
    assert (await report("R2", "2026-11-25T10:00:00+00:00", 40)).status_code == 200
    await drain(hub.db)
    assert (await report("R1", "2026-11-25T09:00:00+00:00", 70)).status_code == 200
    await drain(hub.db)
    # then the older one is not applied
    assert await hub.stock("SKU-B") == [("W1", 40, 0)]
    assert (await report("R3", "2026-11-25T11:00:00+00:00", 55)).status_code == 200
    await drain(hub.db)
    assert await hub.stock("SKU-B") == [("W1", 55, 0)]
    # and JSON answers say what was received
    replay = await report("R3", "2026-11-25T11:00:00+00:00", 55)
    assert replay.json() == {"ok": True, "message": "", "received": 0, "duplicates": 1}


async def test_bad_json_and_bad_signatures_at_a_json_hook(hub: Hub) -> None:
    body, headers = memory_signed({"type": "stock"})
    assert (await hub.client.post("/hooks/wms.snapshots", content=body, headers=headers)).status_code == 400
    body, headers = memory_signed({"type": "stock", "id": "x"})
    headers["x-memory-signature"] = "0" * 64
    answer = await hub.client.post("/hooks/wms.snapshots", content=body, headers=headers)
    assert answer.status_code == 401 and answer.json()["ok"] is False
    raw = b"\xff\xfe not json"
    sig = hmac.new(MEMORY_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    answer = await hub.client.post("/hooks/wms.snapshots", content=raw, headers={"x-memory-signature": sig})
    assert answer.status_code == 400


async def test_a_shipment_for_an_unknown_or_unapproved_order_changes_nothing(hub: Hub) -> None:
    order = await place_order(hub, quantity=1)  # PENDING_APPROVAL
    assert (await post_qimen(hub, CONFIRM, confirmation("SO00000001", "OBC-5"))).status_code == 200
    assert (await post_qimen(hub, CONFIRM, confirmation("SO99999999", "OBC-6"))).status_code == 200
    await drain(hub.db)
    assert await order_status(hub, order) == "PENDING_APPROVAL"


async def test_a_split_order_ships_warehouse_by_warehouse(hub: Hub) -> None:
    # given an approved order of 12 SKU-A: 10 reserved in W1, 2 in W2 (two outbound orders)
    order = await place_order(hub, quantity=12)
    await approve(hub, order)
    await drain(hub.db)
    # when W1's part is confirmed
    assert (await post_qimen(hub, CONFIRM, confirmation("SO00000001-W1", "OBC-W1"))).status_code == 200
    await drain(hub.db)
    # then only W1's goods left: W2 still holds the 2 it reserved
    assert await order_status(hub, order) == "SHIPPED"
    assert await hub.stock("SKU-A") == [("W1", 0, 0), ("W2", 5, 2)]
    # and when W2's part is confirmed (twice), its goods leave once
    for _ in range(2):
        assert (await post_qimen(hub, CONFIRM, confirmation("SO00000001-W2", "OBC-W2"))).status_code == 200
    assert (await post_qimen(hub, CONFIRM, confirmation("SO00000001-W2", "OBC-W2-AGAIN"))).status_code == 200
    await drain(hub.db)
    assert await hub.stock("SKU-A") == [("W1", 0, 0), ("W2", 3, 0)]
    data = await hub.data(
        "query($id: ID!) { order(id: $id) { timeline { kind } } }", {"id": order}, as_="admin"
    )
    assert [e["kind"] for e in data["order"]["timeline"]].count("SHIPPED") == 2


async def test_a_stock_change_for_a_cancelled_order_is_applied(hub: Hub) -> None:
    order = await place_order(hub, sku="SKU-B", quantity=5)
    cancel = "mutation($id: ID!) { orderCancel(id: $id) { errors { code } } }"
    assert (await hub.data(cancel, {"id": order}, as_="acme"))["orderCancel"]["errors"] == []
    change = stock_change("CHG-C", "SKU-B", -4).replace(
        b"</outBizCode>", b"</outBizCode><orderCode>SO00000001</orderCode>"
    )
    assert (await post_qimen(hub, STOCK, change)).status_code == 200
    await drain(hub.db)
    assert await hub.stock("SKU-B") == [("W1", 96, 0)]


# --- bounds: a callback outside them is refused with 400 and records nothing --------------------


@pytest.mark.parametrize(
    "quantity",
    ["100000000000000000000", "-100000000000000000000", "1000000001", "1.5", "1e20", "1_000", "", "ten"],
)
async def test_a_qimen_stock_change_outside_the_bounds_is_refused(hub: Hub, quantity: str) -> None:
    # given a signed stock change whose quantity is 10^20, not an integer, or beyond ±10^9
    before = await counts(hub)
    body = stock_change("CHG-BIG", "SKU-B", 0).replace(
        b"<quantity>0</quantity>", f"<quantity>{quantity}</quantity>".encode()
    )
    # when it is posted
    response = await post_qimen(hub, STOCK, body)
    # then it is refused with a reason, and nothing is recorded
    assert response.status_code == 400, response.text
    assert b"<flag>failure</flag>" in response.content and b"quantity must be an integer" in response.content
    assert await counts(hub) == before


@pytest.mark.parametrize(
    "field, value",
    [
        ("itemCode", "S" * 65),
        ("warehouseCode", "W" * 41),
        ("outBizCode", "X" * 201),
        ("orderCode", "SO" * 40),
    ],
)
async def test_a_qimen_stock_change_with_an_overlong_code_is_refused(
    hub: Hub, field: str, value: str
) -> None:
    before = await counts(hub)
    item = {"warehouseCode": "W1", "itemCode": "SKU-B", "quantity": "1", "outBizCode": "CHG-LONG",
            "changeTime": "2026-11-25 09:30:00", field: value}  # fmt: skip
    xml = "".join(f"<{k}>{v}</{k}>" for k, v in item.items())
    response = await post_qimen(hub, STOCK, f"<request><items><item>{xml}</item></items></request>".encode())
    assert response.status_code == 400, response.text
    assert b"must be 1 to" in response.content
    assert await counts(hub) == before


async def test_a_qimen_confirmation_of_10_to_the_20_units_is_refused(hub: Hub) -> None:
    before = await counts(hub)
    body = confirmation("SO00000001", "OBC-BIG").replace(
        b"<quantity>3</quantity>", b"<quantity>100000000000000000000</quantity>"
    )
    response = await post_qimen(hub, CONFIRM, body)
    assert response.status_code == 400 and b"quantity must be an integer" in response.content
    # two packages whose quantities add up beyond the bound, too
    item = b"<item><itemCode>SKU-A</itemCode><quantity>999999999</quantity></item>"
    body = confirmation("SO00000001", "OBC-SUM").replace(b"<items>", b"<items>" + item + item)
    response = await post_qimen(hub, CONFIRM, body)
    assert response.status_code == 400 and b"quantity must be an integer" in response.content
    assert await counts(hub) == before


async def test_a_qimen_stock_change_at_the_bound_is_accepted(hub: Hub) -> None:
    response = await post_qimen(hub, STOCK, stock_change("CHG-MAX", "SKU-B", 1_000_000_000))
    assert response.status_code == 200
    await drain(hub.db)
    assert await hub.stock("SKU-B") == [("W1", 1_000_000_100, 0)]


@pytest.mark.parametrize(
    "level",
    [
        {"sku": "SKU-B", "onHand": 10**20},
        {"sku": "SKU-B", "onHand": -1},
        {"sku": "SKU-B", "onHand": 1.5},
        {"sku": "SKU-B", "onHand": "3"},
        {"sku": "SKU-B", "onHand": True},
        {"sku": "S" * 65, "onHand": 1},
        {"sku": "SKU\u0000B", "onHand": 1},
        {"sku": "SKU\u001bB", "onHand": 1},
    ],
    ids=["10^20", "negative", "float", "string", "bool", "long-sku", "nul-sku", "escape-sku"],
)
async def test_a_memory_stock_report_outside_the_bounds_is_refused(hub: Hub, level: dict[str, Any]) -> None:
    before = await counts(hub)
    body, headers = memory_signed({"type": "stock", "id": "R-BAD", "warehouse": "W1",
                                   "asOf": "2026-11-25T10:00:00+00:00", "levels": [level]})  # fmt: skip
    response = await hub.client.post("/hooks/wms.snapshots", content=body, headers=headers)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["ok"] is False and ("must be" in answer["message"] or "must not" in answer["message"])
    assert await counts(hub) == before


@pytest.mark.parametrize(
    "change",
    [
        {"lines": [{"sku": "SKU-A", "quantity": 10**20}]},
        {"lines": [{"sku": "SKU-A", "quantity": -3}]},
        {"lines": [{"sku": "SKU-A", "quantity": 2.5}]},
        {"reference": "SO" + "0" * 70},
        {"id": "E" * 201},
        {"id": "E\u0000"},
        {"warehouse": "W" * 41, "type": "stock", "asOf": "2026-11-25T10:00:00+00:00", "levels": []},
    ],
    ids=["10^20", "negative", "float", "long-reference", "long-id", "nul-id", "long-warehouse"],
)
async def test_a_memory_shipment_outside_the_bounds_is_refused(hub: Hub, change: dict[str, Any]) -> None:
    before = await counts(hub)
    doc = {"type": "shipment", "id": "S-BAD", "reference": "SO00000001", "shippedAt": "2026-11-25T10:00:00+00:00",
           "lines": [{"sku": "SKU-A", "quantity": 1}], **change}  # fmt: skip
    body, headers = memory_signed(doc)
    response = await hub.client.post("/hooks/wms.snapshots", content=body, headers=headers)
    assert response.status_code == 400, response.text
    assert await counts(hub) == before


async def test_a_recorded_event_that_can_never_apply_is_dead_lettered_where_staff_see_it(hub: Hub) -> None:
    # given a stock change of 10^20 recorded before the hook checked the bounds
    async with hub.db.write() as s:
        delta = {"role": "wms", "sku": "SKU-B", "warehouse": "W1", "delta": 10**20, "order": None}
        await record_inbound(s, "wms", [("CHG-OLD", "stock_delta", delta)])
    # when the events are delivered
    outcomes = await drain(hub.db)
    # then its handler does not fail (nothing to retry for ever), the stock is unchanged
    assert "handler-failed" not in outcomes
    assert await hub.stock("SKU-B") == [("W1", 100, 0)]
    async with hub.db.read() as s:
        assert (
            await s.scalar(select(OutboxEvent.handled_at).where(OutboxEvent.kind == "inbound.stock_delta"))
            is not None
        )
    # and staff find it among the FAILED integration jobs, with the reason
    data = await hub.data(
        '{ integrationJobs(status: FAILED, role: "wms") { edges { node { id operation entity status lastError } } } }',
        as_="admin",
    )
    [job] = [e["node"] for e in data["integrationJobs"]["edges"]]
    assert job["operation"] == "apply_inbound" and job["entity"] == "event" and job["status"] == "FAILED"
    assert job["lastError"].startswith("inbound.stock_delta can never apply: quantity must be an integer")
    # and it cannot be run again (the sender must send it corrected)
    data = await hub.data(
        "mutation($id: ID!) { integrationJobRetry(id: $id) { errors { code } job { status } } }",
        {"id": job["id"]},
        as_="admin",
    )
    assert data["integrationJobRetry"]["errors"] == [{"code": "INVALID_TRANSITION"}]


async def test_an_event_published_the_maximum_times_is_not_republished_at_a_restart(hub: Hub) -> None:
    # given an event whose handler kept failing: published MAX_PUBLISHES times, never handled
    async with hub.db.write() as s:
        [stuck] = await record_inbound(
            s,
            "wms",
            [
                (
                    "CHG-STUCK",
                    "stock_delta",
                    {"role": "wms", "sku": "SKU-B", "warehouse": "W1", "delta": 1, "order": None},
                )
            ],
        )
        [fresh] = await record_inbound(
            s,
            "wms",
            [
                (
                    "CHG-FRESH",
                    "stock_delta",
                    {"role": "wms", "sku": "SKU-B", "warehouse": "W1", "delta": 1, "order": None},
                )
            ],
        )
        await s.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id == stuck)
            .values(published_at=utcnow(), attempts=MAX_PUBLISHES)
        )
        await s.execute(
            update(OutboxEvent).where(OutboxEvent.id == fresh).values(published_at=utcnow(), attempts=1)
        )
    # when the embedded runtime restarts
    async with hub.db.write() as s:
        assert await unpublish_unhandled(s) == 1
    # then only the other one is published again
    async with hub.db.read() as s:
        assert await s.scalar(select(OutboxEvent.published_at).where(OutboxEvent.id == stuck)) is not None
        assert await s.scalar(select(OutboxEvent.published_at).where(OutboxEvent.id == fresh)) is None
