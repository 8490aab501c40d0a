"""A fake Microsoft Dynamics NAV on 127.0.0.1 that speaks SOAP page services (PROTOCOLS.md).

It loads the same WSDLs as the client, with zeep, and answers through them: each request is read
with its operation's input ``deserialize`` (the operation named by the SOAPAction header, else by
the body's first element) and each answer built with the output ``serialize``, so a request or an
answer that does not fit the page's description fails here as it would at NAV. It serves the
project's own descriptions (``tests/fixtures/nav``) or the real NAV ones (``NAV_FIXTURES``).

Like NAV it wants HTTP Basic credentials (401 otherwise), answers a GET on a service URL with the
WSDL, keeps sales and purchase orders and items in memory with versioned ``Key``s (NAV's Key
changes with every change of the record), numbers new documents, and answers refusals as HTTP 500
with a SOAP Fault carrying NAV's text: an unknown customer, vendor or item, a purchase without a
vendor, deleting what it does not have or with a stale Key, and on demand a lock (``lock_next``)
or any text (``fault_next``), and a Create carried out whose answer is lost (``lose_next_create``:
HTTP 500 without a Fault). FakePeer adds ``fail_next`` (HTTP 500 without a Fault) and ``delay``. ``creates`` counts the Creates per document reference, to assert exactly once.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import zeep
from lxml import etree
from zeep.helpers import serialize_object

from tests.fakes.base import FakePeer

__all__ = ["NAV_FIXTURES", "OWN_WSDLS", "FakeNav", "lock_text", "nav_fault"]

ROOT = Path(__file__).resolve().parents[2]
OWN_WSDLS = ROOT / "tests" / "fixtures" / "nav"
NAV_FIXTURES = ROOT.parent / "shared" / "fixtures" / "nav"  # the real NAV descriptions, when present

REFERENCE_FIELDS = {"SalesOrder": "Additional_Information", "PurchaseOrder": "Your_Reference"}
TABLES = {
    "SalesOrder": ("Sales Header", "S-ORD"),
    "PurchaseOrder": ("Purchase Header", "P-ORD"),
    "ItemCard": ("Item", ""),
}
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True)


def nav_fault(text: str) -> bytes:
    """A SOAP Fault as NAV sends it (HTTP 500)."""
    t = escape(text)
    return (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>'
        '<faultcode xmlns:a="urn:microsoft-dynamics-schemas/error">a:Microsoft.Dynamics.Nav.Types.Exceptions.NavCSideException</faultcode>'
        f'<faultstring xml:lang="en-US">{t}</faultstring>'
        f'<detail><string xmlns="http://schemas.microsoft.com/2003/10/Serialization/">{t}</string></detail>'
        "</s:Fault></s:Body></s:Envelope>"
    ).encode()


def lock_text(table: str) -> str:
    return f"The operation could not complete because a record in the {table} table was locked by another user. Please retry the activity."


class NavRefusal(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass
class _Page:
    service: str
    kind: str  # SalesOrder, PurchaseOrder or ItemCard: the binding's name without _Binding
    wsdl: bytes
    binding: Any
    record: str  # the element a record travels in
    fields: frozenset[str]
    lines: dict[str, tuple[str, frozenset[str]]]  # list field -> (line element, line fields)


def _load(path: Path, service: str) -> _Page:
    client = zeep.Client(str(path), settings=zeep.Settings(strict=False))  # NAV accepts no filter at all
    [(qname, binding)] = client.wsdl.bindings.items()
    [(record, element)] = binding.get("Read").output.body.type.elements
    fields = dict(element.type.elements)
    lines = {}
    for name, child in fields.items():
        inner = getattr(child.type, "elements", None)
        if inner and len(inner) == 1 and inner[0][1].max_occurs == "unbounded":
            lines[name] = (inner[0][0], frozenset(n for n, _ in inner[0][1].type.elements))
    kind = qname.rpartition("}")[2].removesuffix("_Binding")
    return _Page(service, kind, path.read_bytes(), binding, record, frozenset(fields), lines)


def _terms(criteria: str) -> list[str] | None:
    """The values a NAV filter accepts, for the subset the connector sends: ``a|'b'|…``; None:
    no filter."""
    if not criteria:
        return None
    terms, current, quoted, i = [], "", False, 0
    while i < len(criteria):
        c = criteria[i]
        if c == "'" and quoted and criteria[i + 1 : i + 2] == "'":
            current, i = current + "'", i + 2
            continue
        if c == "'":
            quoted = not quoted
        elif c == "|" and not quoted:
            terms.append(current)
            current = ""
        elif not quoted and c in "&<>=.*@()":
            raise NavRefusal(f"FakeNav does not understand the filter {criteria!r}")
        else:
            current += c
        i += 1
    return [*terms, current]


class FakeNav(FakePeer):
    def __init__(
        self,
        folder: Path = OWN_WSDLS,
        *,
        username: str = "HUB",
        password: str = "nav-secret",
        company: str = "CRONUS",
        services: Iterable[str] = ("SalesOrder", "ItemCard", "PurchaseOrder"),
        reference_fields: Mapping[str, str] = REFERENCE_FIELDS,
    ) -> None:
        super().__init__()
        self.username, self.password = username, password
        self.base_url = f"{self.url}/DynamicsNAV/WS/{company}/"
        self.pages = {s: _load(folder / f"{s}.wsdl", s) for s in services if (folder / f"{s}.wsdl").is_file()}
        self._by_path = {f"/DynamicsNAV/WS/{company}/Page/{s}": p for s, p in self.pages.items()}
        self.reference_fields = dict(reference_fields)
        self.customers = {"C-CONTRACT", "10000"}
        self.vendors = {"V-HUB"}
        self.items: dict[str, dict[str, Any]] = {}
        self.documents: dict[str, dict[str, dict[str, Any]]] = {"SalesOrder": {}, "PurchaseOrder": {}}
        self.deleted: dict[str, list[dict[str, Any]]] = {"SalesOrder": [], "PurchaseOrder": []}
        self.creates: Counter[tuple[str, str]] = Counter()  # (kind, reference) -> Creates that succeeded
        self.calls: list[tuple[str, str]] = []  # (service, operation)
        self.bodies: list[bytes] = []  # raw SOAP requests
        self.lock_next = 0  # answer this many calls with NAV's lock fault
        self.fault_next: list[str] = []  # answer the next calls with these fault texts
        self.lose_next_create = 0  # carry out this many Creates but answer HTTP 500 without a Fault
        self._versions: dict[str, int] = {}
        for sku in ("SKU-1", "SKU-2"):
            self.set_stock(sku, 0)
        fake, handler = self, self.server.RequestHandlerClass

        class Handler(handler):  # type: ignore[misc, valid-type]
            def do_GET(self) -> None:
                fake._serve_wsdl(self)

        self.server.RequestHandlerClass = Handler

    # -- test helpers -----------------------------------------------------------------------------

    def set_stock(self, sku: str, inventory: int | Decimal) -> None:
        with self.lock:
            record = self.items.setdefault(sku, {"No": sku, "Description": f"Item {sku}"})
            record["Inventory"] = Decimal(inventory)
            record["Key"] = self._key("ItemCard", sku, bump=True)

    def created(self, reference: str, kind: str = "SalesOrder") -> int:
        return self.creates[(kind, reference)]

    def find(self, reference: str, kind: str = "SalesOrder") -> dict[str, Any] | None:
        field = self.reference_fields[kind]
        return next((d for d in self.documents[kind].values() if d.get(field) == reference), None)

    def was_deleted(self, reference: str, kind: str = "SalesOrder") -> bool:
        field = self.reference_fields[kind]
        return any(d.get(field) == reference for d in self.deleted[kind])

    def touch(self, number: str, kind: str = "SalesOrder") -> None:
        """A clerk changes the document: its Key changes."""
        with self.lock:
            self.documents[kind][number]["Key"] = self._key(kind, number, bump=True)

    # -- HTTP -------------------------------------------------------------------------------------

    def _authorized(self, authorization: str | None) -> bool:
        expected = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
        return authorization == f"Basic {expected}"

    def _serve_wsdl(self, handler: BaseHTTPRequestHandler) -> None:
        with self.lock:
            self.requests += 1
        page = self._by_path.get(handler.path.split("?")[0])
        if not self._authorized(handler.headers.get("Authorization")):
            status, data = 401, b""
        else:
            status, data = (200, page.wsdl) if page else (404, b"")
        handler.send_response(status)
        handler.send_header("Content-Type", "text/xml; charset=utf-8")
        handler.send_header("Content-Length", str(len(data)))
        if status == 401:
            handler.send_header("WWW-Authenticate", 'Basic realm="Dynamics NAV"')
        handler.end_headers()
        handler.wfile.write(data)

    def respond(
        self, path: str, query: dict[str, str], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        if not self._authorized(headers.get("authorization")):
            return 401, b"", {"WWW-Authenticate": 'Basic realm="Dynamics NAV"'}
        page = self._by_path.get(path)
        if page is None:
            return 404, b"", {}
        try:
            envelope = etree.fromstring(body, _PARSER)
            name = (headers.get("soapaction") or "").strip('"').rpartition(":")[2]
            if not name:
                name = etree.QName(envelope.find("{*}Body")[0]).localname
            operation = page.binding.get(name)
            request = operation.input.deserialize(envelope)
        except (etree.XMLSyntaxError, TypeError, IndexError, ValueError, zeep.exceptions.Error) as e:
            return 500, nav_fault(f"The request cannot be read ({type(e).__name__})."), {}
        with self.lock:
            self.calls.append((page.service, name))
            self.bodies.append(body)
            try:
                if self.lock_next > 0:
                    self.lock_next -= 1
                    raise NavRefusal(lock_text(TABLES[page.kind][0]))
                if self.fault_next:
                    raise NavRefusal(self.fault_next.pop(0))
                act = getattr(self, f"_{name.lower()}", None)
                if act is None:
                    raise NavRefusal(f"FakeNav does not implement {name}.")
                result = act(page, request)
            except NavRefusal as refusal:
                return 500, nav_fault(refusal.text), {}
            if name == "Create" and self.lose_next_create > 0:
                self.lose_next_create -= 1
                return 500, {"error": "the answer was lost on the way"}, {}
        [(answer, _)] = operation.output.body.type.elements
        out = operation.output.serialize(**{answer: result})
        return 200, etree.tostring(out.content, xml_declaration=True, encoding="utf-8"), {}

    # -- page operations (under self.lock) --------------------------------------------------------

    def _key(self, kind: str, number: str, bump: bool = False) -> str:
        version = self._versions.get(f"{kind}:{number}", 0) + bump
        self._versions[f"{kind}:{number}"] = version
        return f"{kind[:2]};{number.encode().hex()};{version};"

    def _records(self, page: _Page) -> dict[str, dict[str, Any]]:
        return self.items if page.kind == "ItemCard" else self.documents[page.kind]

    def _out(self, page: _Page, record: dict[str, Any]) -> dict[str, Any]:
        """A record as the page shows it: the fields the WSDL has."""
        return {k: v for k, v in record.items() if k in page.fields}

    def _read(self, page: _Page, number: str) -> dict[str, Any] | None:
        record = self._records(page).get(number)
        return self._out(page, record) if record else None

    def _readmultiple(self, page: _Page, request: Any) -> dict[str, Any] | None:
        rows = sorted(self._records(page).values(), key=lambda r: str(r["No"]))
        for f in request.filter or []:
            if f.Field not in page.fields:
                raise NavRefusal(f"The field {f.Field} of the page {page.service} does not exist.")
            terms = _terms(f.Criteria or "")
            if terms is not None:
                rows = [r for r in rows if str(r.get(f.Field) if r.get(f.Field) is not None else "") in terms]
        size = request.setSize or 0  # 0: all; negative: from the end
        if size < 0:
            rows = rows[::-1]
        if request.bookmarkKey:  # NAV's Key holds the primary key: read on after that record
            after = bytes.fromhex(request.bookmarkKey.split(";")[1]).decode()
            rows = [r for r in rows if (r["No"] > after if size >= 0 else r["No"] < after)]
        rows = rows[: abs(size)] if size else rows
        return {page.record: [self._out(page, r) for r in rows]} if rows else None

    def _create(self, page: _Page, request: Any) -> dict[str, Any]:
        if page.kind not in self.documents:
            raise NavRefusal(f"FakeNav does not create records on {page.service}.")
        record = serialize_object(request, dict)
        table, prefix = TABLES[page.kind]
        number = f"{prefix}{101001 + len(self.documents[page.kind]) + len(self.deleted[page.kind])}"
        party = "Sell_to_Customer_No" if page.kind == "SalesOrder" else "Buy_from_Vendor_No"
        known = self.customers if page.kind == "SalesOrder" else self.vendors
        what = "Customer" if page.kind == "SalesOrder" else "Vendor"
        if record.get(party) and record[party] not in known:
            raise NavRefusal(
                f"The {what} does not exist. Identification fields and values: No.='{record[party]}'"
            )
        [(list_field, (line_element, line_fields))] = page.lines.items()
        lines = (record.get(list_field) or {}).get(line_element) or []
        if lines and not record.get(party):
            label = "Sell-to Customer No." if page.kind == "SalesOrder" else "Buy-from Vendor No."
            raise NavRefusal(
                f"{label} must have a value in {table}: Document Type=Order, No.={number}. It cannot be zero or empty."
            )
        for n, line in enumerate(lines, start=1):
            if line.get("Type") == "Item" and line.get("No") not in self.items:
                raise NavRefusal(
                    f"The Item does not exist. Identification fields and values: No.='{line.get('No')}'"
                )
            extra = {"Key": f"{number};{n * 10000};", "Line_No": n * 10000,
                     "Description": self.items.get(line.get("No"), {}).get("Description")}  # fmt: skip
            line.update({k: v for k, v in extra.items() if k in line_fields})
        record.update({"No": number, "Key": self._key(page.kind, number, bump=True)})
        if "Status" in page.fields:
            record["Status"] = "Open"
        self.documents[page.kind][number] = record
        reference = record.get(self.reference_fields.get(page.kind, ""))
        if reference:
            self.creates[(page.kind, reference)] += 1
        return self._out(page, record)

    def _delete(self, page: _Page, key: str) -> bool:
        table = TABLES[page.kind][0]
        records = self._records(page)
        try:
            number = bytes.fromhex(key.split(";")[1]).decode()
        except (IndexError, ValueError):
            raise NavRefusal(f"The key {key!r} is not valid.") from None
        record = records.get(number)
        if record is None:
            raise NavRefusal(
                f"The {table} does not exist. Identification fields and values: Document Type='Order',No.='{number}'"
            )
        if record["Key"] != key:
            raise NavRefusal(
                f"Another user has modified the record for this {table} after you retrieved it from the database. "
                "Enter your changes again in the updated window, or start the interrupted activity again."
            )
        del records[number]
        if page.kind in self.deleted:
            self.deleted[page.kind].append(record)
        return True
