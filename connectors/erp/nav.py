"""``nav``: Microsoft Dynamics NAV (and Business Central on premises) over SOAP page services.

NAV publishes each page it is told to as a SOAP 1.1 service at ``<base_url>Page/<Service>``
(``base_url`` like ``http://nav:7047/DynamicsNAV/WS/CRONUS/``, the company URL-encoded); a GET
on that URL answers the page's WSDL. Every page service has the namespace
``urn:microsoft-dynamics-schemas/page/<service in lower case>`` and the same operations:
``Read(No)``, ``ReadMultiple(filter[{Field, Criteria}], bookmarkKey, setSize)``, ``Create``,
``Update`` and ``Delete(Key)``. ``Key`` is NAV's opaque record key *with its version*: it changes
whenever the record does, so it is read fresh before use and never kept as the hub's reference.
Authentication is HTTP Basic (NAV's NavUserPassword credential type). NAV answers a refusal with
HTTP 500 and a SOAP Fault whose faultstring is NAV's own error text; each call is one NAV
transaction, so a call that faulted changed nothing.

What this connector does, over three pages (service names and WSDL locations are settings):

- ``push_sales_order``: ``SalesOrder.ReadMultiple`` on ``reference_field`` = the hub's reference
  (quoted as a NAV filter literal); the first match is returned; else ``Create`` with
  ``Sell_to_Customer_No``, the reference and ``SalesLines`` (``Type=Item``, ``No`` = SKU,
  ``Quantity``, ``Unit_Price`` sent as exact decimals). NAV's sales order page has no field for
  another system's order number (the real NAV 2016 page 42 has neither External_Document_No nor
  Your_Reference), so the reference goes into a free text field both our test page and the real
  page have: ``Additional_Information`` by default. A database whose page has
  ``External_Document_No`` should set ``reference_field`` to it. Looking up before creating is
  what makes a retried push (after a crash between NAV's answer and the hub's commit) find the
  order instead of creating a second one.
- ``cancel_sales_order``: reads the order (``Read`` by the NAV number the hub was given, else by
  reference) for its current ``Key`` and calls ``Delete`` with it. An order NAV does not have is
  already cancelled. NAV refuses to delete, for example, an order already shipped: that fault is
  permanent and surfaces to staff.
- ``push_purchase_request``: the same lookup-then-``Create`` on the ``PurchaseOrder`` page with
  ``purchase_reference_field`` (``Your_Reference``): an open purchase order at the request's
  location, from ``purchase_vendor_no`` (NAV refuses purchase lines without a vendor).
- ``read_stock``: ``ItemCard.ReadMultiple`` (filtered on ``No`` when SKUs are given, in chunks),
  paged with ``bookmarkKey`` = the last record's Key and ``setSize`` = ``page_size``.
  ``Inventory`` is the item's on-hand quantity over all locations, reported in whole units
  (rounded down) under ``location_code``.

Failures: a Fault whose text contains one of ``conflict_faults`` (a record locked by another
user, a deadlock, a record changed since it was read) is a ConflictError; one of
``transient_faults`` (timeouts) a TransientError; any other Fault a PermanentError carrying NAV's
text. HTTP 401/403 is a PermanentError "credentials refused"; 429 and 503 are transient; a 5xx
without a Fault, a timeout or a lost connection is transient. Reads (and Delete) are retried
briefly inside the call; a Create is retried in the call only when NAV surely did not get it (no
connection, 503, a fault): after a timeout the job retries later and the lookup finds the order
if NAV did create it.

zeep loads a WSDL synchronously: each page's is loaded once, lazily, in a worker thread
(``asyncio.to_thread``), then bound to its endpoint with ``create_service`` so that the endpoint
is always ``<base_url>Page/<Service>``, whatever address the WSDL names. zeep objects never leave
this module.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from urllib.parse import quote

import httpx
import zeep
from pydantic import Field, field_validator
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter
from zeep import xsd
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError, ValidationError
from zeep.helpers import serialize_object
from zeep.proxy import AsyncServiceProxy
from zeep.transports import AsyncTransport

from connectors.erp import PurchaseRequest, SalesOrder
from connectors.http import retry_after_seconds
from connectors.sdk import (
    CheckResult,
    ConflictError,
    ConnectorError,
    ConnectorSettings,
    ExternalRef,
    PermanentError,
    SecretStr,
    StockLevel,
    TransientError,
)

__all__ = ["NavErp", "nav_literal"]

QUICK_RETRY_LIMIT = 2.0  # seconds: a peer asking to wait longer is retried by the job instead
SKUS_PER_FILTER = 50  # SKUs OR-ed into one ReadMultiple filter
_FAULT = re.compile(rb"<(?:[\w.-]+:)?Fault[\s>]")

SALES, ITEMS, PURCHASE = "sales", "items", "purchase"


class NavSettings(ConnectorSettings):
    base_url: str  # http://nav:7047/DynamicsNAV/WS/CRONUS/ (company URL-encoded)
    username: str
    password: SecretStr
    sales_order_service: str = "SalesOrder"
    item_card_service: str = "ItemCard"
    purchase_service: str = "PurchaseOrder"  # "": no purchase page published
    # Where each page's WSDL is read from (a URL or a file path); default: the service URL itself.
    sales_order_wsdl: str | None = None
    item_card_wsdl: str | None = None
    purchase_wsdl: str | None = None
    reference_field: str = "Additional_Information"  # the SalesOrder field holding the hub's reference
    purchase_reference_field: str = "Your_Reference"
    purchase_vendor_no: str | None = None
    location_code: str = ""  # NAV location the stock levels are reported under (the hub's warehouse code)
    timeout: float = Field(30.0, gt=0, le=300)
    page_size: int = Field(500, ge=1, le=10_000)  # ReadMultiple setSize when reading stock
    attempts: int = Field(3, ge=1, le=5)  # tries inside one call, for what is safe to repeat
    conflict_faults: tuple[str, ...] = (
        "locked by another user",
        "deadlock",
        "Another user has modified",
        "being updated in a transaction done by another session",
    )
    transient_faults: tuple[str, ...] = ("timeout", "timed out")
    not_found_faults: tuple[str, ...] = ("does not exist",)

    @field_validator("base_url")
    @classmethod
    def _service_root(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL like http://nav:7047/DynamicsNAV/WS/CRONUS/")
        return value if value.endswith("/") else value + "/"


def nav_literal(value: str) -> str:
    """``value`` as a NAV filter that matches exactly it: quoted, so ``|&<>=.*@()`` are literal."""
    return "'" + value.replace("'", "''") + "'"


def _whole(quantity: Any) -> int:
    if quantity is None:
        return 0
    return int(Decimal(quantity).to_integral_value(rounding=ROUND_FLOOR))


class _Unsure(TransientError):
    """The request may have reached NAV (no answer in time, connection lost, 5xx without Fault)."""


class _Transport(AsyncTransport):
    """zeep's async transport, with HTTP outcomes mapped onto the taxonomy before zeep parses:
    only a 200, or a 500 that carries a SOAP Fault, reaches zeep."""

    def __init__(self, host: str, client: httpx.AsyncClient, wsdl_client: httpx.Client) -> None:
        super().__init__(client=client, wsdl_client=wsdl_client)  # type: ignore[no-untyped-call]
        self.host = host

    async def post(self, address: str, message: bytes, headers: dict[str, str]) -> httpx.Response:
        try:
            response = await self.client.post(address, content=message, headers=headers)
        except httpx.ConnectTimeout:
            raise TransientError(f"{self.host}: no connection in time") from None
        except httpx.ConnectError as e:
            raise TransientError(f"{self.host}: cannot reach it ({type(e).__name__})") from None
        except httpx.TimeoutException:
            raise _Unsure(f"{self.host}: no answer in time") from None
        except httpx.TransportError as e:
            raise _Unsure(f"{self.host}: connection lost ({type(e).__name__})") from None
        status = response.status_code
        if status == 200 or (status == 500 and _FAULT.search(response.content)):
            return response
        if status in (401, 403):
            raise PermanentError(f"{self.host}: credentials refused (HTTP {status})", code=str(status))
        if status in (429, 503):
            wait = retry_after_seconds(response.headers.get("retry-after"))
            raise TransientError(f"{self.host}: busy (HTTP {status})", retry_after=wait)
        if status >= 500:
            raise _Unsure(f"{self.host}: HTTP {status} without a SOAP Fault")
        raise PermanentError(f"{self.host}: HTTP {status}", code=str(status))


class _Client(zeep.AsyncClient):
    """zeep 4.3's AsyncClient.create_service returns a *synchronous* proxy (python-zeep issues
    #1168 and #1288, fixes not merged): this one returns the async proxy, as ``bind`` does."""

    def create_service(self, binding_name: str, address: str) -> Any:
        try:
            binding = self.wsdl.bindings[binding_name]
        except KeyError:
            raise ValueError(f"no binding {binding_name} in the WSDL") from None
        return AsyncServiceProxy(self, binding, address=address)  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class _Page:
    """A page service bound to its endpoint, and what its WSDL says a record holds."""

    name: str  # the service name, for messages
    service: Any  # zeep AsyncServiceProxy
    record: str  # the element a record travels in (the service name, by NAV's convention)
    fields: frozenset[str]
    lines: dict[str, str]  # list field -> its line element, e.g. SalesLines -> Sales_Order_Line


class NavErp:
    Settings = NavSettings

    def __init__(self, settings: NavSettings) -> None:
        self.settings = settings
        self.host = httpx.URL(settings.base_url).host or settings.base_url
        auth = httpx.BasicAuth(settings.username, settings.password.get_secret_value())
        timeout = httpx.Timeout(settings.timeout)
        self._wsdl_client = httpx.Client(auth=auth, timeout=timeout, follow_redirects=False)
        client = httpx.AsyncClient(auth=auth, timeout=timeout, follow_redirects=False)
        self._transport = _Transport(self.host, client, self._wsdl_client)
        self._pages: dict[str, _Page] = {}
        self._loading = asyncio.Lock()

    async def aclose(self) -> None:
        await self._transport.aclose()  # type: ignore[no-untyped-call]
        self._wsdl_client.close()

    # -- pages ------------------------------------------------------------------------------------

    def _where(self, which: str) -> tuple[str, str]:
        """(service name, WSDL location) of a page."""
        s = self.settings
        service, wsdl = {
            SALES: (s.sales_order_service, s.sales_order_wsdl),
            ITEMS: (s.item_card_service, s.item_card_wsdl),
            PURCHASE: (s.purchase_service, s.purchase_wsdl),
        }[which]
        if not service:
            raise PermanentError("no NAV purchase page is configured (purchase_service)")
        return service, wsdl or self._address(service)

    def _address(self, service: str) -> str:
        return f"{self.settings.base_url}Page/{quote(service)}"

    async def _page(self, which: str) -> _Page:
        async with self._loading:
            page = self._pages.get(which)
            if page is None:
                service, wsdl = self._where(which)
                page = await asyncio.to_thread(self._load, service, wsdl)
                self._check_fields(which, page)
                self._pages[which] = page
            return page

    def _load(self, service: str, wsdl: str) -> _Page:
        """Read and parse one page's WSDL (blocking: runs in a worker thread)."""
        try:
            client = _Client(wsdl, transport=self._transport)  # type: ignore[no-untyped-call]
        except TransportError as e:
            if e.status_code in (401, 403):
                raise PermanentError(f"{self.host}: credentials refused (HTTP {e.status_code})") from None
            if e.status_code == 404:
                raise PermanentError(
                    f"{self.host}: no web service {service} is published (HTTP 404)"
                ) from None
            raise TransientError(f"{self.host}: the {service} WSDL answered HTTP {e.status_code}") from None
        except httpx.TransportError as e:
            raise TransientError(
                f"{self.host}: cannot read the {service} WSDL ({type(e).__name__})"
            ) from None
        except OSError as e:
            raise PermanentError(f"cannot read the {service} WSDL at {wsdl} ({type(e).__name__})") from None
        except (ZeepError, ValueError) as e:  # not XML, or not a WSDL zeep understands
            raise PermanentError(f"the {service} WSDL cannot be used ({type(e).__name__})") from None
        bindings = list(client.wsdl.bindings)
        if len(bindings) != 1:
            raise PermanentError(
                f"the {service} WSDL has {len(bindings)} bindings; a NAV page service has one"
            )
        binding = client.wsdl.bindings[bindings[0]]
        try:
            read_result = binding.get("Read").output.body.type.elements  # type: ignore[no-untyped-call]
            [(record, element)] = read_result
            fields = {name: child for name, child in element.type.elements}
        except (ValueError, AttributeError):
            raise PermanentError(
                f"the {service} WSDL is not a NAV page service (no Read operation)"
            ) from None
        lines: dict[str, str] = {}
        for name, child in fields.items():
            inner = getattr(child.type, "elements", None)
            if inner and len(inner) == 1 and inner[0][1].max_occurs == "unbounded":
                lines[name] = inner[0][0]
        return _Page(
            name=service,
            service=client.create_service(bindings[0], self._address(service)),
            record=record,
            fields=frozenset(fields),
            lines=lines,
        )

    def _check_fields(self, which: str, page: _Page) -> None:
        s = self.settings
        needed = {
            SALES: (s.reference_field, "Sell_to_Customer_No", "SalesLines"),
            ITEMS: ("Inventory",),
            PURCHASE: (s.purchase_reference_field, "Buy_from_Vendor_No", "PurchLines"),
        }[which]
        missing = [f for f in ("Key", "No", *needed) if f not in page.fields]
        if missing:
            raise PermanentError(f"the NAV page {page.name} has no field {', '.join(missing)}")
        if which != ITEMS and needed[-1] not in page.lines:
            raise PermanentError(f"the NAV page {page.name}: {needed[-1]} is not a list of lines")

    # -- calls ------------------------------------------------------------------------------------

    async def _call(
        self, page: _Page, operation: str, args: dict[str, Any], *, safe: bool, missing_ok: bool = False
    ) -> Any:
        """One operation, as plain data; quick retries for what ``safe`` says may be repeated.
        ``missing_ok``: a fault saying the record does not exist answers None."""

        def quick(exc: BaseException) -> bool:
            if not isinstance(exc, TransientError) or (isinstance(exc, _Unsure) and not safe):
                return False
            return exc.retry_after is None or exc.retry_after <= QUICK_RETRY_LIMIT

        async for attempt in AsyncRetrying(
            retry=retry_if_exception(quick),
            stop=stop_after_attempt(self.settings.attempts),
            wait=wait_exponential_jitter(multiplier=0.2, max=2.0, jitter=0.2),
            reraise=True,
        ):
            with attempt:
                return await self._once(page, operation, args, missing_ok)
        raise AssertionError("unreachable")  # pragma: no cover - AsyncRetrying returns or raises

    async def _once(self, page: _Page, operation: str, args: dict[str, Any], missing_ok: bool) -> Any:
        where = f"NAV {page.name}.{operation}"
        try:
            result = await getattr(page.service, operation)(**args)
        except ConnectorError:
            raise
        except Fault as fault:
            text = " ".join(str(fault.message or "").split())[:300]
            if missing_ok and self._matches(text, self.settings.not_found_faults):
                return None
            raise self._fault(where, text, fault.code) from None
        except TransportError as e:
            raise _Unsure(f"{where}: HTTP {e.status_code} with an answer that is not SOAP") from None
        except ValidationError as e:
            raise PermanentError(f"{where}: the request does not fit the WSDL ({e.message})") from None
        except ZeepError as e:
            raise _Unsure(f"{where}: an answer that does not fit the WSDL ({type(e).__name__})") from None
        return serialize_object(result, dict)  # type: ignore[no-untyped-call]

    @staticmethod
    def _matches(text: str, needles: Sequence[str]) -> bool:
        lowered = text.lower()
        return any(n.lower() in lowered for n in needles)

    def _fault(self, where: str, text: str, code: Any) -> ConnectorError:
        short = str(code).rsplit(".", 1)[-1][:60] if code else None
        if self._matches(text, self.settings.conflict_faults):
            return ConflictError(f"{where}: {text}", code=short)
        if self._matches(text, self.settings.transient_faults):
            return TransientError(f"{where}: {text}", code=short)
        return PermanentError(f"{where} refused: {text}", code=short)

    async def _read_multiple(
        self, page: _Page, filters: list[dict[str, str]], set_size: int, bookmark: str | None = None
    ) -> list[dict[str, Any]]:
        # No filter at all (not even an empty one) reads every record.
        args = {"filter": filters or xsd.SkipValue, "bookmarkKey": bookmark, "setSize": set_size}
        result = await self._call(page, "ReadMultiple", args, safe=True)
        if isinstance(result, dict):  # zeep unwraps <Page>_List to its list of records; in case it does not
            result = result.get(page.record)
        return list(result or [])

    async def _find(self, page: _Page, field: str, value: str) -> dict[str, Any] | None:
        found = await self._read_multiple(page, [{"Field": field, "Criteria": nav_literal(value)}], 1)
        return found[0] if found else None

    def _ref(self, page: _Page, record: dict[str, Any] | None) -> ExternalRef:
        number = (record or {}).get("No")
        if not number:
            raise _Unsure(f"NAV {page.name} answered without the document's No")
        return ExternalRef(external_id=str(number), number=str(number))

    async def _create(
        self, page: _Page, lookup_field: str, reference: str, record: dict[str, Any]
    ) -> ExternalRef:
        existing = await self._find(page, lookup_field, reference)
        if existing is not None:
            return self._ref(page, existing)
        created = await self._call(page, "Create", {page.record: record}, safe=False)
        return self._ref(page, created)

    # -- the ERP contract -------------------------------------------------------------------------

    async def check(self) -> CheckResult:
        sales = await self._page(SALES)
        items = await self._page(ITEMS)
        names = [sales.name, items.name]
        if self.settings.purchase_service:
            names.append((await self._page(PURCHASE)).name)
        await self._read_multiple(sales, [], 1)
        return CheckResult(
            True, f"reached NAV at {self.host}: pages {', '.join(names)} loaded, {sales.name} read"
        )

    async def push_sales_order(self, order: SalesOrder) -> ExternalRef:
        page = await self._page(SALES)
        record = {
            "Sell_to_Customer_No": order.customer_code,
            self.settings.reference_field: order.reference,
            "SalesLines": {
                page.lines["SalesLines"]: [
                    {"Type": "Item", "No": x.sku, "Quantity": Decimal(x.quantity), "Unit_Price": x.unit_price}
                    for x in order.lines
                ]
            },
        }
        return await self._create(page, self.settings.reference_field, order.reference, record)

    async def cancel_sales_order(self, reference: str, external: ExternalRef | None) -> None:
        page = await self._page(SALES)
        if external is not None:
            record = await self._call(
                page, "Read", {"No": external.number or external.external_id}, safe=True
            )
        else:
            record = await self._find(page, self.settings.reference_field, reference)
        if not record or not record.get("Key"):
            return  # NAV does not have it: nothing to cancel
        await self._call(page, "Delete", {"Key": record["Key"]}, safe=True, missing_ok=True)

    async def push_purchase_request(self, request: PurchaseRequest) -> ExternalRef:
        page = await self._page(PURCHASE)
        field = self.settings.purchase_reference_field
        optional = {"Location_Code": request.warehouse_code, "Expected_Receipt_Date": request.needed_by}
        record: dict[str, Any] = {
            "Buy_from_Vendor_No": self.settings.purchase_vendor_no,
            field: request.reference,
            **{k: v for k, v in optional.items() if k in page.fields and v is not None},
            "PurchLines": {
                page.lines["PurchLines"]: [
                    {"Type": "Item", "No": x.sku, "Quantity": Decimal(x.quantity)} for x in request.lines
                ]
            },
        }
        return await self._create(page, field, request.reference, record)

    async def read_stock(self, skus: Sequence[str] | None = None) -> list[StockLevel]:
        page = await self._page(ITEMS)
        if skus is None:
            batches: list[list[dict[str, str]]] = [[]]
        else:
            wanted = list(dict.fromkeys(skus))
            batches = [
                [
                    {
                        "Field": "No",
                        "Criteria": "|".join(nav_literal(s) for s in wanted[i : i + SKUS_PER_FILTER]),
                    }
                ]
                for i in range(0, len(wanted), SKUS_PER_FILTER)
            ]
        now = datetime.now(UTC)
        levels: list[StockLevel] = []
        size = self.settings.page_size
        for filters in batches:
            bookmark: str | None = None
            while True:
                records = await self._read_multiple(page, filters, size, bookmark)
                levels.extend(
                    StockLevel(str(r["No"]), self.settings.location_code, _whole(r.get("Inventory")), now)
                    for r in records
                )
                if len(records) < size:
                    break  # NAV returns at most setSize records: fewer means the end
                bookmark = records[-1]["Key"]
        return levels
