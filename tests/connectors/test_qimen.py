"""The Qimen WMS connector against a fake Qimen router on 127.0.0.1, and its callbacks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from connectors.sdk import PermanentError, TransientError
from connectors.wms import InvalidCallback, ShipmentConfirmed, StockChanged
from connectors.wms.qimen import QimenWms
from connectors.wms.testing import WmsContract, sample_outbound
from tests.fakes.qimen import FakeQimen

APP_KEY, SECRET, CUSTOMER = "23456789", "qimen-secret-value", "HUB01"
CONFIRM = "taobao.qimen.deliveryorder.confirm"
STOCK = "taobao.qimen.stockchange.report"


@pytest.fixture
def fake() -> Iterator[FakeQimen]:
    with FakeQimen(APP_KEY, SECRET, CUSTOMER) as peer:
        yield peer


def qimen(fake: FakeQimen, secret: str = SECRET) -> QimenWms:
    return QimenWms(QimenWms.Settings(router_url=fake.router_url, app_key=APP_KEY, secret=secret,
                                      customer_id=CUSTOMER))  # fmt: skip


def confirmation(reference: str, out_biz_code: str = "OBC-1") -> bytes:
    return (
        f"<request><deliveryOrder><deliveryOrderCode>{reference}</deliveryOrderCode><outBizCode>{out_biz_code}</outBizCode>"
        "<orderConfirmTime>2026-11-25 16:00:00</orderConfirmTime></deliveryOrder><packages>"
        "<package><logisticsCode>SF</logisticsCode><expressCode>SF123</expressCode><items>"
        "<item><itemCode>SKU-1</itemCode><quantity>1</quantity></item></items></package>"
        "<package><logisticsCode>SF</logisticsCode><expressCode>SF124</expressCode><items>"
        "<item><itemCode>SKU-1</itemCode><quantity>1</quantity></item>"
        "<item><itemCode>SKU-2</itemCode><quantity>3</quantity></item></items></package>"
        "</packages></request>"
    ).encode()


class TestQimenWms(WmsContract):
    @pytest.fixture(autouse=True)
    def _peer(self, fake: FakeQimen) -> None:
        self.fake = fake

    async def make_connector(self) -> QimenWms:
        return qimen(self.fake)

    def seed_stock(self, connector: Any, sku: str, warehouse_code: str, on_hand: int) -> None:
        self.fake.stock[(sku, warehouse_code)] = on_hand

    def is_cancelled(self, connector: Any, reference: str) -> bool:
        return reference in self.fake.cancelled

    def signed_callback(self, connector: Any, reference: str) -> tuple[dict[str, str], dict[str, str], bytes]:
        query, body = self.fake.callback(
            CONFIRM, confirmation(reference), at=datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
        )
        return query, {}, body


async def test_an_outbound_order_reaches_the_wms_with_its_lines(fake: FakeQimen) -> None:
    wms = qimen(fake)
    ref = await wms.push_outbound_order(sample_outbound("SO000123"))
    await wms.aclose()
    assert ref.external_id == "WMS00000001"
    assert (
        fake.orders["SO000123"]["lines"] == [("SKU-1", 2)] and fake.orders["SO000123"]["warehouse"] == "WH1"
    )


async def test_a_busy_wms_is_transient_and_a_bad_secret_is_permanent(fake: FakeQimen) -> None:
    fake.busy_next = 1
    wms = qimen(fake)
    with pytest.raises(TransientError, match="SYSTEM_BUSY"):
        await wms.push_outbound_order(sample_outbound("SO000124"))
    bad = qimen(fake, secret="wrong-secret")
    with pytest.raises(PermanentError) as e:
        await bad.push_outbound_order(sample_outbound("SO000124"))
    await wms.aclose()
    await bad.aclose()
    assert e.value.code == "SIGN_ERROR" and "wrong-secret" not in str(e.value)


async def test_requests_go_to_the_router_url_exactly(fake: FakeQimen) -> None:
    # given a router that answers on its exact path only, and a connector configured with a
    # trailing slash the router does not accept
    assert fake.router_url.endswith("/router")
    slashed = QimenWms(QimenWms.Settings(router_url=fake.router_url + "/", app_key=APP_KEY, secret=SECRET,
                                         customer_id=CUSTOMER))  # fmt: skip
    wms = qimen(fake)
    # when both push an order
    ref = await wms.push_outbound_order(sample_outbound("SO000125"))
    with pytest.raises(PermanentError) as e:
        await slashed.push_outbound_order(sample_outbound("SO000126"))
    await wms.aclose()
    await slashed.aclose()
    # then the exact URL reaches the WMS, and the wrong one is a permanent 404 sent once
    assert ref.external_id == "WMS00000001" and list(fake.orders) == ["SO000125"]
    assert e.value.code == "404" and fake.requests == 2


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_is_a_permanent_configuration_error(fake: FakeQimen, status: int) -> None:
    # given a router URL that answers with a redirect (http for https, a moved router)
    fake.fail_next, fake.fail_status = 1, status
    fake.fail_headers = {"Location": fake.router_url + "/"}
    wms = qimen(fake)
    # when an order is pushed
    with pytest.raises(PermanentError, match=rf"HTTP {status} \(redirects are not followed") as e:
        await wms.push_outbound_order(sample_outbound("SO000127"))
    await wms.aclose()
    # then it is refused at once: not followed, not retried, nothing created
    assert e.value.code == str(status) and fake.requests == 1 and fake.orders == {}


async def test_a_success_status_with_a_body_that_is_not_xml_is_an_error(fake: FakeQimen) -> None:
    # given a router (or a proxy in front of it) answering 200 with a JSON page
    fake.fail_next, fake.fail_status = 1, 200
    wms = qimen(fake)
    # when an order is pushed, then that is no answer: a transient error, tried again later
    with pytest.raises(TransientError, match="body that is not XML"):
        await wms.push_outbound_order(sample_outbound("SO000128"))
    await wms.aclose()
    assert fake.requests == 1


async def test_stock_is_read_per_item_and_warehouse(fake: FakeQimen) -> None:
    fake.stock = {("SKU-1", "WH1"): 7, ("SKU-2", "WH1"): 0}
    wms = qimen(fake)
    levels = await wms.read_stock(["SKU-1"])
    await wms.aclose()
    assert [(x.sku, x.warehouse_code, x.on_hand) for x in levels] == [("SKU-1", "WH1", 7)]


def test_a_shipment_confirmation_sums_its_packages(fake: FakeQimen) -> None:
    now = datetime.now(UTC)
    query, body = fake.callback(CONFIRM, confirmation("SO000123", "OBC-77"), at=now)
    [event] = qimen(fake).parse_callback(query, {}, body, now)
    assert isinstance(event, ShipmentConfirmed)
    assert (event.event_id, event.reference, event.carrier, event.tracking_number) == (
        "OBC-77",
        "SO000123",
        "SF",
        "SF123",
    )
    assert dict((x.sku, x.quantity) for x in event.lines) == {"SKU-1": 2, "SKU-2": 3}
    assert event.shipped_at == datetime(2026, 11, 25, 8, 0, tzinfo=UTC)  # 16:00 Beijing time


def test_a_stock_change_report_gives_one_event_per_item(fake: FakeQimen) -> None:
    body = (b"<request><items><item><warehouseCode>WH1</warehouseCode><itemCode>SKU-1</itemCode><quantity>-2</quantity>"
            b"<outBizCode>C-1</outBizCode><changeTime>2026-11-25 09:30:00</changeTime><orderCode>SO1</orderCode></item>"
            b"<item><warehouseCode>WH1</warehouseCode><itemCode>SKU-2</itemCode><quantity>10</quantity>"
            b"<outBizCode>C-2</outBizCode><changeTime>2026-11-25 09:31:00</changeTime></item></items></request>")  # fmt: skip
    now = datetime.now(UTC)
    query, body = fake.callback(STOCK, body, at=now)
    events = qimen(fake).parse_callback(query, {}, body, now)
    assert [(e.event_id, e.sku, e.delta) for e in events if isinstance(e, StockChanged)] == [
        ("C-1", "SKU-1", -2),
        ("C-2", "SKU-2", 10),
    ]


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<request><deliveryOrder><deliveryOrderCode>&lol3;</deliveryOrderCode></deliveryOrder></request>"""
EXTERNAL = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<request><deliveryOrder><deliveryOrderCode>&x;</deliveryOrderCode></deliveryOrder></request>"""


@pytest.mark.parametrize(
    ("method", "body", "shift", "tamper", "reason"),
    [
        (CONFIRM, confirmation("SO1"), 0, "sign", "bad signature"),
        (CONFIRM, confirmation("SO1"), 0, "body", "bad signature"),
        (CONFIRM, confirmation("SO1"), 0, "unicode", "bad signature"),
        (CONFIRM, confirmation("SO1"), 301, None, "timestamp outside"),
        (CONFIRM, confirmation("SO1"), -301, None, "timestamp outside"),
        (CONFIRM, b"<request><deliveryOrder>", 0, None, "malformed"),
        (CONFIRM, b"<request><deliveryOrder/></request>", 0, None, "malformed"),
        (CONFIRM, b'{"json": "not xml"}', 0, None, "malformed"),
        (CONFIRM, BILLION_LAUGHS, 0, None, "entities or DTDs refused"),
        (CONFIRM, EXTERNAL, 0, None, "entities or DTDs refused"),
        ("taobao.qimen.unknown", confirmation("SO1"), 0, None, "unsupported method"),
    ],
    ids=[
        "bad-sign",
        "changed-body",
        "non-ascii-sign",
        "stale",
        "future",
        "truncated",
        "missing-fields",
        "json",
        "billion-laughs",
        "external-entity",
        "unknown-method",
    ],  # fmt: skip
)
def test_bad_callbacks_are_refused(
    fake: FakeQimen, method: str, body: bytes, shift: int, tamper: str | None, reason: str
) -> None:
    now = datetime.now(UTC)
    query, signed = fake.callback(method, body, at=now - timedelta(seconds=shift))
    if tamper == "sign":
        query["sign"] = "0" * 32
    if tamper == "unicode":
        query["sign"] = "é" * 32
    if tamper == "body":
        signed = signed.replace(b"SO1", b"SO2")
    with pytest.raises(InvalidCallback, match=reason):
        qimen(fake).parse_callback(query, {}, signed, now)
