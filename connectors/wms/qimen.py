"""``qimen``: a WMS that speaks the Qimen (奇门) standard.

Out (hub → WMS): ``POST <router_url>?method=<m>&app_key=…&customerId=…&format=xml&sign_method=md5
&timestamp=…&v=2.0&sign=…`` with an XML body rooted at ``<request>``, signed with
:func:`connectors.signing.qimen_sign`. ``router_url`` is used exactly as configured (e.g.
``https://api.taobao.com/router/qm``; no slash is added); a 404 or a redirect from it is a
PermanentError (the URL is wrong), and an answer that is not XML a TransientError:

- ``taobao.qimen.deliveryorder.create``: the outbound order, ``deliveryOrderCode`` = the hub's
  reference (the WMS answers a repeated code with the document it already has);
- ``taobao.qimen.order.cancel``: cancelling what the WMS does not have is not an error;
- ``taobao.qimen.inventory.query``: on-hand stock per item and warehouse.

The answer is ``<response><flag>success|failure</flag><code/><message/>…</response>``: a failure
is permanent, except the codes in ``retry_codes`` (transient) and, for cancel, those in
``not_found_codes`` (success).

In (WMS → hub), :meth:`QimenWms.parse_callback`: the MD5 signature over the query parameters and
the raw body is checked first (constant time), then the timestamp (±300 s), then the XML is
parsed without entity expansion or external entities (defusedxml), and what it says is held to
:func:`connectors.wms.check_callback`'s bounds (quantities by :func:`connectors.wms.parse_quantity`):
``taobao.qimen.deliveryorder.confirm`` gives a :class:`ShipmentConfirmed` (event id =
``outBizCode``), ``taobao.qimen.stockchange.report`` one :class:`StockChanged` per item. Qimen
timestamps are Beijing time (UTC+8).
"""

from __future__ import annotations

import hmac
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from pydantic import Field

from connectors.http import HttpPeer
from connectors.sdk import (
    CheckResult,
    ConnectorSettings,
    ExternalRef,
    PermanentError,
    SecretStr,
    StockLevel,
    TransientError,
)
from connectors.signing import TOLERANCE_SECONDS, qimen_sign
from connectors.wms import (
    InvalidCallback,
    OutboundOrder,
    ShipmentConfirmed,
    ShippedLine,
    StockChanged,
    UnauthenticCallback,
    WmsEvent,
    check_callback,
    parse_quantity,
)

__all__ = ["QimenWms"]

BEIJING = timezone(timedelta(hours=8))
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CONFIRM = "taobao.qimen.deliveryorder.confirm"
STOCK_CHANGE = "taobao.qimen.stockchange.report"


class QimenSettings(ConnectorSettings):
    router_url: str
    app_key: str
    secret: SecretStr
    customer_id: str
    timeout: float = Field(15.0, gt=0, le=120)
    retry_codes: tuple[str, ...] = ("SYSTEM_BUSY", "ISP_TIMEOUT")
    not_found_codes: tuple[str, ...] = ("ORDER_NOT_EXIST",)


def _text(parent: ET.Element, path: str) -> str | None:
    node = parent.find(path)
    return node.text.strip() if node is not None and node.text is not None else None


def _required(parent: ET.Element, path: str) -> str:
    value = _text(parent, path)
    if not value:
        raise ValueError(f"missing {path}")
    return value


def _xml(tag: str, children: dict[str, object]) -> ET.Element:
    node = ET.Element(tag)
    for name, value in children.items():
        if isinstance(value, ET.Element):
            node.append(value)
        elif isinstance(value, list):
            holder = ET.SubElement(node, name)
            holder.extend(value)
        elif value is not None:
            ET.SubElement(node, name).text = str(value)
    return node


def beijing_time(at: datetime) -> str:
    return at.astimezone(BEIJING).strftime(TIME_FORMAT)


class QimenWms:
    Settings = QimenSettings

    def __init__(self, settings: QimenSettings) -> None:
        self.settings = settings
        self.peer = HttpPeer(settings.router_url, timeout=settings.timeout, idempotent=True)  # by order code

    async def aclose(self) -> None:
        await self.peer.aclose()

    def sign(self, params: Mapping[str, str], body: bytes) -> str:
        return qimen_sign(self.settings.secret.get_secret_value(), params, body)

    def _params(self, method: str, body: bytes, now: datetime) -> dict[str, str]:
        params = {
            "method": method,
            "app_key": self.settings.app_key,
            "customerId": self.settings.customer_id,
            "format": "xml",
            "sign_method": "md5",
            "timestamp": beijing_time(now),
            "v": "2.0",
        }
        params["sign"] = self.sign(params, body)
        return params

    async def _call(self, method: str, request: ET.Element, *, missing_ok: bool = False) -> ET.Element:
        body = ET.tostring(request, encoding="utf-8", xml_declaration=True)
        raw = await self.peer.post_bytes("", body, self._params(method, body, datetime.now(UTC)))
        try:
            answer = fromstring(raw)
        except (ET.ParseError, DefusedXmlException):
            raise TransientError(f"{self.peer.host}: {method} answered with a body that is not XML") from None
        if (_text(answer, "flag") or "").lower() == "success":
            return answer
        code = _text(answer, "code") or ""
        message = (_text(answer, "message") or "")[:200]
        if missing_ok and code in self.settings.not_found_codes:
            return answer
        if code in self.settings.retry_codes:
            raise TransientError(f"Qimen {method}: {code} {message}", code=code)
        raise PermanentError(f"Qimen {method} refused: {code} {message}", code=code or None)

    async def check(self) -> CheckResult:
        await self._call("taobao.qimen.inventory.query", _xml("request", {"criteriaList": []}))
        return CheckResult(True, f"inventory.query answered by {self.peer.host}")

    async def push_outbound_order(self, order: OutboundOrder) -> ExternalRef:
        receiver = _xml(
            "receiverInfo",
            {"name": order.consignee_name, "mobile": order.consignee_phone, "detailAddress": order.address},
        )
        delivery = _xml(
            "deliveryOrder",
            {
                "deliveryOrderCode": order.reference,
                "orderType": "B2BCK",
                "warehouseCode": order.warehouse_code,
                "createTime": beijing_time(datetime.now(UTC)),
                "remark": order.note,
                "receiverInfo": receiver,
            },
        )
        lines = [
            _xml("orderLine", {"orderLineNo": n, "itemCode": x.sku, "planQty": x.quantity})
            for n, x in enumerate(order.lines, start=1)
        ]
        answer = await self._call(
            "taobao.qimen.deliveryorder.create",
            _xml("request", {"deliveryOrder": delivery, "orderLines": lines}),
        )
        external = _text(answer, "deliveryOrderId")
        if not external:
            raise TransientError("Qimen deliveryorder.create answered success without deliveryOrderId")
        return ExternalRef(external, order.reference)

    async def cancel_outbound_order(self, reference: str, external: ExternalRef | None) -> None:
        request = _xml(
            "request",
            {
                "orderCode": reference,
                "orderId": external.external_id if external else None,
                "orderType": "B2BCK",
            },
        )
        await self._call("taobao.qimen.order.cancel", request, missing_ok=True)

    async def read_stock(self, skus: Sequence[str] | None = None) -> list[StockLevel]:
        criteria = [_xml("criteria", {"itemCode": sku}) for sku in skus or ()]
        answer = await self._call("taobao.qimen.inventory.query", _xml("request", {"criteriaList": criteria}))
        now = datetime.now(UTC)
        try:
            return [
                StockLevel(
                    _required(i, "itemCode"),
                    _required(i, "warehouseCode"),
                    int(_required(i, "quantity")),
                    now,
                )
                for i in answer.iterfind("items/item")
            ]
        except ValueError as e:
            raise PermanentError(f"Qimen inventory.query answer malformed ({e})") from None

    def callback_answer(self, ok: bool, message: str) -> tuple[str, bytes]:
        """The Qimen answer to a callback: ``flag`` success, or failure with the reason."""
        root = ET.Element("response")
        ET.SubElement(root, "flag").text = "success" if ok else "failure"
        ET.SubElement(root, "code").text = "0" if ok else "FAILURE"
        ET.SubElement(root, "message").text = message
        return "text/xml; charset=utf-8", ET.tostring(root, encoding="utf-8")

    def parse_callback(
        self, query: Mapping[str, str], headers: Mapping[str, str], body: bytes, now: datetime
    ) -> list[WmsEvent]:
        given = query.get("sign", "")
        if not given or not hmac.compare_digest(given.upper().encode(), self.sign(query, body).encode()):
            raise UnauthenticCallback("bad signature")
        try:
            sent = datetime.strptime(query.get("timestamp", ""), TIME_FORMAT).replace(tzinfo=BEIJING)
        except ValueError:
            raise UnauthenticCallback("bad timestamp") from None
        if abs((now - sent).total_seconds()) > TOLERANCE_SECONDS:
            raise UnauthenticCallback("timestamp outside ±300 s")
        method = query.get("method", "")
        try:
            root = fromstring(body)
            if method == CONFIRM:
                return check_callback([self._confirmation(root, sent)])
            if method == STOCK_CHANGE:
                return check_callback(self._stock_changes(root))
        except DefusedXmlException:
            raise InvalidCallback("XML with entities or DTDs refused") from None
        except (ET.ParseError, ValueError) as e:
            raise InvalidCallback(f"malformed {method or 'callback'} ({type(e).__name__})") from None
        raise InvalidCallback(f"unsupported method {method[:60]!r}")

    @staticmethod
    def _confirmation(root: ET.Element, sent: datetime) -> ShipmentConfirmed:
        order = root.find("deliveryOrder")
        if order is None:
            raise ValueError("missing deliveryOrder")
        totals: dict[str, int] = {}
        carrier = tracking = None
        for package in root.iterfind("packages/package"):
            carrier = carrier or _text(package, "logisticsCode")
            tracking = tracking or _text(package, "expressCode")
            for item in package.iterfind("items/item"):
                sku = _required(item, "itemCode")
                totals[sku] = totals.get(sku, 0) + parse_quantity(_text(item, "quantity"))
        confirmed = _text(order, "orderConfirmTime")
        shipped_at = datetime.strptime(confirmed, TIME_FORMAT).replace(tzinfo=BEIJING) if confirmed else sent
        return ShipmentConfirmed(
            event_id=_required(order, "outBizCode"),
            reference=_required(order, "deliveryOrderCode"),
            shipped_at=shipped_at.astimezone(UTC),
            lines=tuple(ShippedLine(sku, q) for sku, q in totals.items()),
            carrier=carrier,
            tracking_number=tracking,
        )

    @staticmethod
    def _stock_changes(root: ET.Element) -> list[WmsEvent]:
        changes: list[WmsEvent] = []
        for item in root.iterfind("items/item"):
            changed = datetime.strptime(_required(item, "changeTime"), TIME_FORMAT).replace(tzinfo=BEIJING)
            changes.append(
                StockChanged(
                    event_id=_required(item, "outBizCode"),
                    warehouse_code=_required(item, "warehouseCode"),
                    sku=_required(item, "itemCode"),
                    delta=parse_quantity(_text(item, "quantity")),
                    changed_at=changed.astimezone(UTC),
                    order_code=_text(item, "orderCode"),
                )
            )
        if not changes:
            raise ValueError("no items")
        return changes
