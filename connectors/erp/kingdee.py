"""``kingdee``: an ERP that speaks the Kingdee K/3 Cloud (金蝶云星空) WebAPI.

Every call is ``POST {server_url}/k3cloud/Kingdee.BOS.WebApi.ServicesStub.<Service>.<Op>.common.kdsvc``
with a JSON body, inside one session:

- log in: ``AuthService.ValidateUser`` with ``{"parameters": [acct_id, username, password, lcid]}``.
  ``LoginResultType`` 1 is success and the answer sets the ``kdservice-sessionid`` cookie, which
  every later call carries. Any other result is a PermanentError ("login refused") whose text
  never shows the password. A call answered "会话信息已丢失，请重新登录" (the session expired, or the
  server restarted) logs in again and is sent once more.
- push a sales order (``SAL_SaleOrder``) or a purchase request (``PUR_Requisition``): Kingdee has no
  idempotency key, so ``DynamicFormService.ExecuteBillQuery`` first looks for the bill number
  (``FBillNo`` = the hub's reference, quoted for the filter). A bill found is reused and, when its
  ``FDocumentStatus`` shows it unfinished (Z draft, A created, D re-audit → ``Submit``; B submitted →
  ``Audit``), finished; otherwise ``Save`` (``{"formid", "data": {"Model": …}}``), ``Submit`` and
  ``Audit`` (``{"Numbers": [reference]}``). Prices are sent as decimal strings, never as floats.
  A Save refused while a bill of that number now exists (its first answer was lost and the call
  was repeated) continues with that bill.
- cancel a sales order: looked up by bill number; unknown, closed or voided is done. An audited
  order is closed (``ExcuteOperation`` ``YLBillClose``, the sales order's 整单关闭; reopened by
  ``YLUnBillClose``) in the default ``cancel_mode = "close"``; see :class:`KingdeeSettings` for
  ``void`` and ``delete``. ``BillClose`` is the purchase order's code: K/3 Cloud refuses it on a
  sales order.
- read stock: ``ExecuteBillQuery`` on ``STK_Inventory`` (material, warehouse, base quantity, locked
  quantity), ``page_size`` rows at a time from ``StartRow`` until a short page; rows of one material
  and warehouse (lots, owners) are summed.

Answers: ``{"Result": {"ResponseStatus": {"IsSuccess", "Errors": [{"FieldName", "Message"}],
"SuccessEntitys": [{"Id", "Number"}], "MsgCode"}}}``; ExecuteBillQuery answers a bare array of rows,
or that object wrapped in ``[[…]]`` on failure. A refusal whose message has one of
``conflict_markers`` (a bill locked by a clerk, network control 网络控制) or whose ``MsgCode`` is in
``conflict_msg_codes`` is a ConflictError; the rest are PermanentErrors naming the fields and
Kingdee's text. Transport failures and HTTP 5xx come from :class:`~connectors.http.HttpPeer`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import Field, field_validator

from connectors.erp import PurchaseRequest, SalesOrder
from connectors.http import HttpPeer
from connectors.sdk import (
    CheckResult,
    ConflictError,
    ConnectorSettings,
    ExternalRef,
    PermanentError,
    SecretStr,
    StockLevel,
    TransientError,
)

__all__ = ["KingdeeErp", "KingdeeSettings", "money", "quote"]

BEIJING = timezone(timedelta(hours=8))  # bill dates are the supplier's local (China) dates
STUB = "Kingdee.BOS.WebApi.ServicesStub"
LOGIN = f"{STUB}.AuthService.ValidateUser.common.kdsvc"
SESSION_COOKIE = "kdservice-sessionid"
SESSION_LOST = "会话信息已丢失"  # "…，请重新登录": log in again and repeat the call
SALES, REQUISITION, INVENTORY = "SAL_SaleOrder", "PUR_Requisition", "STK_Inventory"
FIND_KEYS = ("FID", "FBillNo", "FDocumentStatus")
STATE_KEYS = (*FIND_KEYS, "FCloseStatus", "FCancelStatus")
STOCK_KEYS = ("FMaterialId.FNumber", "FStockId.FNumber", "FBaseQty", "FBaseLockQty")
SKUS_PER_QUERY = 200  # keeps a FilterString short
MAX_PAGES = 10_000  # a peer that ignores StartRow would page forever


class KingdeeSettings(ConnectorSettings):
    server_url: str  # the site, e.g. https://erp.example.com (/k3cloud is added unless given)
    acct_id: str  # the data centre (账套) id
    username: str
    password: SecretStr
    lcid: int = 2052  # 2052 simplified Chinese, 1033 English, 3076 traditional Chinese
    sale_org: str = "100"  # FSaleOrgId.FNumber of sales orders
    purchase_org: str = "100"  # application, requiring and purchasing org of purchase requests
    sales_bill_type: str | None = "XSDD01_SYS"  # FBillTypeID (标准销售订单); None: Kingdee's default
    requisition_bill_type: str | None = "CGSQD01_SYS"  # FBillTypeID (标准采购申请); None: default
    saler: str | None = None  # FSalerId.FNumber, for data centres that require a salesperson
    currency_numbers: dict[str, str] = {"CNY": "PRE001"}  # ISO code → FSettleCurrId.FNumber
    tax_rate: Decimal = Field(Decimal("13"), ge=0, le=100)  # FEntryTaxRate, in percent
    requisition_warehouse_field: str | None = None  # a FEntity field to carry the warehouse, if any
    auto_audit: bool = True  # False: stop after Submit, for data centres that approve by workflow
    cancel_mode: Literal["close", "void", "delete"] = "close"
    close_op_number: str = "YLBillClose"  # 整单关闭 of SAL_SaleOrder (BillClose is PUR_PurchaseOrder's)
    void_op_number: str = "Cancel"  # 作废
    conflict_markers: tuple[str, ...] = ("锁定", "正在被", "网络控制", "网控", "locked")
    conflict_msg_codes: tuple[int, ...] = (13,)  # MsgCode 13: network-control conflict (网控冲突)
    page_size: int = Field(10_000, ge=1, le=10_000)  # ExecuteBillQuery Limit
    timeout: float = Field(30.0, gt=0, le=300)

    @field_validator("server_url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


def quote(value: str) -> str:
    """A string literal for a FilterString (Kingdee's SQL-like filter): single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def money(value: Decimal) -> str:
    """A Decimal as an exact decimal string (no exponent), which Kingdee reads as a number."""
    return format(value, "f")


def _base_url(server_url: str) -> str:
    url = server_url.rstrip("/")
    return f"{url}/" if url.lower().endswith("/k3cloud") else f"{url}/k3cloud/"


def _form_op(op: str) -> str:
    return f"{STUB}.DynamicFormService.{op}.common.kdsvc"


def _response_status(answer: Any) -> dict[str, Any] | None:
    """The ``ResponseStatus`` of ``{"Result": …}``, also when ExecuteBillQuery wraps it in
    ``[[…]]``; None for anything else (a query's rows)."""
    if isinstance(answer, list) and len(answer) == 1 and isinstance(answer[0], list) and len(answer[0]) == 1:
        answer = answer[0][0]
    if isinstance(answer, dict) and isinstance(answer.get("Result"), dict):
        status = answer["Result"].get("ResponseStatus")
        return status if isinstance(status, dict) else None
    return None


@dataclass(frozen=True, slots=True)
class _Bill:
    id: str
    number: str
    status: str  # FDocumentStatus: Z draft, A created, B submitted, C audited, D re-audit
    closed: bool = False  # FCloseStatus B
    void: bool = False  # FCancelStatus B


class _SessionLost(Exception):
    pass


class KingdeeErp:
    Settings = KingdeeSettings

    def __init__(self, settings: KingdeeSettings) -> None:
        self.settings = settings
        self.peer = HttpPeer(_base_url(settings.server_url), timeout=settings.timeout)
        self._login_lock = asyncio.Lock()
        self._logins = 0  # sessions opened so far; 0: not logged in yet

    async def aclose(self) -> None:
        await self.peer.aclose()

    async def check(self) -> CheckResult:
        async with self._login_lock:
            await self._login()
        s = self.settings
        return CheckResult(True, f"logged in to {self.peer.host} as {s.username} (acct {s.acct_id})")

    def _safe(self, text: str) -> str:
        """Kingdee's text, short, with the password masked should it ever be echoed."""
        password = self.settings.password.get_secret_value()
        return (text.replace(password, "***") if password else text)[:300]

    async def _login(self) -> None:
        s = self.settings
        cookies = self.peer.client.cookies
        cookies.clear()
        body = {"parameters": [s.acct_id, s.username, s.password.get_secret_value(), s.lcid]}
        answer = await self.peer.post_json(LOGIN, body)
        if not isinstance(answer, dict):
            raise TransientError(f"{self.peer.host}: the login answer is not a JSON object")
        result = answer.get("LoginResultType")
        if result != 1:
            reason = self._safe(str(answer.get("Message") or "no reason given"))
            raise PermanentError(
                f"Kingdee login refused for {s.username} (acct {s.acct_id}): {reason}",
                code=f"LoginResultType {result}",
            )
        if SESSION_COOKIE not in {c.name for c in cookies.jar}:  # behind a proxy that drops cookies
            session = answer.get("KDSVCSessionId")
            if not session:
                raise PermanentError(f"Kingdee login on {self.peer.host} gave no {SESSION_COOKIE}")
            cookies.set(SESSION_COOKIE, str(session), domain=self.peer.host)
        self._logins += 1

    async def _relogin(self, seen: int) -> None:
        """Log in, unless another call already did since session number ``seen``."""
        async with self._login_lock:
            if self._logins == seen:
                await self._login()

    async def _call(self, op: str, body: dict[str, Any], what: str, *, rows: bool = False) -> Any:
        """One WebAPI call inside the session (logging in first, and again once if it was lost):
        the ``Result`` of a form operation, or the rows of a query (``rows``)."""
        if self._logins == 0:
            await self._relogin(0)
        for attempt in range(2):
            seen = self._logins
            answer = await self.peer.post_json(_form_op(op), body)
            try:
                return self._verdict(answer, f"{op} {what}", rows)
            except _SessionLost:
                if attempt:
                    raise TransientError(
                        f"Kingdee {op} {what}: session lost again after logging in"
                    ) from None
                await self._relogin(seen)
        raise AssertionError("unreachable")  # pragma: no cover

    def _verdict(self, answer: Any, doing: str, rows: bool) -> Any:
        status = _response_status(answer)
        if status is None:
            if rows and isinstance(answer, list):
                return answer
            raise TransientError(f"Kingdee {doing}: an answer without Result.ResponseStatus")
        if status.get("IsSuccess") is True:
            return [] if rows else answer["Result"]
        errors = [e for e in status.get("Errors") or () if isinstance(e, dict)]
        messages = [str(e.get("Message") or "") for e in errors]
        if any(SESSION_LOST in m for m in messages):
            raise _SessionLost
        text = "; ".join(
            f"{e['FieldName']}: {m}" if e.get("FieldName") else m
            for e, m in zip(errors, messages, strict=True)
        )
        text = self._safe(text or "no reason given")
        code = status.get("MsgCode")
        shown = None if code is None else str(code)
        markers = self.settings.conflict_markers
        if code in self.settings.conflict_msg_codes or any(k in m for m in messages for k in markers):
            raise ConflictError(f"Kingdee {doing} refused for now: {text}", code=shown)
        raise PermanentError(f"Kingdee {doing} refused: {text}", code=shown)

    async def _query(
        self, form: str, keys: Sequence[str], where: str, start: int, limit: int
    ) -> list[list[Any]]:
        data: dict[str, Any] = {"FormId": form, "FieldKeys": ",".join(keys), "FilterString": where}
        data |= {"OrderString": "", "TopRowCount": 0, "StartRow": start, "Limit": limit}
        found = await self._call("ExecuteBillQuery", {"data": data}, form, rows=True)
        if not all(isinstance(row, list) and len(row) == len(keys) for row in found):
            raise PermanentError(f"Kingdee ExecuteBillQuery {form}: rows do not match the fields asked for")
        return found  # type: ignore[no-any-return]

    async def _find(self, form: str, number: str, keys: Sequence[str] = FIND_KEYS) -> _Bill | None:
        found = await self._query(form, keys, f"FBillNo={quote(number)}", 0, 1)
        if not found:
            return None
        row = found[0]
        closed, void = (row[3] == "B", row[4] == "B") if len(row) > 3 else (False, False)
        return _Bill(str(row[0]), str(row[1] or number), str(row[2] or ""), closed, void)

    async def _operate(self, op: str, form: str, number: str, op_number: str | None = None) -> None:
        body: dict[str, Any] = {"formid": form, "data": {"Numbers": [number]}}
        if op_number is not None:
            body["opNumber"] = op_number
        await self._call(op, body, f"{form} {number}" + (f" ({op_number})" if op_number else ""))

    async def _push(self, form: str, number: str, model: dict[str, Any]) -> ExternalRef:
        """Find the bill by number or save it, then submit and audit it as far as it still needs."""
        bill = await self._find(form, number)
        if bill is None:
            try:
                result = await self._call(
                    "Save", {"formid": form, "data": {"Model": model}}, f"{form} {number}"
                )
            except PermanentError:
                # a Save whose answer was lost (HTTP 5xx, retried at once) is refused as a duplicate
                bill = await self._find(form, number)
                if bill is None:
                    raise
            else:
                bill = self._saved(form, number, result)
        if bill.status in ("Z", "A", "D"):
            await self._operate("Submit", form, bill.number)
            bill = _Bill(bill.id, bill.number, "B")
        if bill.status == "B" and self.settings.auto_audit:
            await self._operate("Audit", form, bill.number)
        return ExternalRef(bill.id, bill.number)

    def _saved(self, form: str, number: str, result: dict[str, Any]) -> _Bill:
        entities = result.get("ResponseStatus", {}).get("SuccessEntitys") or [result]
        first = entities[0] if isinstance(entities[0], dict) else {}
        if not first.get("Id"):
            raise TransientError(f"Kingdee Save {form} {number}: success without an Id")
        saved = str(first.get("Number") or number)
        if saved != number:  # a bill-number rule that ignores FBillNo: the lookup could never find it
            raise PermanentError(
                f"Kingdee numbered {form} {number} as {saved}: let {form} keep given numbers (编码规则)"
            )
        return _Bill(str(first["Id"]), saved, "A")

    async def push_sales_order(self, order: SalesOrder) -> ExternalRef:
        s = self.settings
        currency = s.currency_numbers.get(order.currency)
        if currency is None:
            raise PermanentError(f"no Kingdee currency for {order.currency} (setting currency_numbers)")
        entries = [
            {
                "FMaterialId": {"FNumber": line.sku},
                "FQty": line.quantity,
                "FTaxPrice": money(line.unit_price),  # a decimal string: never through a float
                "FEntryTaxRate": money(s.tax_rate),
            }
            for line in order.lines
        ]
        model: dict[str, Any] = {
            "FBillNo": order.reference,
            "FDate": order.placed_at.astimezone(BEIJING).date().isoformat(),
            "FSaleOrgId": {"FNumber": s.sale_org},
            "FCustId": {"FNumber": order.customer_code},
            "FSaleOrderFinance": {"FSettleCurrId": {"FNumber": currency}},
            "FSaleOrderEntry": entries,
        }
        if s.sales_bill_type:
            model["FBillTypeID"] = {"FNUMBER": s.sales_bill_type}
        if s.saler:
            model["FSalerId"] = {"FNumber": s.saler}
        if order.note:
            model["FNote"] = order.note
        return await self._push(SALES, order.reference, model)

    async def cancel_sales_order(self, reference: str, external: ExternalRef | None) -> None:
        bill = await self._find(SALES, reference, STATE_KEYS)
        if bill is None or bill.closed or bill.void:
            return
        s = self.settings
        if s.cancel_mode == "close" and bill.status == "C":
            await self._operate("ExcuteOperation", SALES, bill.number, s.close_op_number)
            return
        if bill.status == "C":
            await self._operate("UnAudit", SALES, bill.number)
        elif bill.status == "B":
            await self._operate("CancelAssign", SALES, bill.number)  # withdraw the submission (撤销)
        if s.cancel_mode == "delete":
            await self._operate("Delete", SALES, bill.number)
        else:
            await self._operate("ExcuteOperation", SALES, bill.number, s.void_op_number)

    async def push_purchase_request(self, request: PurchaseRequest) -> ExternalRef:
        s = self.settings
        org = {"FNumber": s.purchase_org}
        entries: list[dict[str, Any]] = []
        for line in request.lines:
            entry: dict[str, Any] = {
                "FMaterialId": {"FNumber": line.sku},
                "FReqQty": line.quantity,
                "FRequireOrgId": org,
                "FPurchaseOrgId": org,
            }
            if request.needed_by is not None:
                entry["FArrivalDate"] = request.needed_by.isoformat()
            if s.requisition_warehouse_field:
                entry[s.requisition_warehouse_field] = {"FNumber": request.warehouse_code}
            entries.append(entry)
        model: dict[str, Any] = {
            "FBillNo": request.reference,
            "FApplicationDate": datetime.now(BEIJING).date().isoformat(),
            "FApplicationOrgId": org,
            "FRequestType": "Material",
            "FEntity": entries,
        }
        if s.requisition_bill_type:
            model["FBillTypeID"] = {"FNUMBER": s.requisition_bill_type}
        if request.note:
            model["FNote"] = request.note
        return await self._push(REQUISITION, request.reference, model)

    async def read_stock(self, skus: Sequence[str] | None = None) -> list[StockLevel]:
        now = datetime.now(UTC)
        if skus is None:
            filters = [""]
        else:
            wanted = sorted(set(skus))
            chunks = [wanted[i : i + SKUS_PER_QUERY] for i in range(0, len(wanted), SKUS_PER_QUERY)]
            filters = [
                f"FMaterialId.FNumber IN ({','.join(quote(sku) for sku in chunk)})" for chunk in chunks
            ]
        totals: dict[tuple[str, str], Decimal] = {}
        for where in filters:
            for row in await self._all_rows(INVENTORY, STOCK_KEYS, where):
                if not row[0] or not row[1]:
                    continue
                key = (str(row[0]), str(row[1]))
                totals[key] = totals.get(key, Decimal(0)) + self._quantity(row[2])
        return [StockLevel(sku, wh, int(qty), now) for (sku, wh), qty in sorted(totals.items())]

    async def _all_rows(self, form: str, keys: Sequence[str], where: str) -> list[list[Any]]:
        size = self.settings.page_size
        found: list[list[Any]] = []
        for page in range(MAX_PAGES):
            rows = await self._query(form, keys, where, page * size, size)
            found.extend(rows)
            if len(rows) < size:
                return found
        raise PermanentError(f"Kingdee ExecuteBillQuery {form}: more than {MAX_PAGES} pages")

    @staticmethod
    def _quantity(value: Any) -> Decimal:
        try:
            quantity = Decimal(str(value if value is not None else 0))
        except InvalidOperation:
            quantity = Decimal("NaN")
        if not quantity.is_finite():
            raise PermanentError(
                f"Kingdee {INVENTORY}: a quantity that is not a number ({str(value)[:20]!r})"
            )
        return quantity
