"""A fake Kingdee K/3 Cloud (金蝶云星空) WebAPI on 127.0.0.1 that speaks the real protocol
(PROTOCOLS.md): ``AuthService.ValidateUser`` checks the data centre, user and password and sets the
``kdservice-sessionid`` cookie; every other call needs a live session and is otherwise answered
"会话信息已丢失，请重新登录" (wrapped in ``[[…]]`` for ExecuteBillQuery, as Kingdee does). Bills are kept
per form and ``FBillNo`` with Kingdee's status rules (Save → A, Submit A/D/Z → B, Audit B → C,
UnAudit C → D, CancelAssign B → A, Delete A/D/Z, and ``ExcuteOperation`` with the form's own
operation numbers: Cancel 作废 on A/D/Z, and for sales orders YLBillClose 整单关闭 on C and
YLUnBillClose 反关闭 of a closed order — ``BillClose`` is the purchase order's code, and like any
operation a form does not have it is refused with ``IsSuccess`` false); Save refuses a repeated bill number and unknown customers or materials with
``Errors[{FieldName, Message}]``; ExecuteBillQuery answers bare arrays, parsing ``FilterString``
(``F='…'`` and ``F IN ('…', …)``, quotes doubled) and paging with ``StartRow``/``Limit``.

Faults: FakePeer's ``fail_next``, ``delay`` and ``within_rate``, plus ``lock_next`` (a bill locked by
another user), ``expire_sessions()`` and ``expire_before`` (sessions lost before the next call of an
operation), ``fail_ops`` (HTTP 500 for the next calls of an operation, nothing done) and
``lose_save_answers`` (the bill is saved, then the answer is an HTTP 500)."""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from http.cookies import SimpleCookie
from typing import Any

from tests.fakes.base import FakePeer

PREFIX = "/k3cloud/Kingdee.BOS.WebApi.ServicesStub."
SUFFIX = ".common.kdsvc"
SESSION_LOST = "会话信息已丢失，请重新登录"
SALES, REQUISITION, INVENTORY = "SAL_SaleOrder", "PUR_Requisition", "STK_Inventory"
ENTRIES = {SALES: "FSaleOrderEntry", REQUISITION: "FEntity"}
BILL_FIELDS = {"fid": "id", "fbillno": "number", "fdocumentstatus": "status", "fclosestatus": "close",
               "fcancelstatus": "cancel"}  # fmt: skip
STOCK_FIELDS = {"fmaterialid.fnumber": 0, "fstockid.fnumber": 1, "fbaseqty": 2, "fbaselockqty": 3}
MAX_ROWS = 10_000
OPERATIONS = {
    "Save",
    "Submit",
    "Audit",
    "UnAudit",
    "CancelAssign",
    "Delete",
    "ExcuteOperation",
    "ExecuteBillQuery",
}
# ExcuteOperation numbers per form: what each does (close, reopen, void). K/3 Cloud binds operation
# codes per form: a sales order closes with YLBillClose, a purchase order with BillClose.
FORM_OPERATIONS = {
    SALES: {"YLBillClose": "close", "YLUnBillClose": "reopen", "Cancel": "void"},
    REQUISITION: {"Cancel": "void"},
}
STEPS = {"Submit": ("ADZ", "B"), "Audit": ("B", "C"), "UnAudit": ("C", "D"), "CancelAssign": ("B", "A")}


def result(
    errors: Sequence[tuple[str | None, str]] = (), entities: Sequence[tuple[int, str]] = (), msg_code: int = 0
) -> dict[str, Any]:
    """Kingdee's ``{"Result": {"ResponseStatus": …}}``: a success when there are no errors."""
    status = {
        "ErrorCode": 500 if errors else 0,
        "IsSuccess": not errors,
        "Errors": [{"FieldName": f, "Message": m, "DIndex": 0} for f, m in errors],
        "SuccessEntitys": [{"Id": i, "Number": n, "DIndex": k} for k, (i, n) in enumerate(entities)],
        "SuccessMessages": [],
        "MsgCode": msg_code,
    }
    first = entities[0] if entities else ("", "")
    return {"Result": {"ResponseStatus": status, "Id": first[0], "Number": first[1], "NeedReturnData": [{}]}}


def _literal(text: str, i: int) -> tuple[str, int]:
    """A quoted string at ``text[i]`` ('' for a quote inside) and the index after it."""
    if i >= len(text) or text[i] != "'":
        raise ValueError("a string literal expected")
    out, i = [], i + 1
    while i < len(text):
        if text[i] == "'":
            if text[i + 1 : i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise ValueError("unterminated string")


def parse_filter(text: str) -> tuple[str, set[str]] | None:
    """``F='v'`` or ``F IN ('a','b')`` → (field in lower case, values); None when empty."""
    if not text.strip():
        return None
    match = re.match(r"\s*([A-Za-z_][\w.]*)\s*(=|\bIN\b)\s*", text, re.IGNORECASE)
    if not match:
        raise ValueError("unsupported filter")
    field, op, i = match.group(1).lower(), match.group(2).upper(), match.end()
    if op == "=":
        value, i = _literal(text, i)
        values = {value}
    else:
        if text[i : i + 1] != "(":
            raise ValueError("( expected")
        values, i = set(), i + 1
        while True:
            while text[i : i + 1] == " ":
                i += 1
            value, i = _literal(text, i)
            values.add(value)
            while text[i : i + 1] == " ":
                i += 1
            if text[i : i + 1] == ",":
                i += 1
                continue
            if text[i : i + 1] != ")":
                raise ValueError(") expected")
            i += 1
            break
    if text[i:].strip():
        raise ValueError("unexpected text after the condition")
    return field, values


def _number(ref: Any) -> str:
    return str(ref.get("FNumber") or ref.get("FNUMBER") or "") if isinstance(ref, dict) else ""


class FakeKingdee(FakePeer):
    def __init__(
        self,
        acct_id: str,
        username: str,
        password: str,
        customers: Iterable[str] = (),
        materials: Iterable[str] = (),
    ) -> None:
        super().__init__()
        self.acct_id, self.username, self.password = acct_id, username, password
        self.customers, self.materials = set(customers), set(materials)
        self.accept_any = False  # True: any customer and material number is known
        self.set_cookie = True  # False: a proxy that drops Set-Cookie (the session id is in the body too)
        self.sessions: set[str] = set()
        self.logins = 0
        self.bills: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: set[tuple[str, str]] = set()
        self.creates: Counter[str] = Counter()  # saves per FBillNo: exactly-once checks
        self.calls: list[str] = []  # operations called inside a session, in order
        self.queries: list[dict[str, Any]] = []  # the data of every ExecuteBillQuery
        self.executed: list[tuple[str, str, list[str]]] = []  # ExcuteOperation: form, opNumber, numbers
        self.inventory: list[tuple[str, str, Decimal, Decimal]] = []  # sku, warehouse, qty, locked
        self.lock_next = 0
        self.expire_before: str | None = None
        self.fail_ops: dict[str, int] = {}
        self.lose_save_answers = 0
        self._state = threading.RLock()
        self._ids = 100_000

    def expire_sessions(self) -> None:
        with self._state:
            self.sessions.clear()

    def seed_stock(self, sku: str, warehouse: str, qty: int | Decimal, locked: int | Decimal = 0) -> None:
        with self._state:
            self.inventory.append((sku, warehouse, Decimal(qty), Decimal(locked)))

    def bill(self, number: str, form: str = SALES) -> dict[str, Any] | None:
        return self.bills.get((form, number))

    def is_cancelled(self, number: str, form: str = SALES) -> bool:
        bill = self.bill(number, form)
        if bill is None:
            return (form, number) in self.deleted
        return bool(bill["close"] == "B" or bill["cancel"] == "B")

    def respond(
        self, path: str, query: dict[str, str], body: bytes, headers: Mapping[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        if not (path.startswith(PREFIX) and path.endswith(SUFFIX)):
            return 404, {"error": "not found"}, {}
        service, _, op = path[len(PREFIX) : -len(SUFFIX)].partition(".")
        try:
            doc = json.loads(body, parse_float=Decimal)  # numbers stay exact: tests see what was sent
        except ValueError:
            return 200, result([(None, "请求的数据格式不正确")]), {}
        with self._state:
            if (service, op) == ("AuthService", "ValidateUser"):
                return self._login(doc)
            if service != "DynamicFormService" or op not in OPERATIONS:
                return 404, {"error": "not found"}, {}
            wrap = (lambda answer: [[answer]]) if op == "ExecuteBillQuery" else (lambda answer: answer)
            if self.expire_before == op:
                self.expire_before = None
                self.sessions.clear()
            cookie = SimpleCookie(headers.get("cookie", ""))
            if (
                "kdservice-sessionid" not in cookie
                or cookie["kdservice-sessionid"].value not in self.sessions
            ):
                return 200, wrap(result([(None, SESSION_LOST)], msg_code=1)), {}
            self.calls.append(op)
            if self.fail_ops.get(op, 0) > 0:
                self.fail_ops[op] -= 1
                return 500, {"error": "internal"}, {}
            if op == "ExecuteBillQuery":
                return 200, self._query(doc), {}
            if self.lock_next > 0:
                self.lock_next -= 1
                locked = "单据正在被用户“李会计”编辑，已被锁定（网络控制），请稍后再试"
                return 200, result([(None, locked)], msg_code=13), {}
            if op == "Save":
                return self._save(doc)
            return 200, self._operate(op, doc), {}

    def _login(self, doc: Any) -> tuple[int, Any, dict[str, str]]:
        params = doc.get("parameters") if isinstance(doc, dict) else None
        if not isinstance(params, list) or len(params) != 4:
            return 200, {"Message": "登录参数不正确", "LoginResultType": 0, "KDSVCSessionId": None}, {}
        acct, user, password, lcid = params
        if acct != self.acct_id:
            return 200, {"Message": "数据中心不存在", "LoginResultType": 0, "KDSVCSessionId": None}, {}
        if user != self.username or password != self.password:
            return 200, {"Message": "用户名或密码错误！", "LoginResultType": 0, "KDSVCSessionId": None}, {}
        session = uuid.uuid4().hex
        self.sessions.add(session)
        self.logins += 1
        answer = {"Message": None, "MessageCode": "CheckPasswordPolicy", "LoginResultType": 1,
                  "Context": {"UserName": user, "DBid": acct, "LogLocale": lcid, "SessionId": session},
                  "KDSVCSessionId": session, "IsSuccessByAPI": True}  # fmt: skip
        cookie = {"Set-Cookie": f"kdservice-sessionid={session}; path=/; HttpOnly"} if self.set_cookie else {}
        return 200, answer, cookie

    @staticmethod
    def _data(doc: Any) -> Any:
        data = doc.get("data") if isinstance(doc, dict) else None
        return json.loads(data, parse_float=Decimal) if isinstance(data, str) else data

    def _save(self, doc: Any) -> tuple[int, Any, dict[str, str]]:
        form, data = doc.get("formid"), self._data(doc)
        if form not in ENTRIES or not isinstance(data, dict) or not isinstance(data.get("Model"), dict):
            return 200, result([(None, "formid 或 data.Model 不正确")], msg_code=8), {}
        model = data["Model"]
        self._ids += 1
        number = str(model.get("FBillNo") or f"{form[:3]}{self._ids:08d}")
        errors: list[tuple[str | None, str]] = []
        if (form, number) in self.bills:
            errors.append(("FBillNo", f"单据编号“{number}”已经存在，不允许重复"))
        if form == SALES and not self.accept_any and _number(model.get("FCustId")) not in self.customers:
            errors.append(("FCustId", f"客户编码为“{_number(model.get('FCustId'))}”的数据不存在或未审核"))
        entries = model.get(ENTRIES[form])
        if not isinstance(entries, list) or not entries:
            errors.append((ENTRIES[form], "单据体不能为空"))
        for entry in entries if isinstance(entries, list) else ():
            sku = _number(entry.get("FMaterialId")) if isinstance(entry, dict) else ""
            if not self.accept_any and sku not in self.materials:
                errors.append(("FMaterialId", f"物料编码为“{sku}”的数据不存在或未审核"))
        if errors:
            return 200, result(errors, msg_code=11), {}
        self.bills[(form, number)] = {"id": self._ids, "number": number, "status": "A", "close": "A",
                                      "cancel": "A", "model": model}  # fmt: skip
        self.deleted.discard((form, number))
        self.creates[number] += 1
        if self.lose_save_answers > 0:
            self.lose_save_answers -= 1
            return 500, {"error": "internal"}, {}
        return 200, result(entities=[(self._ids, number)]), {}

    def _operate(self, op: str, doc: Any) -> dict[str, Any]:
        form, data = doc.get("formid"), self._data(doc)
        numbers = data.get("Numbers") if isinstance(data, dict) else None
        if form not in ENTRIES or not isinstance(numbers, list) or not numbers:
            return result([(None, "formid 或 Numbers 不正确")], msg_code=8)
        if op == "ExcuteOperation":
            self.executed.append((form, str(doc.get("opNumber")), [str(n) for n in numbers]))
        bills = []
        for number in numbers:
            bill = self.bills.get((form, str(number)))
            if bill is None:
                return result([(None, f"单据编号为“{number}”的单据不存在")], msg_code=10)
            bills.append(bill)
        action = FORM_OPERATIONS[form].get(str(doc.get("opNumber")))
        if op == "ExcuteOperation" and action is None:  # e.g. BillClose on a sales order
            return result([(None, f"操作“{doc.get('opNumber')}”不存在")], msg_code=12)
        for bill in bills:
            refusal = self._refusal(op, action, bill)
            if refusal:
                return result([(None, f"{bill['number']}：{refusal}")], msg_code=12)
        for bill in bills:
            if op == "Delete":
                del self.bills[(form, bill["number"])]
                self.deleted.add((form, bill["number"]))
            elif op == "ExcuteOperation":
                if action == "void":
                    bill["cancel"] = "B"
                else:
                    bill["close"] = "B" if action == "close" else "A"
            else:
                bill["status"] = STEPS[op][1]
        return result(entities=[(b["id"], b["number"]) for b in bills])

    @staticmethod
    def _refusal(op: str, action: str | None, bill: dict[str, Any]) -> str | None:
        """Why Kingdee refuses ``op`` (for ExcuteOperation, the ``action`` its number means on
        the bill's form: close, reopen or void) on ``bill`` now, or None."""
        status = bill["status"]
        if bill["cancel"] == "B":
            return "单据已作废，不能执行该操作"
        if op in STEPS:
            if op == "UnAudit" and bill["close"] == "B":
                return "单据已关闭，不能反审核"
            return None if status in STEPS[op][0] else f"单据状态（{status}）不允许{op}"
        if op == "Delete":
            return None if status in "ADZ" else "只能删除创建、暂存或重新审核状态的单据"
        if action == "close":
            return None if status == "C" and bill["close"] == "A" else "只能关闭已审核且未关闭的单据"
        if action == "reopen":
            return None if bill["close"] == "B" else "只能反关闭已关闭的单据"
        if action == "void":
            return None if status in "ADZ" else "只能作废创建、暂存或重新审核状态的单据"
        return f"操作“{action}”不存在"

    def _query(self, doc: Any) -> Any:
        data = self._data(doc)
        if not isinstance(data, dict):
            return [[result([(None, "data 不正确")], msg_code=8)]]
        self.queries.append(data)
        form = data.get("FormId")
        keys = [k.strip().lower() for k in str(data.get("FieldKeys") or "").split(",")]
        fields = BILL_FIELDS if form in ENTRIES else STOCK_FIELDS if form == INVENTORY else None
        if fields is None:
            return [[result([(None, f"业务对象“{form}”不存在")], msg_code=5)]]
        try:
            condition = parse_filter(str(data.get("FilterString") or ""))
        except ValueError as e:
            return [[result([(None, f"过滤条件语法错误：{e}")], msg_code=4)]]
        unknown = [k for k in [*keys, *(condition[:1] if condition else ())] if k not in fields]
        if unknown:
            return [[result([(None, f"字段“{unknown[0]}”不存在")], msg_code=9)]]
        if form == INVENTORY:
            records: list[Any] = [list(row) for row in self.inventory]
        else:
            records = [
                bill for (f, _), bill in sorted(self.bills.items(), key=lambda x: x[1]["id"]) if f == form
            ]
        if condition is not None:
            records = [r for r in records if str(r[fields[condition[0]]]) in condition[1]]
        start, limit = int(data.get("StartRow") or 0), int(data.get("Limit") or 0)
        page = records[start : start + min(limit or MAX_ROWS, MAX_ROWS)]
        return [[self._json(r[fields[k]]) for k in keys] for r in page]

    @staticmethod
    def _json(value: Any) -> Any:
        return float(value) if isinstance(value, Decimal) else value  # Kingdee answers JSON numbers
