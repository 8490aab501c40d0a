"""A fake Qimen (奇门) WMS router on 127.0.0.1 that speaks the real protocol (PROTOCOLS.md): the
MD5 signature over the query parameters and the XML body is checked, ``deliveryorder.create``
answers a repeated ``deliveryOrderCode`` with the order it has, ``order.cancel`` of an unknown
order answers ``ORDER_NOT_EXIST``, ``inventory.query`` lists stock; faults from FakePeer.
Like a real router it answers only on its exact path (``router_url``, e.g. ``…/router``): any
other path, the same one with a trailing slash included, is an HTTP 404 with an HTML page.
It can also build the WMS's own signed callbacks to the hub."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

from connectors.signing import qimen_sign
from connectors.wms.qimen import beijing_time
from tests.fakes.base import FakePeer

NOT_FOUND = b"<html><head><title>404 Not Found</title></head><body><h1>Not Found</h1></body></html>"


def _response(flag: str, code: str = "0", message: str = "", **extra: str) -> bytes:
    parts = "".join(f"<{k}>{v}</{k}>" for k, v in extra.items())
    return f"<response><flag>{flag}</flag><code>{code}</code><message>{message}</message>{parts}</response>".encode()


class FakeQimen(FakePeer):
    def __init__(self, app_key: str, secret: str, customer_id: str, path: str = "/router") -> None:
        super().__init__()
        self.path = path  # the router's one path; anything else is a 404
        self.router_url = self.url + path
        self.app_key, self.secret, self.customer_id = app_key, secret, customer_id
        self.orders: dict[str, dict[str, Any]] = {}
        self.cancelled: set[str] = set()
        self.stock: dict[tuple[str, str], int] = {}
        self.busy_next = 0  # answer SYSTEM_BUSY to this many calls

    def handle(self, path: str, query: dict[str, str], body: bytes) -> tuple[int, dict[str, Any] | bytes]:
        if path != self.path:
            return 404, NOT_FOUND
        if query.get("app_key") != self.app_key or query.get("customerId") != self.customer_id:
            return 200, _response("failure", "INVALID_APP_KEY", "unknown app_key or customerId")
        if query.get("sign") != qimen_sign(self.secret, query, body):
            return 200, _response("failure", "SIGN_ERROR", "sign check failed")
        if self.busy_next > 0:
            self.busy_next -= 1
            return 200, _response("failure", "SYSTEM_BUSY", "busy")
        request = ET.fromstring(body)
        method = query.get("method", "")
        if method == "taobao.qimen.deliveryorder.create":
            code = request.findtext("deliveryOrder/deliveryOrderCode") or ""
            if not code:
                return 200, _response("failure", "PARAM_ERROR", "deliveryOrderCode required")
            if code not in self.orders:
                lines = [(x.findtext("itemCode"), int(x.findtext("planQty") or 0))
                         for x in request.iterfind("orderLines/orderLine")]  # fmt: skip
                self.orders[code] = {"id": f"WMS{len(self.orders) + 1:08d}", "lines": lines,
                                     "warehouse": request.findtext("deliveryOrder/warehouseCode")}  # fmt: skip
            return 200, _response("success", deliveryOrderId=self.orders[code]["id"])
        if method == "taobao.qimen.order.cancel":
            code = request.findtext("orderCode") or ""
            if code not in self.orders:
                return 200, _response("failure", "ORDER_NOT_EXIST", "no such order")
            self.cancelled.add(code)
            return 200, _response("success")
        if method == "taobao.qimen.inventory.query":
            wanted = {x.findtext("itemCode") for x in request.iterfind("criteriaList/criteria")}
            items = "".join(
                f"<item><warehouseCode>{wh}</warehouseCode><itemCode>{sku}</itemCode><quantity>{q}</quantity></item>"
                for (sku, wh), q in sorted(self.stock.items()) if not wanted or sku in wanted
            )  # fmt: skip
            return (
                200,
                f"<response><flag>success</flag><code>0</code><message/><items>{items}</items></response>".encode(),
            )
        return 200, _response("failure", "INVALID_METHOD", "unknown method")

    def callback(self, method: str, body: bytes, at: datetime | None = None) -> tuple[dict[str, str], bytes]:
        """The query parameters and body of a callback from this WMS to the hub, signed."""
        query = {"method": method, "app_key": self.app_key, "customerId": self.customer_id, "format": "xml",
                 "sign_method": "md5", "timestamp": beijing_time(at or datetime.now(UTC)), "v": "2.0"}  # fmt: skip
        query["sign"] = qimen_sign(self.secret, query, body)
        return query, body
