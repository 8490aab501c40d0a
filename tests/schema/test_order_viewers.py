"""What a customer's users see of staff on an order (hub.domain.orders.viewing): staff as a role,
never an e-mail address; approval comments stay staff-only; reasons are shown. Staff see all."""

from __future__ import annotations

import json
from typing import Any

from hub.domain.auth.models import Role
from tests.support import Hub

ORDER = """id status approval { steps { role status decidedBy comment } } timeline { kind message }"""
PAYLOAD = f"{{ order {{ {ORDER} }} errors {{ code }} }}"
CREATE = (
    "mutation($lines: [OrderLineInput!]!, $customer: ID) "
    f"{{ orderCreate(input: {{lines: $lines, customerId: $customer}}) {PAYLOAD} }}"
)
APPROVE = f"mutation($id: ID!, $comment: String) {{ orderApprove(id: $id, comment: $comment) {PAYLOAD} }}"
REJECT = f"mutation($id: ID!, $reason: String!) {{ orderReject(id: $id, reason: $reason) {PAYLOAD} }}"
CANCEL = f"mutation($id: ID!, $reason: String) {{ orderCancel(id: $id, reason: $reason) {PAYLOAD} }}"
ONE = f"query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"
LIST = f"{{ orders(first: 10) {{ edges {{ node {{ {ORDER} }} }} }} }}"
MINE = f"{{ me {{ customer {{ orders(first: 10) {{ edges {{ node {{ {ORDER} }} }} }} }} }} }}"


async def _seed(hub: Hub) -> str:
    """Staff, two users of ACME, stock; the customer's opaque id."""
    await hub.add_customer("ACME")
    for label, role in (("manager", Role.SALES_MANAGER), ("admin", Role.ADMIN), ("sales", Role.SALES)):
        await hub.add_user(label, [role], email=f"{label}@supplier.example")
    await hub.add_user("buyer", [Role.CUSTOMER], customer="ACME", email="buyer@acme.example")
    await hub.add_user("colleague", [Role.CUSTOMER], customer="ACME", email="colleague@acme.example")
    await hub.add_warehouse("W1")
    await hub.add_product("SKU-A", "10.00", {"W1": 100})
    return (await hub.data("{ me { customer { id } } }", as_="buyer"))["me"]["customer"]["id"]  # type: ignore[no-any-return]


async def _place(hub: Hub, as_: str = "buyer", customer: str | None = None) -> str:
    data = await hub.data(CREATE, {"lines": [{"sku": "SKU-A", "quantity": 2}], "customer": customer}, as_=as_)
    assert data["orderCreate"]["errors"] == []
    return data["orderCreate"]["order"]["id"]  # type: ignore[no-any-return]


async def _change(hub: Hub, mutation: str, order_id: str, as_: str, **variables: Any) -> dict[str, Any]:
    data = await hub.data(mutation, {"id": order_id, **variables}, as_=as_)
    payload = next(iter(data.values()))
    assert payload["errors"] == [], payload
    return payload["order"]  # type: ignore[no-any-return]


def _addresses(order: dict[str, Any]) -> set[str]:
    """Every word with an '@' in the order's people and sentences."""
    text = json.dumps([order["approval"], order["timeline"]])
    return {w.strip('",:;') for w in text.split() if "@" in w}


async def test_a_customer_sees_staff_by_role_and_no_approval_comment(hub: Hub) -> None:
    # given three orders of ACME: approved with a comment, rejected with a reason, and one placed
    # by sales on ACME's behalf and cancelled by the admin with a reason
    acme = await _seed(hub)
    approved = await _place(hub)
    await _change(hub, APPROVE, approved, "manager", comment="Credit checked with finance")
    rejected = await _place(hub)
    await _change(hub, REJECT, rejected, "admin", reason="Discontinued model")
    cancelled = await _place(hub, as_="sales", customer=acme)
    await _change(hub, CANCEL, cancelled, "admin", reason="Duplicate of SO-7")

    # when the buyer reads them, one by one and as lists
    seen = {
        oid: (await hub.data(ONE, {"id": oid}, as_="buyer"))["order"]
        for oid in (approved, rejected, cancelled)
    }
    listed = [e["node"] for e in (await hub.data(LIST, as_="buyer"))["orders"]["edges"]]
    mine = [e["node"] for e in (await hub.data(MINE, as_="buyer"))["me"]["customer"]["orders"]["edges"]]

    # then no staff e-mail address appears anywhere; only the buyer's own
    assert {a for o in seen.values() for a in _addresses(o)} == {"buyer@acme.example"}
    assert sorted(listed, key=lambda o: o["id"]) == sorted(seen.values(), key=lambda o: o["id"])
    assert mine == listed
    # and staff appear as the role they acted in; the approval comment is hidden, reasons are shown
    a, r, c = seen[approved], seen[rejected], seen[cancelled]
    assert a["approval"]["steps"] == [
        {"role": "SALES_MANAGER", "status": "APPROVED", "decidedBy": "Sales manager", "comment": None}
    ]
    assert a["timeline"][1] == {"kind": "APPROVED", "message": "Approved by Sales manager"}
    assert r["approval"]["steps"] == [
        {
            "role": "SALES_MANAGER",
            "status": "REJECTED",
            "decidedBy": "Sales manager",
            "comment": "Discontinued model",
        }
    ]
    assert r["timeline"][1] == {
        "kind": "REJECTED",
        "message": "Rejected by Sales manager: Discontinued model; 2 unit(s) released",
    }
    assert c["approval"]["steps"][0]["decidedBy"] == "Administrator"
    assert [e["message"] for e in c["timeline"]] == [
        "Order placed by Sales representative with 1 line(s); stock reserved",
        "Cancelled by Administrator: Duplicate of SO-7; 2 unit(s) released",
    ]


async def test_staff_see_e_mail_addresses_and_every_comment(hub: Hub) -> None:
    # given an order approved with a comment and one cancelled by staff
    acme = await _seed(hub)
    approved = await _place(hub)
    await _change(hub, APPROVE, approved, "manager", comment="Credit checked with finance")
    cancelled = await _place(hub, as_="sales", customer=acme)
    # when staff cancel one and read the other
    c = await _change(hub, CANCEL, cancelled, "admin", reason="Duplicate")
    a = (await hub.data(ONE, {"id": approved}, as_="sales"))["order"]
    # then they see who did what by e-mail, and the comment
    assert a["approval"]["steps"][0]["decidedBy"] == "manager@supplier.example"
    assert a["approval"]["steps"][0]["comment"] == "Credit checked with finance"
    assert a["timeline"][1]["message"] == "Approved by manager@supplier.example: Credit checked with finance"
    assert c["approval"]["steps"][0]["decidedBy"] == "admin@supplier.example"
    assert _addresses(c) == {"sales@supplier.example", "admin@supplier.example"}


async def test_a_customer_sees_its_own_colleagues_by_e_mail(hub: Hub) -> None:
    # given an order placed by the buyer and cancelled by a colleague at the same customer
    await _seed(hub)
    order = await _place(hub)
    cancelled = await _change(hub, CANCEL, order, "colleague", reason="Ordered twice")
    # when the buyer reads it
    seen = (await hub.data(ONE, {"id": order}, as_="buyer"))["order"]
    # then both are shown by e-mail: they are the customer's own people
    assert seen == cancelled
    assert seen["approval"]["steps"][0]["decidedBy"] == "colleague@acme.example"
    assert [e["message"] for e in seen["timeline"]] == [
        "Order placed by buyer@acme.example with 1 line(s); stock reserved",
        "Cancelled by colleague@acme.example: Ordered twice; 2 unit(s) released",
    ]
