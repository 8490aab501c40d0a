"""The Kingdee K/3 Cloud ERP connector against a fake K/3 Cloud WebAPI on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.erp import PurchaseLine, PurchaseRequest, SalesLine
from connectors.erp.kingdee import KingdeeErp
from connectors.erp.testing import ErpContract, sample_order
from connectors.sdk import ConflictError, ExternalRef, PermanentError, TransientError
from tests.fakes.kingdee import INVENTORY, REQUISITION, FakeKingdee

ACCT, USER, PASSWORD = "6650a1b2c3d4e5", "hub.api", "K3-pa55word-never-shown"
CUSTOMERS = {"C-CONTRACT"}
MATERIALS = {"SKU-1", "SKU-2"}
ONE = Decimal("1.00")


@pytest.fixture
def fake() -> Iterator[FakeKingdee]:
    with FakeKingdee(ACCT, USER, PASSWORD, CUSTOMERS, MATERIALS) as peer:
        yield peer


def kingdee(fake: FakeKingdee, **settings: Any) -> KingdeeErp:
    values: dict[str, Any] = {"server_url": fake.url, "acct_id": ACCT, "username": USER, "password": PASSWORD}
    return KingdeeErp(KingdeeErp.Settings(**(values | settings)))


class TestKingdeeErp(ErpContract):
    @pytest.fixture(autouse=True)
    def _peer(self, fake: FakeKingdee) -> None:
        self.fake = fake

    async def make_connector(self) -> KingdeeErp:
        return kingdee(self.fake)

    def seed_stock(self, connector: Any, sku: str, warehouse_code: str, on_hand: int) -> None:
        self.fake.seed_stock(sku, warehouse_code, on_hand)

    def is_cancelled(self, connector: Any, reference: str) -> bool:
        return self.fake.is_cancelled(reference)


async def test_a_sales_order_is_saved_submitted_and_audited_with_its_lines(fake: FakeKingdee) -> None:
    # when an order is pushed
    erp = kingdee(fake)
    ref = await erp.push_sales_order(sample_order("SO000123"))
    await erp.aclose()
    # then Kingdee holds one audited bill numbered with the reference
    bill = fake.bill("SO000123")
    assert bill is not None and ref == ExternalRef(str(bill["id"]), "SO000123")
    assert fake.calls == ["ExecuteBillQuery", "Save", "Submit", "Audit"] and bill["status"] == "C"
    assert fake.queries[0]["FilterString"] == "FBillNo='SO000123'"
    model = bill["model"]
    assert model["FDate"] == "2026-11-25"  # 08:00 UTC is 16:00 in Beijing
    assert (model["FCustId"], model["FSaleOrgId"]) == ({"FNumber": "C-CONTRACT"}, {"FNumber": "100"})
    assert model["FSaleOrderFinance"] == {"FSettleCurrId": {"FNumber": "PRE001"}}
    assert model["FBillTypeID"] == {"FNUMBER": "XSDD01_SYS"}
    lines = [
        (e["FMaterialId"]["FNumber"], e["FQty"], e["FTaxPrice"], e["FEntryTaxRate"])
        for e in model["FSaleOrderEntry"]
    ]
    assert lines == [("SKU-1", 2, "10.00", "13"), ("SKU-2", 1, "5.50", "13")]


async def test_prices_arrive_as_exact_decimals_never_floats(fake: FakeKingdee) -> None:
    # given prices a float would not carry exactly
    lines = (
        SalesLine(1, "SKU-1", "First", 3, Decimal("0.1") + Decimal("0.2"), Decimal("0.90")),
        SalesLine(2, "SKU-2", "Second", 1, Decimal("12345678901234.5678"), Decimal("12345678901234.5678")),
        SalesLine(3, "SKU-2", "Third", 1, Decimal("1E+2"), Decimal("100")),
    )
    erp = kingdee(fake, tax_rate=Decimal("9.5"))
    await erp.push_sales_order(replace(sample_order("SO-EXACT"), lines=lines))
    await erp.aclose()
    entries = fake.bills[("SAL_SaleOrder", "SO-EXACT")]["model"]["FSaleOrderEntry"]
    # then each price is the decimal string itself (the fake parses JSON numbers as Decimal: none came)
    assert [(e["FTaxPrice"], e["FEntryTaxRate"]) for e in entries] == [
        ("0.3", "9.5"),
        ("12345678901234.5678", "9.5"),
        ("100", "9.5"),
    ]


async def test_a_lost_session_logs_in_again_and_repeats_the_call_once(fake: FakeKingdee) -> None:
    erp = kingdee(fake)
    await erp.push_sales_order(sample_order("SO-SESSION-1"))
    # when the server forgets the session (a query is answered [[…lost…]], a form operation {…lost…})
    fake.expire_sessions()
    await erp.push_sales_order(sample_order("SO-SESSION-2"))
    fake.expire_before = "Submit"
    await erp.push_sales_order(sample_order("SO-SESSION-3"))
    await erp.aclose()
    # then it logged in again each time and each bill exists once, audited
    assert fake.logins == 3
    assert (fake.creates["SO-SESSION-2"], fake.creates["SO-SESSION-3"]) == (1, 1)
    assert fake.bill("SO-SESSION-3")["status"] == "C"  # type: ignore[index]
    # the Submit refused for the lost session is not counted; its replay is
    assert fake.calls[-3:] == ["Save", "Submit", "Audit"]


async def test_the_session_id_in_the_login_answer_serves_without_a_cookie(fake: FakeKingdee) -> None:
    fake.set_cookie = False
    erp = kingdee(fake)
    ref = await erp.push_sales_order(sample_order("SO-NO-COOKIE"))
    await erp.aclose()
    assert ref.number == "SO-NO-COOKIE" and fake.logins == 1


@pytest.mark.parametrize(
    ("acct", "password"), [(ACCT, "wrong-pa55word"), ("no-such-acct", PASSWORD)], ids=["password", "acct"]
)
async def test_a_refused_login_is_permanent_tried_once_and_never_shows_the_password(
    fake: FakeKingdee, acct: str, password: str
) -> None:
    erp = kingdee(fake, acct_id=acct, password=password)
    with pytest.raises(PermanentError, match="login refused") as e:
        await erp.push_sales_order(sample_order("SO-LOGIN"))
    with pytest.raises(PermanentError, match="login refused"):
        await erp.check()
    await erp.aclose()
    assert fake.requests == 2 and not fake.bills
    assert password not in str(e.value) and password not in repr(erp.settings)


async def test_check_logs_in(fake: FakeKingdee) -> None:
    erp = kingdee(fake)
    result = await erp.check()
    await erp.aclose()
    assert (result.ok, result.detail) == (True, f"logged in to 127.0.0.1 as {USER} (acct {ACCT})")
    assert fake.logins == 1


@pytest.mark.parametrize(
    ("change", "field", "number"),
    [
        ({"customer_code": "C-UNKNOWN"}, "FCustId", "C-UNKNOWN"),
        ({"lines": (SalesLine(1, "SKU-NOPE", "?", 1, ONE, ONE),)}, "FMaterialId", "SKU-NOPE"),
    ],
    ids=["customer", "material"],
)
async def test_a_validation_error_is_permanent_and_names_the_field(
    fake: FakeKingdee, change: dict[str, Any], field: str, number: str
) -> None:
    erp = kingdee(fake)
    with pytest.raises(PermanentError) as e:
        await erp.push_sales_order(replace(sample_order("SO-INVALID"), **change))
    await erp.aclose()
    assert e.value.message.startswith(f"Kingdee Save SAL_SaleOrder SO-INVALID refused: {field}: ")
    assert number in e.value.message
    assert not fake.bills and "Submit" not in fake.calls


async def test_an_unknown_currency_is_permanent_before_calling(fake: FakeKingdee) -> None:
    erp = kingdee(fake)
    with pytest.raises(PermanentError, match="no Kingdee currency for USD"):
        await erp.push_sales_order(replace(sample_order("SO-USD"), currency="USD"))
    await erp.aclose()
    assert fake.requests == 0


@pytest.mark.parametrize("codes", [(13,), ()], ids=["msg-code", "message-text"])
async def test_a_locked_bill_is_a_conflict_then_goes_through(
    fake: FakeKingdee, codes: tuple[int, ...]
) -> None:
    fake.lock_next = 1
    erp = kingdee(fake, conflict_msg_codes=codes)
    with pytest.raises(ConflictError, match="锁定"):
        await erp.push_sales_order(sample_order("SO-LOCKED"))
    ref = await erp.push_sales_order(sample_order("SO-LOCKED"))
    await erp.aclose()
    assert fake.creates["SO-LOCKED"] == 1 and ref.number == "SO-LOCKED"


async def test_a_server_error_is_retried_in_the_call_then_succeeds(fake: FakeKingdee) -> None:
    erp = kingdee(fake)
    await erp.check()
    fake.fail_next = 1
    await erp.push_sales_order(sample_order("SO-500-ONCE"))
    await erp.aclose()
    assert fake.creates["SO-500-ONCE"] == 1 and fake.bill("SO-500-ONCE")["status"] == "C"  # type: ignore[index]


async def test_a_server_that_keeps_failing_is_transient_after_three_tries(fake: FakeKingdee) -> None:
    fake.fail_next = 10
    erp = kingdee(fake)
    with pytest.raises(TransientError, match="HTTP 500"):
        await erp.push_sales_order(sample_order("SO-500"))
    await erp.aclose()
    assert fake.requests == 3 and not fake.bills


async def test_a_slow_server_is_a_transient_timeout_not_repeated_in_the_call(fake: FakeKingdee) -> None:
    erp = kingdee(fake, timeout=0.2)
    await erp.check()
    fake.delay = 0.5
    with pytest.raises(TransientError, match="no answer in time"):
        await erp.push_sales_order(sample_order("SO-SLOW"))
    await erp.aclose()
    assert fake.requests == 2  # the login, then one query


async def test_a_push_retried_after_a_crash_before_audit_finishes_the_same_bill(fake: FakeKingdee) -> None:
    # given a push whose bill was saved but which died before Submit went through
    fake.fail_ops["Submit"] = 3
    first = kingdee(fake)
    with pytest.raises(TransientError):
        await first.push_sales_order(sample_order("SO-CRASH"))
    await first.aclose()
    saved = fake.bill("SO-CRASH")
    assert saved is not None and saved["status"] == "A"
    # when the job runs again, in a new process
    again = kingdee(fake)
    ref = await again.push_sales_order(sample_order("SO-CRASH"))
    await again.aclose()
    # then the saved bill was found by its number, submitted and audited: still one document
    assert ref == ExternalRef(str(saved["id"]), "SO-CRASH")
    assert fake.creates["SO-CRASH"] == 1 and saved["status"] == "C"


async def test_a_save_whose_answer_was_lost_continues_with_the_saved_bill(fake: FakeKingdee) -> None:
    # given Kingdee saves the bill but its answer is an HTTP 500, so the call repeats the Save
    fake.lose_save_answers = 1
    erp = kingdee(fake)
    ref = await erp.push_sales_order(sample_order("SO-LOST-ANSWER"))
    await erp.aclose()
    # then the repeated Save is refused as a duplicate, and the bill found by number is finished
    assert fake.calls == ["ExecuteBillQuery", "Save", "Save", "ExecuteBillQuery", "Submit", "Audit"]
    assert fake.creates["SO-LOST-ANSWER"] == 1 and ref.number == "SO-LOST-ANSWER"


async def test_a_reference_with_quotes_is_quoted_in_the_filter(fake: FakeKingdee) -> None:
    erp = kingdee(fake)
    plain = await erp.push_sales_order(sample_order("SO-1"))
    quoted = await erp.push_sales_order(sample_order("SO-O'BRIEN"))
    again = await erp.push_sales_order(sample_order("SO-O'BRIEN"))
    sneaky = await erp.push_sales_order(sample_order("X' OR FBillNo<>'"))
    await erp.aclose()
    assert fake.queries[1]["FilterString"] == "FBillNo='SO-O''BRIEN'"
    assert quoted == again and len({plain.external_id, quoted.external_id, sneaky.external_id}) == 3
    assert fake.creates == {"SO-1": 1, "SO-O'BRIEN": 1, "X' OR FBillNo<>'": 1}


async def test_stock_is_read_page_by_page_and_summed_per_item_and_warehouse(fake: FakeKingdee) -> None:
    # given five inventory rows, two of them lots of one item in one warehouse
    rows = [
        ("SKU-1", "WH1", 4),
        ("SKU-1", "WH1", 3),
        ("SKU-1", "WH2", 1),
        ("SKU-2", "WH1", 0),
        ("SKU-3", "WH1", 9),
    ]
    for sku, wh, qty in rows:
        fake.seed_stock(sku, wh, qty, locked=1)
    erp = kingdee(fake, page_size=2)
    levels = await erp.read_stock()
    some = await erp.read_stock(["SKU-1", "A'B"])
    await erp.aclose()
    assert [(x.sku, x.warehouse_code, x.on_hand) for x in levels] == [
        ("SKU-1", "WH1", 7),
        ("SKU-1", "WH2", 1),
        ("SKU-2", "WH1", 0),
        ("SKU-3", "WH1", 9),
    ]
    pages = [(q["StartRow"], q["Limit"], q["FilterString"]) for q in fake.queries if q["FormId"] == INVENTORY]
    filtered = "FMaterialId.FNumber IN ('A''B','SKU-1')"
    assert pages == [(0, 2, ""), (2, 2, ""), (4, 2, ""), (0, 2, filtered), (2, 2, filtered)]
    assert fake.queries[0]["FieldKeys"] == "FMaterialId.FNumber,FStockId.FNumber,FBaseQty,FBaseLockQty"
    assert [(x.sku, x.warehouse_code, x.on_hand) for x in some] == [("SKU-1", "WH1", 7), ("SKU-1", "WH2", 1)]


@pytest.mark.parametrize(
    ("mode", "audited", "operations", "closed", "voided"),
    [
        ("close", True, ["ExcuteOperation"], "B", "A"),
        ("void", True, ["UnAudit", "ExcuteOperation"], "A", "B"),
        ("delete", True, ["UnAudit", "Delete"], None, None),
        ("close", False, ["CancelAssign", "ExcuteOperation"], "A", "B"),
    ],
    ids=["close-audited", "void", "delete", "close-unaudited-voids"],
)
async def test_cancel_modes(
    fake: FakeKingdee, mode: str, audited: bool, operations: list[str], closed: str | None, voided: str | None
) -> None:
    erp = kingdee(fake, cancel_mode=mode, auto_audit=audited)
    ref = await erp.push_sales_order(sample_order("SO-CANCEL"))
    before = len(fake.calls)
    await erp.cancel_sales_order("SO-CANCEL", ref)
    await erp.cancel_sales_order("SO-CANCEL", ref)
    await erp.aclose()
    done = [c for c in fake.calls[before:] if c != "ExecuteBillQuery"]
    bill = fake.bill("SO-CANCEL")
    state = (bill["close"], bill["cancel"]) if bill else (None, None)  # deleted: no bill
    assert done == operations and fake.is_cancelled("SO-CANCEL") and state == (closed, voided)


async def test_an_audited_sales_order_is_closed_with_the_sales_order_close_code(fake: FakeKingdee) -> None:
    # given an audited sales order at the ERP
    erp = kingdee(fake)
    ref = await erp.push_sales_order(sample_order("SO-CLOSE"))
    # when it is cancelled with the default settings
    await erp.cancel_sales_order("SO-CLOSE", ref)
    await erp.aclose()
    # then it is closed with SAL_SaleOrder's own operation code, YLBillClose (整单关闭)
    assert fake.executed == [("SAL_SaleOrder", "YLBillClose", ["SO-CLOSE"])]
    assert fake.bill("SO-CLOSE")["close"] == "B"  # type: ignore[index]


async def test_billclose_is_refused_on_a_sales_order_as_k3cloud_does(fake: FakeKingdee) -> None:
    # given an audited sales order and a connector told to close with BillClose, the purchase
    # order's code
    erp = kingdee(fake, close_op_number="BillClose")
    ref = await erp.push_sales_order(sample_order("SO-BILLCLOSE"))
    # when it is cancelled, then K/3 Cloud refuses the operation: a permanent error
    with pytest.raises(PermanentError, match="BillClose") as e:
        await erp.cancel_sales_order("SO-BILLCLOSE", ref)
    await erp.aclose()
    assert e.value.code == "12"
    assert fake.bill("SO-BILLCLOSE")["close"] == "A" and not fake.is_cancelled("SO-BILLCLOSE")  # type: ignore[index]


async def test_a_purchase_request_lands_as_an_audited_requisition(fake: FakeKingdee) -> None:
    lines = (PurchaseLine("SKU-1", 40), PurchaseLine("SKU-2", 5))
    request = PurchaseRequest("PR000007", "WH1", lines, date(2026, 12, 1), "restock")
    erp = kingdee(fake, purchase_org="200", requisition_warehouse_field="F_HUB_StockId")
    ref = await erp.push_purchase_request(request)
    again = await erp.push_purchase_request(request)
    await erp.aclose()
    bill = fake.bill("PR000007", REQUISITION)
    assert bill is not None and bill["status"] == "C"
    assert ref == again == ExternalRef(str(bill["id"]), "PR000007")
    model = bill["model"]
    assert (model["FApplicationOrgId"], model["FNote"]) == ({"FNumber": "200"}, "restock")
    assert model["FBillTypeID"] == {"FNUMBER": "CGSQD01_SYS"}
    entries = [
        (e["FMaterialId"]["FNumber"], e["FReqQty"], e["FArrivalDate"], e["F_HUB_StockId"])
        for e in model["FEntity"]
    ]
    assert entries == [
        ("SKU-1", 40, "2026-12-01", {"FNumber": "WH1"}),
        ("SKU-2", 5, "2026-12-01", {"FNumber": "WH1"}),
    ]
    assert fake.creates["PR000007"] == 1


def test_settings_validate_the_url_and_hide_the_password(fake: FakeKingdee) -> None:
    with pytest.raises(ValueError, match="must start with http"):
        KingdeeErp.Settings.model_validate(
            {"server_url": "erp.example.com", "acct_id": ACCT, "username": USER, "password": PASSWORD}
        )
    erp = kingdee(fake, server_url="https://erp.example.com/K3Cloud/")
    assert str(erp.peer.client.base_url) == "https://erp.example.com/K3Cloud/"
    bare = kingdee(fake, server_url="https://erp.example.com")
    assert str(bare.peer.client.base_url) == "https://erp.example.com/k3cloud/"
    assert PASSWORD not in repr(erp.settings) and PASSWORD not in str(erp.settings.model_dump())
